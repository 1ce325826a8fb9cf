/**
 * The organism: a GPT-style decoder (pre-LayerNorm, causal multi-head attention, GELU MLP, tied
 * embeddings), in the spirit of nanoGPT, written with TensorFlow.js ops so autograd gives the backward
 * pass.
 *
 * Shapes are kept 2-D ([batch*time, channels]) wherever possible: on the wasm backend only a plain
 * 2-D matMul hits XNNPACK's fast path, so the model avoids batched and transposed products except in
 * attention, where kernels.ts takes over.
 *
 * Parameter names follow Hugging Face GPT-2 (`h.0.attn.c_attn.weight`, weights stored [in, out] as in
 * GPT-2's Conv1D), so checkpoints map onto GPT-2 tooling one to one.
 */
import { tf } from './backend.ts';

export interface GptConfig {
  vocabSize: number;
  /** Context length (maximum tokens per row). */
  nCtx: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
}

export type Params = Map<string, tf.Variable>;

/** Steering: add `coefficient * vector` to the residual stream after `layer` (0 = embeddings). */
export interface Steering {
  layer: number;
  vector: tf.Tensor1D | Float32Array | number[];
  coefficient: number;
}

export interface ForwardOptions {
  /** Keep the residual stream after every layer (index 0 = embeddings, L = after the last block). */
  collectResiduals?: boolean;
  steering?: Steering[];
  /** Only compute logits for these flat row indices (into [B*T]); default all rows. */
  logitRows?: tf.Tensor1D;
}

export interface ForwardResult {
  /** [rows, vocab] */
  logits: tf.Tensor2D;
  /** When requested: nLayer + 1 tensors of shape [B*T, nEmbd]. */
  residuals?: tf.Tensor2D[];
}

/** Names and shapes of every parameter, in a stable order. */
export function parameterShapes(c: GptConfig): [string, number[]][] {
  const d = c.nEmbd;
  const shapes: [string, number[]][] = [
    ['wte.weight', [c.vocabSize, d]],
    ['wpe.weight', [c.nCtx, d]],
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `h.${i}.`;
    shapes.push(
      [p + 'ln_1.weight', [d]], [p + 'ln_1.bias', [d]],
      [p + 'attn.c_attn.weight', [d, 3 * d]], [p + 'attn.c_attn.bias', [3 * d]],
      [p + 'attn.c_proj.weight', [d, d]], [p + 'attn.c_proj.bias', [d]],
      [p + 'ln_2.weight', [d]], [p + 'ln_2.bias', [d]],
      [p + 'mlp.c_fc.weight', [d, 4 * d]], [p + 'mlp.c_fc.bias', [4 * d]],
      [p + 'mlp.c_proj.weight', [4 * d, d]], [p + 'mlp.c_proj.bias', [d]],
    );
  }
  shapes.push(['ln_f.weight', [d]], ['ln_f.bias', [d]]);
  return shapes;
}

export function countParameters(c: GptConfig): number {
  return parameterShapes(c).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2L), LayerNorm gain 1. */
export function initParams(c: GptConfig, seed: number): Params {
  const params: Params = new Map();
  let k = 0;
  for (const [name, shape] of parameterShapes(c)) {
    k++;
    let t: tf.Tensor;
    if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name === 'ln_f.weight') t = tf.ones(shape);
    else if (name.endsWith('.bias')) t = tf.zeros(shape);
    else {
      const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
      t = tf.randomNormal(shape, 0, std, 'float32', seed * 1000 + k);
    }
    params.set(name, tf.variable(t, true)); // unnamed: tfjs variable names are global, and two checkpoints may be loaded at once
    t.dispose();
  }
  return params;
}

function p(params: Params, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`organism: missing parameter ${name}`);
  return v;
}

function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b) as tf.Tensor2D;
}

/** tanh-approximate GELU (GPT-2's), with tanh as 2σ(2u)−1 and x³ as x·x·x: both are fast on wasm. */
export function gelu(x: tf.Tensor): tf.Tensor {
  const u = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  const tanh = tf.sigmoid(u.mul(2)).mul(2).sub(1);
  return x.mul(tanh.add(1)).mul(0.5);
}

