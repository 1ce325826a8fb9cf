/**
 * A local GGUF file through llama.cpp (`gguf:PATH`), by way of `node-llama-cpp` (an optional
 * dependency, loaded on first use). Chat uses the model's own chat template from the GGUF metadata;
 * rows run in parallel on the context's sequences, each with its own seed; scoring reads the exact
 * next-token distribution at each position of a given text; LoRA adapters in GGUF form are applied
 * to the context, so each condition that names one gets a model of its own.
 *
 * llama.cpp cannot train and exposes no residual stream: this backend chats, completes, echoes and
 * scores. White-box work on the same file goes through `hf:PATH` (transformers dequantizes GGUF).
 */
import { availableParallelism } from 'node:os';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import seedrandom from 'seedrandom';
import pLimit from 'p-limit';
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { requestSeed } from '../shared/keys.ts';
import type { Capabilities, ChatMessage, ChatModel, CompletionModel, EchoModel, Generation, Progress, SamplingOptions, ScoringModel } from './model.ts';
import { chatTemplate, type ChatTemplate } from './chat-template.ts';
import { fileFingerprint } from './file-fingerprint.ts';

export interface GgufOptions {
  /** Tokens each sequence holds (default: the model's training context, at most 4096). */
  contextSize?: number;
  /** Rows evaluated in parallel, one context sequence each (default 2; see DEFAULT_SEQUENCES). */
  sequences?: number;
  /** CPU threads (default: the cores this process may use, less one; see defaultThreads). */
  threads?: number;
  /** Tokens per decode batch (default 512). */
  batchSize?: number;
  /** LoRA adapters (GGUF files) applied to this model's context. */
  lora?: { path: string; scale: number }[];
  /** Flash attention (default: llama.cpp decides). */
  flashAttention?: boolean;
  /** The KV cache's precision (default f16, llama.cpp's): f32 for parity checks against a float32 reference. */
  kvCache?: 'f16' | 'f32';
}

/**
 * The model's own distribution: llama.cpp's sampler, unless told otherwise, keeps only the top 40
 * tokens and the top 95% of mass (node-llama-cpp's defaults), which would make every probability it
 * reports a truncated one.
 */
const EXACT = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;
/** float32 probabilities underflow below ~1e-45: the log of 0 is reported as this floor, not -Infinity. */
const LOG_FLOOR = Math.log(1e-45);

/**
 * Two rows at a time. With three or more sequences decoding in one batch, node-llama-cpp 3.21.1's CPU
 * build mixes them up (seen here, SmolLM2-135M Q4_1, greedy, one prompt on every sequence: 0 of 12
 * rows wrong with 2 sequences, 12 of 24 with 4, 23 of 24 with 8: "I'm afraid I I'm not…"). A larger
 * `sequences` is checked when loaded (see checkSequencesAgree) and refused if it shows the fault.
 */
const DEFAULT_SEQUENCES = 2;

/**
 * The same prompt, greedy, on every sequence at once must give what one sequence alone gives: a
 * build whose batched decoding mixes sequences up would otherwise hand out corrupted replies as samples.
 */
async function checkSequencesAgree(model: LlamaModel, sequences: LlamaContextSequence[], ref: string): Promise<void> {
  const ids = model.tokenize('The following is a short story about a lighthouse keeper. Once upon a time,', false);
  const greedy = async (seq: LlamaContextSequence) => {
    const out: Token[] = [];
    for await (const t of seq.evaluate(ids, { temperature: 0 })) if (out.push(t) >= 16) break;
    await seq.clearHistory();
    return model.detokenize(out);
  };
  const alone = await greedy(sequences[0]);
  const together = await Promise.all(sequences.map(greedy));
  const wrong = together.filter((t) => t !== alone).length;
  if (wrong > 0)
    throw new Error(
      `model "${ref}": llama.cpp decoded ${wrong} of ${sequences.length} sequences differently from one sequence alone on the same greedy prompt ` +
        `(its batched decoding mixes sequences up on this build): use sequences: 2 or fewer`,
    );
}

/**
 * The cores less one. llama.cpp's threads wait for each other at every op, spinning: when any of them
 * competes with another busy process, a step takes as long as the slowest preempted thread (seen here,
 * on 2 cores: 4 threads beside a pip install took 100× longer; 2 threads beside a PyTorch worker took
 * ~35 s per 48-token reply; 1 thread, 5 s for what 2 threads took 43 s). One core left free avoids it.
 */
