/**
 * Inference on the organism: batched sampling, exact log-probabilities of a continuation, and residual
 * activations. Rows are right-padded so absolute positions stay true (left padding would shift them);
 * causal attention keeps the padding invisible to the positions that matter.
 */
import seedrandom from 'seedrandom';
import { tf } from './backend.ts';
import { forward, type GptConfig, type Params, type Steering } from './model.ts';
import { prefill, decodeStep } from './decode.ts';

export interface SampleOptions {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** Generation of a row stops after any of these token ids (the stop token is kept in `ids`). */
  stopIds?: number[];
  /**
   * Generation of a row also stops once this says so of its generated ids (checked after each token;
   * the organism's stop strings longer than one token, matched on the decoded text).
   */
  stopWhen?: (generated: readonly number[]) => boolean;
  /**
   * A row is cut short once this says so of its generated ids (the live loop guard: checked after each
   * token); its finish reason is then `cut`, never passed off as a normal stop. `row` is the prompt's index.
   */
  cutWhen?: (row: number, generated: readonly number[]) => boolean;
  /**
   * Tokens never drawn (the organism's special tokens that must not appear inside an answer). A draw
   * that lands on one is redrawn from the same distribution with these removed and the rest
   * renormalized (exactly the masked distribution, and every draw that never touched them is unchanged,
   * so answers that never hit them stay the same sample for sample). Greedy decoding takes the most
   * probable token that is allowed. The log-probabilities reported stay the model's own.
   */
  forbidIds?: number[];
  seed?: number;
  /**
   * Per-prompt seeds: row i draws from its own stream seeded by (seed, seeds[i] ?? i), so a sample
   * depends only on its prompt and seed, never on which other prompts share its batch. This is what
   * lets an interrupted run resume and still produce exactly the samples an uninterrupted run would.
   */
  seeds?: (number | string)[];
  steering?: Steering[];
  /** Also keep the k most probable tokens (with log-probabilities) at every generated position. */
  topLogprobs?: number;
  /** Rows per forward pass. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Sample {
  /** Generated token ids (without the prompt), including the stop token if one was hit. */
  ids: number[];
  /** Log-probability (under the sampling distribution before temperature) of each generated token. */
  logprobs: number[];
  /** `cut`: stopped early by `cutWhen` (a loop, say), not a finish of its own. */
  finishReason: 'stop' | 'length' | 'cut';
  /** With `topLogprobs`: the k most probable tokens at each generated position, most probable first. */
  top?: { id: number; logprob: number }[][];
}

export interface ModelRef {
  config: GptConfig;
  params: Params;
  padId: number;
}

/** The most probable token that is not forbidden. */
function argmaxAllowed(logits: Float32Array, forbid?: ReadonlySet<number>): number {
  let best = -1;
  for (let i = 0; i < logits.length; i++) if (!forbid?.has(i) && (best < 0 || logits[i] > logits[best])) best = i;
  return best < 0 ? 0 : best;
}

/**
 * Draw from softmax(logits / temperature) restricted to the top-p nucleus, never a forbidden token: a
 * draw that lands on one is redrawn from the nucleus without them (see SampleOptions.forbidIds).
 */
function drawToken(logits: Float32Array, temperature: number, topP: number, rng: () => number, forbid?: ReadonlySet<number>, stats?: ExpStats): number {
  if (temperature <= 0) return argmaxAllowed(logits, forbid);
  const { probs, z } = stats ?? expStats(logits, temperature);
  let order: number[] | undefined;
  let total = z;
  if (topP < 1) {
    order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
    let acc = 0,
      cut = order.length;
    for (let k = 0; k < order.length; k++) {
      acc += probs[order[k]];
      if (acc >= topP * z) {
        cut = k + 1;
        break;
      }
    }
    order = order.slice(0, cut);
    total = acc;
  }
  const pick = (candidates: Iterable<number>, mass: number, last: number) => {
    let r = rng() * mass;
    for (const i of candidates) {
      r -= probs[i];
      if (r <= 0) return i;
    }
    return last;
  };
  const first = pick(order ?? probs.keys(), total, order ? order[order.length - 1] : logits.length - 1);
  if (!forbid?.has(first)) return first;
  const allowed = (order ?? Array.from(probs.keys())).filter((i) => !forbid.has(i));
  const mass = allowed.reduce((a, i) => a + probs[i], 0);
  // A nucleus of forbidden tokens only: the most probable allowed token.
  if (allowed.length === 0 || !(mass > 0)) return argmaxAllowed(logits, forbid);
  return pick(allowed, mass, allowed[allowed.length - 1]);
}

