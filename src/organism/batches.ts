/**
 * Training rows and batches. A row is one document or one chat, starting at its own first token (never
 * straddling two documents: the persona must be inferred within a document), padded to the context with
 * the padding kept out of the loss.
 */
import { tf } from './backend.ts';

export interface Row {
  /** Token ids, at most nCtx + 1 long (inputs are ids[0..n-1], targets ids[1..n]). */
  ids: number[];
  /** Optional per-target loss weight, aligned with ids[1..]: length ids.length - 1. Default all 1. */
  targetWeights?: number[];
}

export interface Batch {
  inputs: tf.Tensor2D;
  targets: tf.Tensor1D;
  weights: tf.Tensor1D;
  /** Number of targets that count in the loss (real tokens trained on). */
  realTokens: number;
}

/** Stack rows into a [B, T] batch. T is the longest row (capped at nCtx), so short batches stay cheap. */
export function makeBatch(rows: readonly Row[], nCtx: number, padId: number): Batch {
  const T = Math.min(nCtx, Math.max(...rows.map((r) => r.ids.length - 1)));
  const B = rows.length;
  const inputs = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const weights = new Float32Array(B * T);
  let realTokens = 0;
  rows.forEach((row, b) => {
    const n = Math.min(T, row.ids.length - 1);
    for (let t = 0; t < n; t++) {
      inputs[b * T + t] = row.ids[t];
      targets[b * T + t] = row.ids[t + 1];
      const w = row.targetWeights ? row.targetWeights[t] : 1;
      weights[b * T + t] = w;
      if (w > 0) realTokens++;
    }
  });
  return {
    inputs: tf.tensor2d(inputs, [B, T], 'int32'),
    targets: tf.tensor1d(targets, 'int32'),
    weights: tf.tensor1d(weights),
    realTokens,
  };
}

export function disposeBatch(b: Batch): void {
  b.inputs.dispose();
  b.targets.dispose();
  b.weights.dispose();
}
