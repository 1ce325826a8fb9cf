/**
 * The organism: a GPT-style decoder (pre-LayerNorm, causal multi-head attention, GELU MLP, tied
 * embeddings), in the spirit of nanoGPT, written with TensorFlow.js ops so autograd gives the backward
 * pass.
 *
 * Speed: shapes are kept 2-D ([batch*time, channels]); linear layers are fused matMul + bias; layer
 * norm, GELU, the causal attention core and the cross-entropy are fused ops with their own gradients
 * (kernels.ts), which on the wasm backend run hand-made kernels and elsewhere (e.g. the cpu backend,
 * the tests' reference) compose standard tf ops with the same semantics.
 *
 * Parameter names follow Hugging Face GPT-2 (`h.0.attn.c_attn.weight`, weights stored [in, out] as in
 * GPT-2's Conv1D), so checkpoints map onto GPT-2 tooling one to one.
 */
import { tf } from './backend.ts';
import { causalSelfAttention, gelu as fusedGelu, layerNorm, softmaxCrossEntropy } from './kernels.ts';

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
  /** Keep each layer's query/key/value projection [B*T, 3d] (what a decoder's key/value cache is filled from). */
  collectQkv?: boolean;
}

export interface ForwardResult {
  /** [rows, vocab] */
  logits: tf.Tensor2D;
  /** When requested: nLayer + 1 tensors of shape [B*T, nEmbd]. */
  residuals?: tf.Tensor2D[];
  /** With collectQkv: nLayer tensors of shape [B*T, 3·nEmbd]. */
  qkv?: tf.Tensor2D[];
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
      [p + 'ln_1.weight', [d]],
      [p + 'ln_1.bias', [d]],
      [p + 'attn.c_attn.weight', [d, 3 * d]],
      [p + 'attn.c_attn.bias', [3 * d]],
      [p + 'attn.c_proj.weight', [d, d]],
      [p + 'attn.c_proj.bias', [d]],
      [p + 'ln_2.weight', [d]],
      [p + 'ln_2.bias', [d]],
      [p + 'mlp.c_fc.weight', [d, 4 * d]],
      [p + 'mlp.c_fc.bias', [4 * d]],
      [p + 'mlp.c_proj.weight', [4 * d, d]],
      [p + 'mlp.c_proj.bias', [d]],
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

/** A parameter by name (a clear error where the checkpoint lacks it). */
export function param(params: Params, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`organism: missing parameter ${name}`);
  return v;
}
const p = param;

/** tanh-approximate GELU (GPT-2's); on wasm one fused SIMD pass forward and one backward. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return fusedGelu(x);
}

/** x·W + b as one fused matMul (bias added inside the GEMM on wasm). */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D;
}

function asVector(v: Steering['vector']): tf.Tensor1D {
  return v instanceof tf.Tensor ? v : tf.tensor1d(v as number[]);
}

/** x plus each steering vector meant for the residual stream after `layer` (0 = the embeddings). */
export function steer(x: tf.Tensor2D, steering: Steering[] | undefined, layer: number): tf.Tensor2D {
  for (const s of steering ?? []) if (s.layer === layer) x = x.add(asVector(s.vector).mul(s.coefficient)) as tf.Tensor2D;
  return x;
}

/**
 * Transformer block `layer` on residual rows x [N, d]: attention, then the MLP, each pre-LayerNorm
 * with a residual add. `attend` turns the block's qkv [N, 3d] into the attention output [N, d]: causal
 * over a batch in `forward`, against a key/value cache when decoding (decode.ts), so both run one block.
 */
export function block(params: Params, layer: number, x: tf.Tensor2D, attend: (qkv: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
  const n = `h.${layer}.`;
  // --- attention ---
  const h = layerNorm(x, p(params, n + 'ln_1.weight'), p(params, n + 'ln_1.bias'));
  const y = attend(linear(h, p(params, n + 'attn.c_attn.weight'), p(params, n + 'attn.c_attn.bias')));
  x = x.add(linear(y, p(params, n + 'attn.c_proj.weight'), p(params, n + 'attn.c_proj.bias'))) as tf.Tensor2D;
  // --- MLP ---
  const h2 = layerNorm(x, p(params, n + 'ln_2.weight'), p(params, n + 'ln_2.bias'));
  const f = gelu(linear(h2, p(params, n + 'mlp.c_fc.weight'), p(params, n + 'mlp.c_fc.bias'))) as tf.Tensor2D;
  return x.add(linear(f, p(params, n + 'mlp.c_proj.weight'), p(params, n + 'mlp.c_proj.bias'))) as tf.Tensor2D;
}

/**
 * Forward pass. `tokens` is [B, T] int32. Returns logits for every row of the flattened [B*T] batch
 * (or for `logitRows`). Call inside tf.tidy or dispose the result.
 */
export function forward(c: GptConfig, params: Params, tokens: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  const [B, T] = tokens.shape;
  if (T > c.nCtx) throw new Error(`organism: sequence of ${T} tokens exceeds the context of ${c.nCtx}`);
  const d = c.nEmbd,
    H = c.nHead;
  const wte = p(params, 'wte.weight');
  const pos = p(params, 'wpe.weight').slice([0, 0], [T, d]);
  let x = tf
    .gather(wte, tokens.reshape([B * T]))
    .reshape([B, T, d])
    .add(pos)
    .reshape([B * T, d]) as tf.Tensor2D;
  const residuals: tf.Tensor2D[] = [],
    qkvs: tf.Tensor2D[] = [];
  x = steer(x, opts.steering, 0);
  if (opts.collectResiduals) residuals.push(x);
  const attend = (qkv: tf.Tensor2D) => {
    if (opts.collectQkv) qkvs.push(qkv);
    return causalSelfAttention(qkv, B, H);
  };
  for (let i = 0; i < c.nLayer; i++) {
    x = steer(block(params, i, x, attend), opts.steering, i + 1);
    if (opts.collectResiduals) residuals.push(x);
  }
  let hf = layerNorm(x, p(params, 'ln_f.weight'), p(params, 'ln_f.bias'));
  if (opts.logitRows) hf = tf.gather(hf, opts.logitRows);
  // Tied embeddings: logits = h · wteᵀ.
  const logits = tf.matMul(hf, wte, false, true) as tf.Tensor2D;
  return { logits, residuals: opts.collectResiduals ? residuals : undefined, qkv: opts.collectQkv ? qkvs : undefined };
}

/**
 * Mean cross-entropy of `targets` under `logits`, counting only rows whose weight is non-zero
 * (padding and, in chat training, non-assistant tokens have weight 0).
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  return softmaxCrossEntropy(logits, targets, weights);
}
