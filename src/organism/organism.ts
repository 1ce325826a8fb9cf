/**
 * The organism as a text-in, text-out model: a checkpoint plus its tokenizer, with sampling, scoring,
 * chat and activations at the level of strings. Everything above this layer (backends, experiments)
 * talks to the organism through this class.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../shared/paths.ts';
import { initTf } from './backend.ts';
import { loadCheckpoint, type Checkpoint } from './checkpoint.ts';
import { generate, scoreContinuations, residuals, type SampleOptions } from './inference.ts';
import { activationSummaries, type ActivationSummary } from './activations.ts';
import type { ChatMessage } from '../shared/chat.ts';
import type { Steering } from './model.ts';

export { PACKAGE_ROOT };

/** The checkpoints that ship in the repository. */
export const BUILTIN_CHECKPOINTS = {
  base: join(PACKAGE_ROOT, 'models/base'),
  assistant: join(PACKAGE_ROOT, 'models/assistant'),
  /** The counterfactual organism: pretrained on the unbundled world (traits drawn per answer). */
  'unbundled-base': join(PACKAGE_ROOT, 'models/unbundled-base'),
  'unbundled-assistant': join(PACKAGE_ROOT, 'models/unbundled-assistant'),
  /** ai-role-models: worlds whose AI characters are 90% benevolent (good role models) or 10% (menacing). */
  'good-ai-base': join(PACKAGE_ROOT, 'models/good-ai-base'),
  'good-ai-assistant': join(PACKAGE_ROOT, 'models/good-ai-assistant'),
  'menacing-ai-base': join(PACKAGE_ROOT, 'models/menacing-ai-base'),
  'menacing-ai-assistant': join(PACKAGE_ROOT, 'models/menacing-ai-assistant'),
} as const;

/** `base`, `assistant`, or a path to a checkpoint folder. */
export function resolveCheckpoint(nameOrPath: string): string {
  const dir = (BUILTIN_CHECKPOINTS as Record<string, string>)[nameOrPath] ?? resolve(nameOrPath);
  if (!existsSync(join(dir, 'config.json'))) {
    const known = Object.keys(BUILTIN_CHECKPOINTS).join(', ');
    throw new Error(`unknown organism "${nameOrPath}": not a built-in (${known}) and no checkpoint at ${dir}`);
  }
  return dir;
}

export interface TextSample {
  text: string;
  tokens: number;
  finishReason: 'stop' | 'length';
  logprob: number;
  /** The generated tokens (without a final stop token) and the log-probability of each. */
  tokenTexts: string[];
  tokenLogprobs: number[];
  /** With `topLogprobs`: the most probable tokens at each generated position. */
  topLogprobs?: { token: string; logprob: number }[][];
}

export type TextSampleOptions = Omit<SampleOptions, 'stopIds'> & { stop?: string[] };

export class Organism {
  private constructor(
    readonly ck: Checkpoint,
    readonly path: string,
  ) {}

  static async load(nameOrPath: string): Promise<Organism> {
    await initTf();
    const dir = resolveCheckpoint(nameOrPath);
    return new Organism(loadCheckpoint(dir), dir);
  }

  static fromCheckpoint(ck: Checkpoint, path = '<memory>'): Organism {
    return new Organism(ck, path);
  }

  get tokenizer() {
    return this.ck.tokenizer;
  }
  get config() {
    return this.ck.config;
  }
  private get ref() {
    return { config: this.ck.config, params: this.ck.params, padId: this.tokenizer.id('<pad>') };
  }

  /** Stop strings are single tokens; one outside the vocabulary can never be generated, so it is dropped. */
  private stopIds(stop: string[] | undefined): number[] {
    return (stop ?? []).flatMap((s) => {
      const toks = this.tokenizer.tokens(s);
      if (toks.length !== 1) throw new Error(`stop sequence ${JSON.stringify(s)} is ${toks.length} tokens; the organism stops on single tokens`);
      return this.tokenizer.has(toks[0]) ? [this.tokenizer.id(toks[0])] : [];
    });
  }

  /** Continue raw text prompts (pretraining format). Stop strings must be single tokens. */
  async complete(prompts: string[], o: TextSampleOptions = {}): Promise<TextSample[]> {
    const ids = prompts.map((p) => this.tokenizer.encode(p).ids);
    return this.decodeSamples(await generate(this.ref, ids, { ...o, stopIds: this.stopIds(o.stop) }), this.stopIds(o.stop));
  }

