/**
 * The AdamW step of one parameter as one fused kernel (DramatisAdamW): the clipped gradient, both
 * moments and the decoupled-decay update in a single SIMD pass, where the trainer's tf ops took a dozen
 * kernel calls and as many passes over memory per parameter (about 15 ms of a 400 ms step at the
 * default size, while the gradient worker waits). Each float operation is the one the tf-op chain does,
 * in the same order and in float32, so the weights come out bitwise the same (test/organism/adamw.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, size, type KArgs, type TI } from './state.ts';
import { forLoop, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';
import { fast, run } from './custom-op.ts';

export interface AdamWHyper {
  /** Gradient clipping factor (1 when the norm is under the threshold). */
  scale: number;
  beta1: number;
  beta2: number;
  /** Bias corrections 1 − β^t. */
  bc1: number;
  bc2: number;
  eps: number;
  /** Decoupled weight decay (0 for parameters that do not decay). */
  wd: number;
  lr: number;
}

// One element of the step, on f32x4 lanes (`V`) or scalars (`S`): the same operations in the same order.
const lane = (p: 'f32x4' | 'f32', load: string, store: string) => {
  const ld = (ptr: string) => `local.get ${ptr} local.get j i32.const 2 i32.shl i32.add ${load}`;
  const addr = (ptr: string) => `local.get ${ptr} local.get j i32.const 2 i32.shl i32.add`;
  const k = (name: string) => (p === 'f32x4' ? `local.get V${name}` : `local.get S${name}`);
  const t = p === 'f32x4' ? 'v' : 's';
  return `
    ${ld('g')} ${k('scale')} ${p}.mul local.set ${t}g
    ${addr('mo')} ${ld('m')} ${k('b1')} ${p}.mul local.get ${t}g ${k('c1')} ${p}.mul ${p}.add local.tee ${t}m ${store}
    ${addr('so')} ${ld('s')} ${k('b2')} ${p}.mul local.get ${t}g local.get ${t}g ${p}.mul ${k('c2')} ${p}.mul ${p}.add local.tee ${t}s ${store}
    local.get ${t}m ${k('bc1')} ${p}.div local.get ${t}s ${k('bc2')} ${p}.div ${p}.sqrt ${k('eps')} ${p}.add ${p}.div local.set ${t}u
    local.get decay if
      local.get ${t}u ${ld('v')} ${k('wd')} ${p}.mul ${p}.add local.set ${t}u
    end
    ${addr('vo')} ${ld('v')} local.get ${t}u ${k('lr')} ${p}.mul ${p}.sub ${store}`;
};

const HYPER = ['scale', 'b1', 'c1', 'b2', 'c2', 'bc1', 'bc2', 'eps', 'wd', 'lr'];

// vo, mo, so = the AdamW step of v given its gradient g and moments m, s (n elements each).
export const adamwWat: WasmFn = {
  name: 'adamw',
  params: `v:i32 g:i32 m:i32 s:i32 vo:i32 mo:i32 so:i32 n:i32 decay:i32 ${HYPER.map((h) => `S${h}:f32`).join(' ')}`,
  locals: `j:i32 n4:i32 vg:v128 vm:v128 vs:v128 vu:v128 sg:f32 sm:f32 ss:f32 su:f32 ${HYPER.map((h) => `V${h}:v128`).join(' ')}`,
  body: `
      ${HYPER.map((h) => `local.get S${h} f32x4.splat local.set V${h}`).join('\n      ')}
      local.get n i32.const -4 i32.and local.set n4
      ${forLoop('j', 'i32.const 0', 'local.get n4', 4, lane('f32x4', 'v128.load', 'v128.store'))}
      ${forLoop('j', 'local.get n4', 'local.get n', 1, lane('f32', 'f32.load', 'f32.store'))}`,
};

/** attrs: the hyper-parameters (AdamWHyper) and `decay` (0/1); outputs the new v, m, s. */
export function adamwKernel({ inputs: { v, g, m, s }, attrs, backend }: KArgs<{ v: TI; g: TI; m: TI; s: TI }>): TI[] {
  const be = backendOf(backend);
  const h = attrs as unknown as AdamWHyper & { decay: number };
  const vo = be.makeOutput(v.shape, 'float32'),
    mo = be.makeOutput(v.shape, 'float32'),
    so = be.makeOutput(v.shape, 'float32');
  simd().adamw(
    at(v) << 2,
    at(g) << 2,
    at(m) << 2,
    at(s) << 2,
    at(vo) << 2,
    at(mo) << 2,
    at(so) << 2,
    size(v.shape),
    h.decay ? 1 : 0,
    h.scale,
    h.beta1,
    1 - h.beta1,
    h.beta2,
    1 - h.beta2,
    h.bc1,
    h.bc2,
    h.eps,
    h.wd,
    h.lr,
  );
  return [vo, mo, so];
}

/** The same step as tf ops (other backends, and the reference the kernel is checked against). */
export function adamwRef(v: tf.Tensor, g0: tf.Tensor, m: tf.Tensor, s: tf.Tensor, h: AdamWHyper): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const g = h.scale === 1 ? g0 : g0.mul(h.scale);
  const mi = m.mul(h.beta1).add(g.mul(1 - h.beta1));
  const si = s.mul(h.beta2).add(g.square().mul(1 - h.beta2));
  let update = mi.div(h.bc1).div(si.div(h.bc2).sqrt().add(h.eps));
  if (h.wd > 0) update = update.add(v.mul(h.wd));
  return [v.sub(update.mul(h.lr)), mi, si];
}

/** One AdamW step of a parameter: its new value and moments (call inside tf.tidy, then assign). */
export function adamwStep(v: tf.Tensor, g: tf.Tensor, m: tf.Tensor, s: tf.Tensor, h: AdamWHyper): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (!fast()) return adamwRef(v, g, m, s, h);
  const [vo, mo, so] = run('DramatisAdamW', { v, g, m, s }, { ...h, decay: h.wd > 0 ? 1 : 0 });
  return [vo, mo, so];
}
