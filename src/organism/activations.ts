/**
 * Residual-stream statistics for persona vectors: for each sequence, at every layer, the mean of the
 * residual over a span of positions (the reply, as the persona-vectors recipe averages over response
 * tokens) and the residual at one position (the last prompt token, where the reply is decided).
 * Batched like scoring; only the per-sequence summaries leave the graph.
 */
import { tf } from './backend.ts';
import { forward, type Steering } from './model.ts';
import type { ModelRef } from './inference.ts';

export interface ActivationRequest {
  ids: number[];
  /** Positions [start, end) whose residuals are averaged. */
  span: [number, number];
  /** The position read on its own (e.g. the last prompt token). */
  at: number;
}

export interface ActivationSummary {
  /** Per layer (0 = embeddings … nLayer), the mean residual over the span. */
  mean: Float32Array[];
  /** Per layer, the residual at `at`. */
  at: Float32Array[];
}

export async function activationSummaries(
  m: ModelRef,
  reqs: ActivationRequest[],
  o: { batchSize?: number; steering?: Steering[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<ActivationSummary[]> {
  const bs = o.batchSize ?? 32,
    d = m.config.nEmbd,
    L = m.config.nLayer;
  const out: ActivationSummary[] = [];
  for (const [i, r] of reqs.entries()) {
    if (r.ids.length > m.config.nCtx) throw new Error(`sequence ${i} has ${r.ids.length} tokens, more than the context of ${m.config.nCtx}`);
    if (!(r.span[0] >= 0 && r.span[1] > r.span[0] && r.span[1] <= r.ids.length))
      throw new Error(`sequence ${i}: span [${r.span}] is empty or outside its ${r.ids.length} tokens`);
    if (r.at < 0 || r.at >= r.ids.length) throw new Error(`sequence ${i}: position ${r.at} is outside its ${r.ids.length} tokens`);
  }
  for (let start = 0; start < reqs.length; start += bs) {
    const group = reqs.slice(start, start + bs);
    const T = Math.max(...group.map((r) => r.ids.length));
    const flat = new Int32Array(group.length * T).fill(m.padId);
    group.forEach((r, b) => flat.set(r.ids, b * T));
    // Averaging matrix A [B, B*T] (row b holds 1/len over its span) and a pick matrix P [B, B*T]:
    // A·X and P·X are two 2-D matMuls per layer, the fast shape on wasm.
    const avg = new Float32Array(group.length * group.length * T);
    const pick = new Float32Array(group.length * group.length * T);
    group.forEach((r, b) => {
      const w = 1 / (r.span[1] - r.span[0]);
      for (let t = r.span[0]; t < r.span[1]; t++) avg[b * group.length * T + b * T + t] = w;
      pick[b * group.length * T + b * T + r.at] = 1;
    });
    const stats = tf.tidy(() => {
      const { residuals } = forward(m.config, m.params, tf.tensor2d(flat, [group.length, T], 'int32'), {
        collectResiduals: true,
        steering: o.steering,
        logitRows: tf.tensor1d([0], 'int32'),
      });
      const A = tf.tensor2d(avg, [group.length, group.length * T]);
      const P = tf.tensor2d(pick, [group.length, group.length * T]);
      return residuals!.flatMap((x) => [tf.matMul(A, x), tf.matMul(P, x)]);
    });
    const data = await Promise.all(stats.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(stats);
    group.forEach((_, b) => {
      const mean: Float32Array[] = [],
        at: Float32Array[] = [];
      for (let l = 0; l <= L; l++) {
        mean.push(data[2 * l].slice(b * d, (b + 1) * d));
        at.push(data[2 * l + 1].slice(b * d, (b + 1) * d));
      }
      out.push({ mean, at });
    });
    o.onProgress?.(Math.min(reqs.length, start + bs), reqs.length);
  }
  return out;
}