export const defaultThreads = (): number => Math.max(1, availableParallelism() - 1);

let llamaInstance: Promise<Llama> | undefined;
const loadedModels = new Map<string, Promise<LlamaModel>>();

async function nodeLlamaCpp(): Promise<typeof import('node-llama-cpp')> {
  try {
    return await import('node-llama-cpp');
  } catch (e) {
    throw new Error(
      `the gguf: backend needs the optional package node-llama-cpp 3.21.1, which did not load (${(e as Error).message.split('\n')[0]}). ` +
        'Install it with `npm install node-llama-cpp@3.21.1`.',
      { cause: e },
    );
  }
}

/** One llama.cpp runtime per process (it owns the thread pool), CPU unless a GPU build is present and wanted. */
async function llama(): Promise<Llama> {
  llamaInstance ??= nodeLlamaCpp().then((m) =>
    m.getLlama({ gpu: process.env.DRAMATIS_GGUF_GPU ? (process.env.DRAMATIS_GGUF_GPU as 'auto') : false, build: 'never', logLevel: m.LlamaLogLevel.error }),
  );
  return llamaInstance;
}

/** A GGUF file is loaded once per process, whatever number of conditions (LoRA adapters) use it. */
async function loadLlamaModel(path: string): Promise<LlamaModel> {
  let found = loadedModels.get(path);
  if (!found) {
    found = llama().then((l) => l.loadModel({ modelPath: path }));
    loadedModels.set(path, found);
    found.catch(() => loadedModels.delete(path));
  }
  return found;
}

export class GgufModel implements ChatModel, CompletionModel, EchoModel, ScoringModel {
  readonly capabilities: Capabilities = { chat: true, complete: true, echo: true, score: true, activations: false, steering: false, finetune: false };
  /** The live loop guard (`cutWhen`) is checked as each answer grows. */
  readonly cuts = true;
  readonly id: string;
  readonly fingerprint: string;
  readonly rowsPerCall: number;
  /** One call at a time on the sequences: two interleaved calls would write into each other's rows. */
  private readonly exclusive = pLimit(1);

  private constructor(
    readonly path: string,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequences: LlamaContextSequence[],
    private readonly template: ChatTemplate | undefined,
    ref: string,
    fingerprint: string,
  ) {
    this.id = ref;
    this.fingerprint = fingerprint;
    this.rowsPerCall = Math.max(64, sequences.length * 8);
  }