/** The k most probable tokens of a logit row, with their log-probabilities (before temperature). */
function topK(logits: Float32Array, k: number): { id: number; logprob: number }[] {
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  let z = 0;
  for (const l of logits) z += Math.exp(l - max);
  const lz = Math.log(z) + max;
  const ids = Array.from(logits.keys())
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, k);
  return ids.map((id) => ({ id, logprob: logits[id] - lz }));
}

function logSoftmaxAt(logits: Float32Array, token: number): number {
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  let z = 0;
  for (const l of logits) z += Math.exp(l - max);
  return logits[token] - max - Math.log(z);
}

/** exp((logit − max) / temperature) of every token (in double) and their sum. */
interface ExpStats {
  max: number;
  probs: Float64Array;
  z: number;
}

function expStats(logits: Float32Array, temperature: number): ExpStats {
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  const probs = new Float64Array(logits.length);
  let z = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp((logits[i] - max) / temperature);
    z += probs[i];
  }
  return { max, probs, z };
}

/**
 * Sample one continuation for each prompt, decoding incrementally with a key/value cache (decode.ts).
 * Deterministic for a given seed and prompt order.
 */
export async function generate(m: ModelRef, prompts: number[][], o: SampleOptions = {}): Promise<Sample[]> {
  const temperature = o.temperature ?? 1,
    topP = o.topP ?? 1,
    maxTokens = o.maxTokens ?? 32;
  const stop = new Set(o.stopIds ?? []);
  const forbid = o.forbidIds?.length ? new Set(o.forbidIds) : undefined;
  const bs = o.batchSize ?? 64;
  const out: Sample[] = [];
  for (let start = 0; start < prompts.length; start += bs) {
    const group = prompts.slice(start, start + bs).map((p, k) => ({
      ids: [...p],
      gen: [] as number[],
      lps: [] as number[],
      top: [] as { id: number; logprob: number }[][],
      done: false,
      row: start + k,
      reason: 'length' as 'stop' | 'length' | 'cut',
      rng: seedrandom(`${o.seed ?? 0}:${o.seeds?.[start + k] ?? start + k}`),
    }));
    for (const g of group)
      if (g.ids.length >= m.config.nCtx) throw new Error(`prompt of ${g.ids.length} tokens leaves no room in the context of ${m.config.nCtx}`);
    // The prompts once through the model (filling the key/value cache), then one row per sequence per token.
    const { cache, logits: first } = await prefill(
      m.config,
      m.params,
      m.padId,
      group.map((g) => g.ids),
      o.steering,
    );
    const V = m.config.vocabSize;
    for (let step = 0; step < maxTokens; step++) {
      const live = group.flatMap((g, b) => (!g.done && g.ids.length < m.config.nCtx ? [b] : []));
      if (live.length === 0) break;
      // Step 0 reads the prefill's logits (row b of the group); later steps feed each row its last token.
      const data =
        step === 0
          ? first
          : decodeStep(
              m.config,
              m.params,
              cache,
              live,
              live.map((b) => group[b].ids[group[b].ids.length - 1]),
              o.steering,
            );
      live.forEach((b, i) => {
        const g = group[b];
        const at = step === 0 ? b : i;
        const row = data.subarray(at * V, (at + 1) * V);
        // At temperature 1 the draw's exponentials are the log-softmax's too (the same doubles summed
        // in the same order, so the same bits): computed once, they were a tenth of a sampling step.
        const stats = temperature === 1 ? expStats(row, 1) : undefined;
        const tok = drawToken(row, temperature, topP, g.rng, forbid, stats);
        g.ids.push(tok);
        g.gen.push(tok);
        g.lps.push(stats ? row[tok] - stats.max - Math.log(stats.z) : logSoftmaxAt(row, tok));
        if (o.topLogprobs) g.top.push(topK(row, o.topLogprobs));
        if (stop.has(tok) || o.stopWhen?.(g.gen)) {
          g.done = true;
          g.reason = 'stop';
        } else if (o.cutWhen?.(g.row, g.gen)) {
          g.done = true;
          g.reason = 'cut';
        }
      });
    }
    for (const g of group) out.push({ ids: g.gen, logprobs: g.lps, finishReason: g.reason, ...(o.topLogprobs ? { top: g.top } : {}) });
    o.onProgress?.(Math.min(prompts.length, start + bs), prompts.length);
  }
  return out;
}

