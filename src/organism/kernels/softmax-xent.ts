/**
 * Weighted softmax cross-entropy, fused: the forward (XNNPACK's softmax, then the picked
 * log-probabilities in JS, exact even when a probability underflows) keeps the probabilities, and the
 * backward is one SIMD pass over them, as the DramatisSoftmaxXent(Grad) kernels; and the public op
 * `softmaxCrossEntropy` with its composite reference `softmaxCrossEntropyRef`.
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, f32, i32, view, type KArgs, type TI } from './state.ts';
import { el, forLoop, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';
import { customOp, fast, run } from './custom-op.ts';

// out[i, :] = probs[i, :] · c_i with c_i = w_i·k, then out[i, t_i] −= c_i.
export const xentGradWat: WasmFn = {
  name: 'xent_grad',
  params: 'p:i32 t:i32 w:i32 out:i32 N:i32 V:i32 k:f32',
  locals: 'i:i32 j:i32 V4:i32 c:f32 vc:v128',
  body: `
      local.get V i32.const -4 i32.and local.set V4
      ${forLoop(
        'i',
        'i32.const 0',
        'local.get N',
        1,
        `
        ${el('w', 'i')} f32.load local.get k f32.mul local.tee c f32x4.splat local.set vc
        ${forLoop('j', 'i32.const 0', 'local.get V4', 4, `${el('out', 'j')} ${el('p', 'j')} v128.load local.get vc f32x4.mul v128.store`)}
        ${forLoop('j', 'local.get V4', 'local.get V', 1, `${el('out', 'j')} ${el('p', 'j')} f32.load local.get c f32.mul f32.store`)}
        ${el('t', 'i')} i32.load local.set j
        ${el('out', 'j')} ${el('out', 'j')} f32.load local.get c f32.sub f32.store
        local.get p local.get V i32.const 2 i32.shl i32.add local.set p
        local.get out local.get V i32.const 2 i32.shl i32.add local.set out`,
      )}`,
};

/**
 * Softmax cross-entropy: loss = −Σ w_i log softmax(logits_i)[t_i] / max(Σ w, 1). Outputs [loss, probs].
 * Softmax runs through XNNPACK's kernel; the picked log-probabilities are exact even if a
 * probability underflows (that row is redone in float64).
 */
export function xentKernel({ inputs: { logits, targets, weights }, backend }: KArgs<{ logits: TI; targets: TI; weights: TI }>): TI[] {
  const be = backendOf(backend);
  const [N, V] = logits.shape;
  const probs = be.makeOutput([N, V], 'float32'),
    loss = be.makeOutput([], 'float32');
  if (N > 0) {
    const ip = view(at(probs), N * V),
      il = view(at(logits), N * V);
    be.wasm._Softmax(il, ip, V, N);
    be.wasm.tfjs.disposeData(ip);
    be.wasm.tfjs.disposeData(il);
  }
  const h = f32(),
    hi = i32();
  const po = at(probs),
    lo = at(logits),
    to = at(targets),
    wo = at(weights);
  let total = 0,
    wsum = 0;
  for (let i = 0; i < N; i++) {
    const w = h[wo + i];
    wsum += w;
    const t = hi[to + i];
    if (!(t >= 0 && t < V)) throw new Error(`softmaxCrossEntropy: target ${t} out of range [0, ${V})`);
    if (w === 0) continue;
    const p = h[po + i * V + t];
    let lp: number;
    if (p > 1e-30) lp = Math.log(p);
    else {
      let m = -Infinity;
      for (let j = 0; j < V; j++) m = Math.max(m, h[lo + i * V + j]);
      let z = 0;
      for (let j = 0; j < V; j++) z += Math.exp(h[lo + i * V + j] - m);
      lp = h[lo + i * V + t] - m - Math.log(z);
    }
    total -= w * lp;
  }
  h[at(loss)] = total / Math.max(wsum, 1);
  return [loss, probs];
}

/** d logits = (probs − onehot(t)) · w_i · dloss / max(Σ w, 1). */
export function xentGradKernel({ inputs: { dy, probs, targets, weights }, backend }: KArgs<{ dy: TI; probs: TI; targets: TI; weights: TI }>): TI {
  const be = backendOf(backend);
  const [N, V] = probs.shape;
  const out = be.makeOutput([N, V], 'float32');
  const h = f32();
  const wo = at(weights);
  let wsum = 0;
  for (let i = 0; i < N; i++) wsum += h[wo + i];
  const k = h[at(dy)] / Math.max(wsum, 1);
  simd().xent_grad(at(probs) << 2, at(targets) << 2, wo << 2, at(out) << 2, N, V, k);
  return out;
}

/** Reference weighted mean cross-entropy from standard ops. */
export function softmaxCrossEntropyRef(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(logp.mul(tf.oneHot(targets, logits.shape[1])), 1);
  return tf.neg(tf.sum(picked.mul(weights))).div(tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
}
/** −Σ w_i log softmax(logits_i)[t_i] / max(Σw, 1), with its own gradient (no gradient for targets/weights). */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  if (!fast()) return softmaxCrossEntropyRef(logits, targets, weights);
  const t = targets.dtype === 'int32' ? targets : targets.toInt();
  const w = weights.dtype === 'float32' ? weights : weights.toFloat();
  const f = customOp(([lg, tt, ww], save) => {
    const [loss, probs] = run('DramatisSoftmaxXent', { logits: lg, targets: tt, weights: ww });
    save([probs, tt, ww]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sp, st, sw] = saved;
        return [run('DramatisSoftmaxXentGrad', { dy, probs: sp, targets: st, weights: sw })[0], tf.zeros(st.shape), tf.zerosLike(sw)];
      },
    };
  });
  const out = f(logits, t, w) as tf.Scalar;
  if (t !== targets) t.dispose();
  if (w !== weights) w.dispose();
  return out;
}