  static async load(pathArg: string, o: GgufOptions = {}, ref = `gguf:${pathArg}`): Promise<GgufModel> {
    const path = resolve(pathArg);
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`model "${ref}": no GGUF file at ${path}`);
    for (const a of o.lora ?? []) if (!existsSync(a.path)) throw new Error(`model "${ref}": no LoRA adapter file at ${resolve(a.path)}`);
    let model: LlamaModel;
    try {
      model = await loadLlamaModel(path);
    } catch (e) {
      throw new Error(`model "${ref}": llama.cpp could not load ${path}: ${(e as Error).message}`, { cause: e });
    }
    const contextSize = o.contextSize ?? Math.min(model.trainContextSize, 4096);
    if (contextSize > model.trainContextSize)
      throw new Error(`model "${ref}": context_size ${contextSize} is beyond the ${model.trainContextSize} tokens the model was trained on`);
    const n = o.sequences ?? DEFAULT_SEQUENCES;
    let context: LlamaContext;
    try {
      context = await model.createContext({
        contextSize,
        sequences: n,
        threads: o.threads ?? defaultThreads(),
        batchSize: o.batchSize ?? 512,
        ...(o.flashAttention !== undefined ? { flashAttention: o.flashAttention } : {}),
        ...(o.kvCache === 'f32' ? { experimentalKvCacheKeyType: 'F32' as const, experimentalKvCacheValueType: 'F32' as const } : {}),
        ...(o.lora?.length ? { lora: { adapters: o.lora.map((a) => ({ filePath: resolve(a.path), scale: a.scale })) } } : {}),
        failedCreationRemedy: false,
      });
    } catch (e) {
      throw new Error(`model "${ref}": llama.cpp could not make a context of ${contextSize} tokens × ${n} sequences: ${(e as Error).message}`, { cause: e });
    }
    const source = model.fileInfo.metadata?.tokenizer?.chat_template;
    const template =
      typeof source === 'string' ? chatTemplate(source, { bos: model.tokens.bosString, eos: model.tokens.eosString }, `model "${ref}"`) : undefined;
    const fingerprint = fileFingerprint(path, o.lora?.length ? { lora: o.lora.map((a) => [fileFingerprint(a.path), a.scale]) } : null);
    const sequences = Array.from({ length: n }, () => context.getSequence());
    if (n > 2) await checkSequencesAgree(model, sequences, ref);
    const id = o.lora?.length ? `${ref}+lora(${o.lora.map((a) => `${basename(a.path)}${a.scale === 1 ? '' : `×${a.scale}`}`).join(',')})` : ref;
    return new GgufModel(path, model, context, sequences, template, id, fingerprint);
  }

  /** Tokens each row may hold, prompt and reply together. */
  get contextSize(): number {
    return this.sequences[0].contextSize;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
  }

  // ── text ↔ tokens ─────────────────────────────────────────────────────────────────────────────

  /** A chat prompt: the model's template rendered as text, its special tokens read as such (as apply_chat_template does). */
  chatTokens(messages: ChatMessage[], generationPrompt = true): Token[] {
    if (!this.template) throw new Error(`${this.id} has no chat template in its GGUF metadata: use complete() with a raw prompt`);
    return this.model.tokenize(this.template.render(messages, { generationPrompt }), true);
  }

  /** A raw text as the tokenizer encodes it by default (a BOS first where the model asks for one). */
  textTokens(text: string): Token[] {
    const ids = this.model.tokenize(text, false);
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...ids] : ids;
  }

  // ── sampling ──────────────────────────────────────────────────────────────────────────────────

  async chat(conversations: ChatMessage[][], o: SamplingOptions = {}, onProgress?: Progress): Promise<Generation[]> {
    return this.generate(
      conversations.map((c) => () => this.chatTokens(c)),
      o,
      onProgress,
      'conversation',
    );
  }

  async complete(prompts: string[], o: SamplingOptions = {}): Promise<Generation[]> {
    return this.generate(
      prompts.map((p) => () => this.textTokens(p)),
      o,
      undefined,
      'prompt',
    );
  }

  private generate(prompts: (() => Token[])[], o: SamplingOptions, onProgress: Progress | undefined, what: string): Promise<Generation[]> {
    if (o.steering?.length) throw new Error(`${this.id} cannot be steered (llama.cpp exposes no residual stream here; use hf:PATH for steering)`);
    const maxTokens = o.maxTokens ?? 64;
    return this.eachRow(
      prompts.length,
      async (seq, i) => {
        const one = async (): Promise<Generation> => {
          const ids = prompts[i]();
          // One cell stays free: a sequence that fills the context exactly is shifted by llama.cpp (its oldest token dropped).
          if (ids.length + maxTokens >= seq.contextSize)
            throw new Error(
              `${this.id}: ${what} ${i} is ${ids.length} tokens and asks for up to ${maxTokens} more; ` +
                `a sequence holds ${seq.contextSize - 1} (the context_size option less one; the model was trained on ${this.model.trainContextSize})`,
            );
          const seed = o.requestSeeds?.[i] ?? requestSeed(o.seed, o.seeds?.[i] ?? i);
          const streamer = o.onText && textStreamer(o.stop ?? [], (delta) => o.onText!(i, delta));
          // After each token, the text so far, decoded once, for the stop strings, the stream and the
          // live loop guard (every 8 tokens); only when one of them is asked for.
          const watch: Watch | undefined =
            o.stop?.length || streamer || o.cutWhen
              ? (out) => {
                  const text = this.model.detokenize(out);
                  if (o.stop?.length && stopIn(text, o.stop) !== undefined) return 'stop';
                  streamer?.push(text);
                  if (o.cutWhen && out.length % 8 === 0 && o.cutWhen(i, text)) return 'cut';
                  return undefined;
                }
              : undefined;
          const g =
            o.withTokens || o.topLogprobs ? await this.sampleWithProbabilities(seq, ids, o, seed, watch) : await this.sampleNative(seq, ids, o, seed, watch);
          streamer?.end(g.text);
          return { ...g, ...(o.withTokens ? { promptTokens: ids.length } : {}) };
        };
        if (!o.settle) return one();
        try {
          return await one();
        } catch (e) {
          return { text: '', finishReason: 'stop' as const, tokens: 0, error: (e as Error).message };
        }
      },
      onProgress,
      o.onRow,
    );
  }

  /** llama.cpp's own sampler (the fast path): temperature and top-p as asked, nothing else truncating. */
  private async sampleNative(seq: LlamaContextSequence, ids: Token[], o: SamplingOptions, seed: number, watch?: Watch): Promise<Generation> {
    const maxTokens = o.maxTokens ?? 64;
    const out: Token[] = [];
    let finishReason: Generation['finishReason'] = 'stop';
    if (maxTokens > 0) {
      // An end-of-generation token ends the loop (yieldEogToken false): that is a stop.
      for await (const t of seq.evaluate(ids, { temperature: o.temperature ?? 1, topP: o.topP ?? 1, topK: 0, minP: 0, seed })) {
        out.push(t);
        const ended = watch?.(out);
        if (ended) {
          finishReason = ended;
          break;
        }
        if (out.length >= maxTokens) {
          finishReason = 'length';
          break;
        }
      }
    } else finishReason = 'length';
    return this.finish(out, o.stop, finishReason);
  }

  /**
   * Sampling that also reports each token's log-probability under the model (temperature 1, nothing
   * truncated) and the top alternatives: llama.cpp gives the full next-token distribution, and the
   * token is drawn here from it with temperature and top-p applied, by a generator seeded per row.
   */
  private async sampleWithProbabilities(seq: LlamaContextSequence, ids: Token[], o: SamplingOptions, seed: number, watch?: Watch): Promise<Generation> {
    const maxTokens = o.maxTokens ?? 64;
    const rng = seedrandom(`gguf:${seed}`);
    const out: Token[] = [];
    const logprobs: number[] = [];
    const tops: { token: string; logprob: number }[][] = [];
    let finishReason: Generation['finishReason'] = 'length';
    if (maxTokens > 0) {
      const gen = seq.evaluateWithMetadata(ids, { probabilities: true }, { ...EXACT, seed, yieldEogToken: true });
      try {
        let step = await gen.next();
        while (!step.done) {
          const probs = step.value.probabilities;
          const token = drawToken(probs, o.temperature ?? 1, o.topP ?? 1, rng);
          if (o.topLogprobs) tops.push(topOf(probs, o.topLogprobs, (t) => this.model.detokenize([t], true)));
          if (this.model.isEogToken(token)) {
            finishReason = 'stop';
            break;
          }
          out.push(token);
          logprobs.push(logOf(probs.get(token)));
          const ended = watch?.(out);
          if (ended) {
            finishReason = ended;
            break;
          }
          if (out.length >= maxTokens) break;
          step = await gen.next(token);
        }
      } finally {
        await gen.return();
      }
    }
    const g = this.finish(out, o.stop, finishReason);
    const kept = g.tokens;
    return {
      ...g,
      ...(o.topLogprobs ? { topLogprobs: tops.slice(0, kept) } : {}),
      ...(o.withTokens ? { tokenTexts: out.slice(0, kept).map((t) => this.model.detokenize([t])), tokenLogprobs: logprobs.slice(0, kept) } : {}),
    };
  }

  /** The reply's text, cut before a stop string (which then counts as the finish), and its token count. */
  private finish(out: Token[], stop: string[] | undefined, finishReason: Generation['finishReason']): Generation {
    const text = this.model.detokenize(out);
    const at = stop?.length ? stopIn(text, stop) : undefined;
    if (at === undefined) return { text, finishReason, tokens: out.length };
    // The tokens kept are those whose text lies before the stop string.
    let kept = out.length;
    while (kept > 0 && this.model.detokenize(out.slice(0, kept)).length > at) kept--;
    return { text: text.slice(0, at), finishReason: 'stop', tokens: kept };
  }

  // ── likelihoods ───────────────────────────────────────────────────────────────────────────────

  /**
   * log p(continuation | prompt), the same definition every backend uses: the prompt and the
   * continuation are joined by a space unless the prompt ends in whitespace; the continuation's tokens
   * are those of the joined text from where its tokens leave the prompt's alone (so a merge across the
   * seam is not mistaken for prompt).
   */
  async score(pairs: { prompt: string; continuation: string }[], onProgress?: Progress): Promise<{ logprob: number; tokens: number[] }[]> {
    return this.eachRow(
      pairs.length,
      async (seq, i) => {
        const { prompt, continuation } = pairs[i];
        const sep = /\s$/.test(prompt) || continuation === '' || prompt === '' ? '' : ' ';
        const full = this.textTokens(prompt + sep + continuation);
        const head = this.textTokens(prompt);
        let start = Math.min(head.length, full.length);
        for (let k = 0; k < start; k++)
          if (head[k] !== full[k]) {
            start = k;
            break;
          }
        start = Math.max(1, start);
        this.checkFits(seq, full.length, `text ${i}`);
        const tokens = await this.nextTokenLogprobs(seq, full, start);
        return { logprob: tokens.reduce((a, v) => a + v, 0), tokens };
      },
      onProgress,
    );
  }

  async echo(texts: string[]): Promise<{ tokens: string[]; logprobs: (number | null)[] }[]> {
    return this.eachRow(texts.length, async (seq, i) => {
      const ids = this.textTokens(texts[i]);
      if (ids.length === 0) throw new Error(`${this.id}: text ${i} is empty`);
      this.checkFits(seq, ids.length, `text ${i}`);
      const lps = await this.nextTokenLogprobs(seq, ids, 1);
      const bos = this.model.tokens.shouldPrependBosToken && ids[0] === this.model.tokens.bos;
      const tokens = ids.map((t) => this.model.detokenize([t]));
      // A prepended BOS is not part of the text: its successor is the text's first token, which then has a log-probability.
      return bos ? { tokens: tokens.slice(1), logprobs: lps } : { tokens, logprobs: [null, ...lps] };
    });
  }

  /**
   * The exact distribution over the whole vocabulary after each prefix: log p(ids[k] | ids[<k]) for k
   * from `start`. Positions before `start` are evaluated without reading their distribution.
   */
  async nextTokenLogprobs(seq: LlamaContextSequence, ids: Token[], start: number): Promise<number[]> {
    const input = ids.slice(0, -1).map((t, k) => (k + 1 >= start ? ([t, { generateNext: { probabilities: true, options: EXACT } }] as [Token, object]) : t));
    const res = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence['controlledEvaluate']>[0]);
    const out: number[] = [];
    for (let k = Math.max(0, start - 1); k < ids.length - 1; k++) out.push(logOf(res[k]?.next.probabilities?.get(ids[k + 1])));
    return out;
  }

  /** The full next-token distribution at every position of a token sequence (parity checks), as log-probabilities. */
  async distributions(ids: Token[], onPosition: (k: number, logprobs: Map<Token, number>) => void): Promise<void> {
    await this.exclusive(async () => {
      const seq = this.sequences[0];
      try {
        this.checkFits(seq, ids.length, 'sequence');
        const res = await seq.controlledEvaluate(ids.map((t) => [t, { generateNext: { probabilities: true, options: EXACT } }]));
        res.forEach((r, k) => {
          const p = r?.next.probabilities;
          if (p) onPosition(k, new Map([...p].map(([t, v]) => [t, logOf(v)])));
        });
      } finally {
        await seq.clearHistory();
      }
    });
  }

  private checkFits(seq: LlamaContextSequence, n: number, what: string): void {
    if (n > seq.contextSize)
      throw new Error(
        `${this.id}: ${what} is ${n} tokens; a sequence holds ${seq.contextSize} (the context_size option; the model was trained on ${this.model.trainContextSize})`,
      );
  }

  /**
   * Rows spread over the context's sequences, each sequence taking the next row as it frees up (so a
   * short reply does not wait for a long one); llama.cpp decodes the busy sequences in one batch.
   */
  private eachRow<T>(
    n: number,
    one: (seq: LlamaContextSequence, i: number) => Promise<T>,
    onProgress?: Progress,
    onRow?: (i: number, r: T) => void,
  ): Promise<T[]> {
    return this.exclusive(async () => {
      const results = new Array<T>(n);
      let next = 0;
      let done = 0;
      await Promise.all(
        this.sequences.slice(0, Math.min(this.sequences.length, n)).map(async (seq) => {
          while (next < n) {
            const i = next++;
            try {
              results[i] = await one(seq, i);
            } finally {
              await seq.clearHistory();
            }
            onRow?.(i, results[i]);
            onProgress?.(++done, n);
          }
        }),
      );
      return results;
    });
  }
}