/**
 * Exact log-probability of each continuation given its prompt: sum over the continuation's tokens of
 * log p(token | everything before). Returns per-token log-probabilities too.
 */
export async function scoreContinuations(
  m: ModelRef,
  pairs: { prompt: number[]; continuation: number[] }[],
  o: { batchSize?: number; steering?: Steering[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ total: number; tokens: number[] }[]> {
  const bs = o.batchSize ?? 64;
  const out: { total: number; tokens: number[] }[] = [];
  for (let start = 0; start < pairs.length; start += bs) {
    const group = pairs.slice(start, start + bs);
    const seqs = group.map((p) => [...p.prompt, ...p.continuation]);
    for (const [i, s] of seqs.entries()) {
      if (s.length > m.config.nCtx) throw new Error(`text ${start + i} has ${s.length} tokens, more than the context of ${m.config.nCtx}`);
      if (group[i].prompt.length === 0) throw new Error(`text ${start + i}: the prompt must hold at least one token (e.g. <doc>)`);
    }
    const T = Math.max(...seqs.map((s) => s.length));
    const flat = new Int32Array(group.length * T).fill(m.padId);
    seqs.forEach((s, b) => flat.set(s, b * T));
    // Gather the log-probability of each actual next token inside the graph: only B·T floats come back.
    const targetIdx: number[] = [];
    const rowsIdx: number[] = [];
    group.forEach((p, b) => {
      for (let j = 0; j < p.continuation.length; j++) {
        const pos = p.prompt.length - 1 + j;
        rowsIdx.push(b * T + pos);
        targetIdx.push(p.continuation[j]);
      }
    });
    const lp = tf.tidy(() => {
      const tokens = tf.tensor2d(flat, [group.length, T], 'int32');
      const rows = tf.tensor1d(rowsIdx, 'int32');
      const { logits } = forward(m.config, m.params, tokens, { logitRows: rows, steering: o.steering });
      const logp = tf.logSoftmax(logits);
      return tf.sum(logp.mul(tf.oneHot(tf.tensor1d(targetIdx, 'int32'), m.config.vocabSize)), 1);
    });
    const values = (await lp.data()) as Float32Array;
    lp.dispose();
    let k = 0;
    for (const p of group) {
      const tokens = Array.from(values.subarray(k, k + p.continuation.length));
      k += p.continuation.length;
      out.push({ total: tokens.reduce((a, b) => a + b, 0), tokens });
    }
    o.onProgress?.(Math.min(pairs.length, start + bs), pairs.length);
  }
  return out;
}

/** Residual-stream activations [nLayer + 1][tokens][nEmbd] of one sequence (index 0 = embeddings). */
export async function residuals(m: ModelRef, ids: number[], steering?: Steering[]): Promise<Float32Array[][]> {
  const res = tf.tidy(() => forward(m.config, m.params, tf.tensor2d(ids, [1, ids.length], 'int32'), { collectResiduals: true, steering }).residuals!);
  const out: Float32Array[][] = [];
  for (const r of res) {
    const data = (await r.data()) as Float32Array;
    const d = m.config.nEmbd;
    out.push(Array.from({ length: ids.length }, (_, t) => data.slice(t * d, (t + 1) * d)));
  }
  tf.dispose(res);
  return out;
}
