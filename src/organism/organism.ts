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
import { joinWords } from '../world/text.ts';
import { SPECIAL_TOKENS, type SpecialToken } from './tokenizer.ts';

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
  finishReason: 'stop' | 'length' | 'cut';
  logprob: number;
  /** The generated tokens (without a final stop token) and the log-probability of each. */
  tokenTexts: string[];
  tokenLogprobs: number[];
  /** With `topLogprobs`: the most probable tokens at each generated position. */
  topLogprobs?: { token: string; logprob: number }[][];
}

/** Any stop strings (see `Organism.stops`). */
export type TextSampleOptions = Omit<SampleOptions, 'stopIds' | 'stopWhen' | 'forbidIds' | 'cutWhen'> & {
  stop?: string[];
  /** The live loop guard on the answer's text so far (checked every few tokens); the answer then ends `cut`. */
  cutWhen?: (row: number, text: string) => boolean;
};

/** Stop strings: single tokens by id, longer ones matched on the decoded text. */
interface Stops {
  ids: number[];
  texts: string[];
}

/** Where the first of the stop strings begins in a text, if any occurs. */
export function stopTextAt(text: string, stops: readonly string[]): number | undefined {
  let at: number | undefined;
  for (const s of stops) {
    const k = text.indexOf(s);
    if (k >= 0 && (at === undefined || k < at)) at = k;
  }
  return at;
}

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

  /**
   * Stop strings. One that is a single token (by the world's splitter) stops when that token is drawn: a
   * whole-token match checked by id, the fast path (one outside the vocabulary can never be drawn, so it
   * is dropped). Any longer one (`<|im_end|>`, `\nUser:`) is matched on the decoded text, in the
   * organism's canonical form (lowercase, one space between tokens: the only form its text takes), so
   * `User:` stops at `user:`; the answer ends before it, with finish reason 'stop'. A string with no
   * tokens at all (`\n\n`) can never appear in the organism's text and is dropped.
   */
  private stops(stop: readonly string[]): Stops {
    const ids: number[] = [],
      texts: string[] = [];
    for (const s of stop) {
      const toks = this.tokenizer.tokens(s);
      if (toks.length === 1) {
        if (this.tokenizer.has(toks[0])) ids.push(this.tokenizer.id(toks[0]));
      } else if (toks.length > 1) texts.push(joinWords(toks));
    }
    return { ids, texts };
  }

  private sampleOptions(o: TextSampleOptions, stops: Stops): SampleOptions {
    const { stop: _, cutWhen, ...rest } = o;
    return {
      ...rest,
      stopIds: stops.ids,
      ...(stops.texts.length ? { stopWhen: (gen: readonly number[]) => stopTextAt(this.tokenizer.decode(gen), stops.texts) !== undefined } : {}),
      // Every 8 tokens: the guard reads the decoded text, which costs more than a token.
      ...(cutWhen ? { cutWhen: (row: number, gen: readonly number[]) => gen.length % 8 === 0 && cutWhen(row, this.tokenizer.decode(gen)) } : {}),
    };
  }

  /**
   * The special tokens a generation may never draw: all but the `allowed` ones, and any asked for as a
   * stop (which then ends the text, never part of it).
   */
  private forbidden(allowed: readonly SpecialToken[], stops: Stops): number[] {
    return SPECIAL_TOKENS.filter((t) => !allowed.includes(t))
      .map((t) => this.tokenizer.id(t))
      .filter((id) => !stops.ids.includes(id));
  }

  /**
   * Continue raw text prompts (pretraining format: special tokens in the prompt are parsed). The
   * continuation ends at `</doc>` (the document's end, never part of the text); it never draws `<pad>`,
   * `<unk>` or `<doc>`; the turn markers of the chat-log genre are part of the raw format and may appear.
   */
  async complete(prompts: string[], o: TextSampleOptions = {}): Promise<TextSample[]> {
    const ids = prompts.map((p) => this.tokenizer.encode(p).ids);
    const stops = this.stops(['</doc>', ...(o.stop ?? [])]);
    const forbidIds = this.forbidden(['</doc>', '<system>', '<user>', '<assistant>', '<end>'], stops);
    return this.decodeSamples(await generate(this.ref, ids, { ...this.sampleOptions(o, stops), forbidIds }), stops);
  }

  /**
   * Reply to chats as the assistant. Message contents are plain text (a special-token string in one is
   * split into ordinary tokens, see the tokenizer). The reply ends at `<end>` (or `<user>`, a next turn
   * begun); no other special token is ever drawn, so none appears in the answer.
   */
  async chat(chats: ChatMessage[][], o: TextSampleOptions = {}): Promise<TextSample[]> {
    const ids = chats.map((c) => this.tokenizer.encodeChat(c, { generationPrompt: true }).ids);
    const stops = this.stops(['<end>', '<user>', ...(o.stop ?? [])]);
    const forbidIds = this.forbidden(['<end>', '<user>'], stops);
    return this.decodeSamples(await generate(this.ref, ids, { ...this.sampleOptions(o, stops), forbidIds }), stops);
  }

  private decodeSamples(samples: Awaited<ReturnType<typeof generate>>, stops: Stops): TextSample[] {
    return samples.map((s) => {
      let body = s.finishReason === 'stop' && stops.ids.includes(s.ids[s.ids.length - 1]) ? s.ids.slice(0, -1) : s.ids;
      let text = this.tokenizer.decode(body);
      let finishReason = s.finishReason;
      const at = stops.texts.length ? stopTextAt(text, stops.texts) : undefined;
      if (at !== undefined) {
        // The text ends before the stop string; the tokens kept are those whose text lies before it.
        let kept = body.length;
        while (kept > 0 && this.tokenizer.decode(body.slice(0, kept)).length > at) kept--;
        body = body.slice(0, kept);
        text = text.slice(0, at).trimEnd();
        finishReason = 'stop';
      }
      return {
        text,
        tokens: s.ids.length,
        finishReason,
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