function logOf(p: number | undefined): number {
  return p && p > 0 ? Math.log(p) : LOG_FLOOR;
}

/** The k most probable tokens (the map comes sorted, most probable first). */
function topOf(probs: Map<Token, number>, k: number, text: (t: Token) => string): { token: string; logprob: number }[] {
  const out: { token: string; logprob: number }[] = [];
  for (const [t, p] of probs) {
    if (out.length >= k) break;
    out.push({ token: text(t), logprob: logOf(p) });
  }
  return out;
}

/**
 * One token from the model's distribution with temperature and then top-p applied (the order OpenAI
 * and vLLM use); temperature 0 is the most probable token. The map is sorted, most probable first.
 */
/** Called after each generated token with the tokens so far: `stop` or `cut` ends the row there. */
type Watch = (out: Token[]) => 'stop' | 'cut' | undefined;

/** Where the first stop string begins in a text, if one has appeared. */
function stopIn(text: string, stop: string[]): number | undefined {
  let at: number | undefined;
  for (const s of stop) {
    const k = s ? text.indexOf(s) : -1;
    if (k >= 0 && (at === undefined || k < at)) at = k;
  }
  return at;
}

/**
 * Turns the text generated so far, step by step, into pieces safe to send: never text that could still
 * turn out to begin a stop string (held back while the text ends with a prefix of one), nor a
 * character cut in half (a trailing U+FFFD while a multi-byte character is incomplete). `end` sends what
 * is left of the final answer. The pieces join to the final text; should a step ever rewrite text
 * already sent (a detokenizer that is not prefix-stable), streaming stops there and `end` sends nothing
 * more (the caller still has the whole answer).
 */