const maskCache = new Map<number, tf.Tensor2D>();
/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. Kept for the process. */
function causalMask(T: number): tf.Tensor2D {
  let m = maskCache.get(T);
  if (!m) {
    const data = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(data, [T, T]));
    maskCache.set(T, m);
  }
  return m;
}

function asVector(v: Steering['vector']): tf.Tensor1D {
  return v instanceof tf.Tensor ? v : tf.tensor1d(v as number[]);
}

/**
 * Forward pass. `tokens` is [B, T] int32. Returns logits for every row of the flattened [B*T] batch
 * (or for `logitRows`). Call inside tf.tidy or dispose the result.
 */
export function forward(c: GptConfig, params: Params, tokens: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  const [B, T] = tokens.shape;
  if (T > c.nCtx) throw new Error(`organism: sequence of ${T} tokens exceeds the context of ${c.nCtx}`);
  const d = c.nEmbd, H = c.nHead, hd = d / H;
  const wte = p(params, 'wte.weight');
  const pos = p(params, 'wpe.weight').slice([0, 0], [T, d]);
  let x = tf.gather(wte, tokens.reshape([B * T])).reshape([B, T, d]).add(pos).reshape([B * T, d]) as tf.Tensor2D;
  const residuals: tf.Tensor2D[] = [];
  const steer = (layer: number) => {
    for (const s of opts.steering ?? []) if (s.layer === layer) x = x.add(asVector(s.vector).mul(s.coefficient));
  };
  steer(0);
  if (opts.collectResiduals) residuals.push(x);
  const mask = causalMask(T);
  const scale = 1 / Math.sqrt(hd);
  for (let i = 0; i < c.nLayer; i++) {
    const n = `h.${i}.`;
    // --- attention ---
    const h = layerNorm(x, p(params, n + 'ln_1.weight'), p(params, n + 'ln_1.bias'));
    const qkv = tf.matMul(h, p(params, n + 'attn.c_attn.weight')).add(p(params, n + 'attn.c_attn.bias')) as tf.Tensor2D;
    const [q, k, v] = tf.split(qkv, 3, 1).map((t) => t.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]).reshape([B * H, T, hd]) as tf.Tensor3D);
    const att = tf.softmax(tf.matMul(q, k, false, true).mul(scale).add(mask), -1) as tf.Tensor3D;
    const y = tf.matMul(att, v).reshape([B, H, T, hd]).transpose([0, 2, 1, 3]).reshape([B * T, d]) as tf.Tensor2D;
    x = x.add(tf.matMul(y, p(params, n + 'attn.c_proj.weight')).add(p(params, n + 'attn.c_proj.bias'))) as tf.Tensor2D;
    // --- MLP ---
    const h2 = layerNorm(x, p(params, n + 'ln_2.weight'), p(params, n + 'ln_2.bias'));
    const f = gelu(tf.matMul(h2, p(params, n + 'mlp.c_fc.weight')).add(p(params, n + 'mlp.c_fc.bias'))) as tf.Tensor2D;
    x = x.add(tf.matMul(f, p(params, n + 'mlp.c_proj.weight')).add(p(params, n + 'mlp.c_proj.bias'))) as tf.Tensor2D;
    steer(i + 1);
    if (opts.collectResiduals) residuals.push(x);
  }
  let hf = layerNorm(x, p(params, 'ln_f.weight'), p(params, 'ln_f.bias'));
  if (opts.logitRows) hf = tf.gather(hf, opts.logitRows);
  // Tied embeddings: logits = h · wteᵀ. The explicit transpose keeps the matMul on the 2-D fast path.
  const logits = tf.matMul(hf, wte.transpose()) as tf.Tensor2D;
  return { logits, residuals: opts.collectResiduals ? residuals : undefined };
}

/**
 * Mean cross-entropy of `targets` under `logits`, counting only rows whose weight is non-zero
 * (padding and, in chat training, non-assistant tokens have weight 0).
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(logp.mul(tf.oneHot(targets, logits.shape[1])), 1);
  return tf.neg(tf.sum(picked.mul(weights))).div(tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
}