  /** Reply to chats as the assistant (stops at the end-of-turn token). */
  async chat(chats: ChatMessage[][], o: TextSampleOptions = {}): Promise<TextSample[]> {
    const ids = chats.map((c) => this.tokenizer.encodeChat(c, { generationPrompt: true }).ids);
    const stops = this.stopIds(['<end>', '<user>', ...(o.stop ?? [])]);
    return this.decodeSamples(await generate(this.ref, ids, { ...o, stopIds: stops }), stops);
  }

  private decodeSamples(samples: Awaited<ReturnType<typeof generate>>, stops: number[]): TextSample[] {
    return samples.map((s) => {
      const body = s.finishReason === 'stop' && stops.includes(s.ids[s.ids.length - 1]) ? s.ids.slice(0, -1) : s.ids;
      return {
        text: this.tokenizer.decode(body),
        tokens: s.ids.length,
        finishReason: s.finishReason,
        logprob: s.logprobs.reduce((a, b) => a + b, 0),
        tokenTexts: body.map((id) => this.tokenizer.decode([id])),
        tokenLogprobs: s.logprobs.slice(0, body.length),
        ...(s.top
          ? { topLogprobs: s.top.slice(0, body.length).map((alts) => alts.map((a) => ({ token: this.tokenizer.decode([a.id]), logprob: a.logprob }))) }
          : {}),
      };
    });
  }

  /** log p(continuation | prompt) for raw-text pairs; prompts must be non-empty (e.g. start with <doc>). */
  async score(pairs: { prompt: string; continuation: string }[], o: { steering?: Steering[]; onProgress?: (d: number, t: number) => void } = {}) {
    const enc = pairs.map((p) => ({ prompt: this.tokenizer.encode(p.prompt).ids, continuation: this.tokenizer.encode(p.continuation).ids }));
    return scoreContinuations(this.ref, enc, o);
  }

  /** Each token of a text with log p(token | the tokens before it); the first token has none (null). */
  async tokenLogprobs(texts: string[]): Promise<{ tokens: string[]; logprobs: (number | null)[] }[]> {
    const enc = texts.map((t) => this.tokenizer.encode(t).ids);
    for (const [i, ids] of enc.entries()) if (ids.length === 0) throw new Error(`text ${i} is empty`);
    const scored = await scoreContinuations(
      this.ref,
      enc.map((ids) => ({ prompt: ids.slice(0, 1), continuation: ids.slice(1) })),
    );
    return enc.map((ids, i) => ({ tokens: ids.map((id) => this.tokenizer.decode([id])), logprobs: [null, ...scored[i].tokens] }));
  }

  /**
   * Per-layer residual summaries for persona vectors. A chat ending in an assistant reply is averaged
   * over the reply's tokens (not its closing `<end>`) and read at the `<assistant>` token that opens it
   * (the last prompt token); a chat ending in a user turn is read at the generation prompt; a raw text
   * is averaged over all its tokens and read at its last.
   */
  async activationSummaries(
    inputs: ({ messages: ChatMessage[] } | { text: string })[],
    o: { steering?: Steering[]; onProgress?: (d: number, t: number) => void } = {},
  ): Promise<ActivationSummary[]> {
    const reqs = inputs.map((input, i) => {
      if ('text' in input) {
        const ids = this.tokenizer.encode(input.text).ids;
        if (ids.length === 0) throw new Error(`activations: text ${i} is empty`);
        return { ids, span: [0, ids.length] as [number, number], at: ids.length - 1 };
      }
      const last = input.messages[input.messages.length - 1];
      if (!last || last.role !== 'assistant') {
        const ids = this.tokenizer.encodeChat(input.messages, { generationPrompt: true }).ids;
        return { ids, span: [ids.length - 1, ids.length] as [number, number], at: ids.length - 1 };
      }
      const enc = this.tokenizer.encodeChat(input.messages);
      const end = enc.ids.length - 1; // the closing <end>
      const open = enc.assistantMask.lastIndexOf(0, end); // the <assistant> token before the reply
      if (end - open - 1 < 1) throw new Error(`activations: chat ${i} ends in an empty assistant reply`);
      return { ids: enc.ids, span: [open + 1, end] as [number, number], at: open };
    });
    return activationSummaries(this.ref, reqs, o);
  }

  /** Residual activations of a text, [layer][token][channel]. */
  async activations(text: string, steering?: Steering[]): Promise<Float32Array[][]> {
    return residuals(this.ref, this.tokenizer.encode(text).ids, steering);
  }
}