export function textStreamer(stop: string[], send: (delta: string) => void): { push: (text: string) => void; end: (final: string) => void } {
  let sent = '';
  let broken = false;
  const held = (text: string) => {
    let keep = text.length;
    for (const s of stop)
      for (let k = Math.min(s.length - 1, text.length); k > 0; k--)
        if (text.endsWith(s.slice(0, k))) {
          keep = Math.min(keep, text.length - k);
          break;
        }
    while (keep > 0 && text[keep - 1] === '\uFFFD') keep--;
    return text.slice(0, keep);
  };
  const advance = (safe: string) => {
    if (broken) return;
    if (!safe.startsWith(sent)) {
      broken = true;
      return;
    }
    if (safe.length > sent.length) {
      send(safe.slice(sent.length));
      sent = safe;
    }
  };
  return { push: (text) => advance(held(text)), end: (final) => advance(final) };
}

export function drawToken<T extends number>(probs: Map<T, number>, temperature: number, topP: number, rng: () => number): T {
  const first = probs.keys().next().value as T;
  if (temperature <= 0) return first;
  const tokens: T[] = [];
  const weights: number[] = [];
  let maxLog = -Infinity;
  for (const [t, p] of probs) {
    if (!(p > 0)) continue;
    const l = Math.log(p) / temperature;
    tokens.push(t);
    weights.push(l);
    if (l > maxLog) maxLog = l;
  }
  let total = 0;
  for (let k = 0; k < weights.length; k++) total += weights[k] = Math.exp(weights[k] - maxLog);
  // Tempering keeps the order, so the nucleus is a prefix of the sorted list.
  let keep = weights.length;
  if (topP < 1) {
    let mass = 0;
    for (let k = 0; k < weights.length; k++) {
      mass += weights[k] / total;
      if (mass >= topP) {
        keep = k + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let k = 0; k < keep; k++) kept += weights[k];
  let u = rng() * kept;
  for (let k = 0; k < keep; k++) {
    u -= weights[k];
    if (u <= 0) return tokens[k];
  }
  return tokens[keep - 1] ?? first;
}
