/**
 * tanh-GELU (GPT-2's), fused: computed as y = x·σ(2u), one SIMD pass forward (with its own vector
 * exp; it keeps s = σ(2u) for the gradient) and one backward, as the DramatisGelu(Grad) kernels, and
 * the public op `gelu` with its composite reference `geluRef`.
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, size, type KArgs, type TI } from './state.ts';
import { el, forLoop, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';
import { customOp, fast, run } from './custom-op.ts';

/**
 * exp of the v128 local `z` (clobbered, as are n and r), left on the stack: Cephes-style
 * exp(z) = 2^n · e^r with n = round(z·log2 e), r = z − n·ln 2 (ln 2 split in two), e^r by a
 * degree-6 Taylor polynomial (|r| ≤ 0.35: relative error < 2e-7), 2^n added to the exponent bits.
 */
export const expv = (z: string, n: string, r: string) => `
  local.get ${z} f32.const 88.3 f32x4.splat f32x4.min f32.const -87.3 f32x4.splat f32x4.max local.set ${z}
  local.get ${z} f32.const 1.4426950408889634 f32x4.splat f32x4.mul f32x4.nearest local.set ${n}
  local.get ${z} local.get ${n} f32.const 0.693359375 f32x4.splat f32x4.mul f32x4.sub
  local.get ${n} f32.const -2.12194440e-4 f32x4.splat f32x4.mul f32x4.sub local.set ${r}
  f32.const ${1 / 720} f32x4.splat local.get ${r} f32x4.mul f32.const ${1 / 120} f32x4.splat f32x4.add
  local.get ${r} f32x4.mul f32.const ${1 / 24} f32x4.splat f32x4.add
  local.get ${r} f32x4.mul f32.const ${1 / 6} f32x4.splat f32x4.add
  local.get ${r} f32x4.mul f32.const 0.5 f32x4.splat f32x4.add
  local.get ${r} f32x4.mul f32.const 1 f32x4.splat f32x4.add
  local.get ${r} f32x4.mul f32.const 1 f32x4.splat f32x4.add
  local.get ${n} i32x4.trunc_sat_f32x4_s i32.const 23 i32x4.shl i32x4.add`;

// tanh-GELU forward as y = x·s, s = σ(2u) = 1 / (1 + exp(−x(c2 + c2a x²))); writes y and s.
// Vectors of 4; the tail (n % 4) is recomputed as the last full vector, or lane by lane if n < 4.
export const geluWat: WasmFn = {
  name: 'gelu',
  params: 'x:i32 y:i32 s:i32 n:i32 c2:f32 c2a:f32',
  locals: 'i:i32 last:i32 vx:v128 z:v128 vn:v128 vr:v128 vs:v128 one:v128 tx:f32',
  body: `
      f32.const 1 f32x4.splat local.set one
      local.get n i32.const 4 i32.sub local.set last
      ${forLoop(
        'i',
        'i32.const 0',
        'local.get n',
        4,
        `
        local.get last i32.const 0 i32.ge_s if
          local.get i local.get last i32.gt_s if local.get last local.set i end
          ${el('x', 'i')} v128.load local.set vx
          local.get vx local.get vx f32x4.mul local.get c2a f32x4.splat f32x4.mul local.get c2 f32x4.splat f32x4.add local.get vx f32x4.mul f32x4.neg local.set z
          local.get one local.get one ${expv('z', 'vn', 'vr')} f32x4.add f32x4.div local.set vs
          ${el('s', 'i')} local.get vs v128.store
          ${el('y', 'i')} local.get vx local.get vs f32x4.mul v128.store
        else
          ${el('x', 'i')} f32.load local.tee tx f32x4.splat local.set vx
          local.get vx local.get vx f32x4.mul local.get c2a f32x4.splat f32x4.mul local.get c2 f32x4.splat f32x4.add local.get vx f32x4.mul f32x4.neg local.set z
          local.get one local.get one ${expv('z', 'vn', 'vr')} f32x4.add f32x4.div local.set vs
          ${el('s', 'i')} local.get vs f32x4.extract_lane 0 f32.store
          ${el('y', 'i')} local.get tx local.get vs f32x4.extract_lane 0 f32.mul f32.store
          local.get i i32.const 3 i32.sub local.set i
        end`,
      )}`,
};

// out = dy (s + x·s(1−s)·(c2 + c6a x²)): the tanh-GELU derivative with s = σ(2u).
export const geluGradWat: WasmFn = {
  name: 'gelu_grad',
  params: 'dy:i32 x:i32 s:i32 out:i32 n:i32 c2:f32 c6a:f32',
  locals: 'i:i32 n4:i32 vx:v128 vs:v128 vc2:v128 vc6:v128 one:v128 tx:f32 ts:f32',
  body: `
      local.get n i32.const -4 i32.and local.set n4
      local.get c2 f32x4.splat local.set vc2
      local.get c6a f32x4.splat local.set vc6
      f32.const 1 f32x4.splat local.set one
      ${forLoop(
        'i',
        'i32.const 0',
        'local.get n4',
        4,
        `
        ${el('x', 'i')} v128.load local.set vx
        ${el('s', 'i')} v128.load local.set vs
        ${el('out', 'i')}
        ${el('dy', 'i')} v128.load
        local.get vs
        local.get vx local.get vs f32x4.mul local.get one local.get vs f32x4.sub f32x4.mul
        local.get vc2 local.get vc6 local.get vx f32x4.mul local.get vx f32x4.mul f32x4.add f32x4.mul
        f32x4.add f32x4.mul v128.store`,
      )}
      ${forLoop(
        'i',
        'local.get n4',
        'local.get n',
        1,
        `
        ${el('x', 'i')} f32.load local.set tx
        ${el('s', 'i')} f32.load local.set ts
        ${el('out', 'i')}
        ${el('dy', 'i')} f32.load
        local.get ts
        local.get tx local.get ts f32.mul f32.const 1 local.get ts f32.sub f32.mul
        local.get c2 local.get c6a local.get tx f32.mul local.get tx f32.mul f32.add f32.mul
        f32.add f32.mul f32.store`,
      )}`,
};

const GELU_C = Math.sqrt(2 / Math.PI),
  GELU_A = 0.044715;

/** tanh-GELU forward: outputs y = x·s and s = σ(2u), u = c(x + a x³), kept for the gradient. */
export function geluKernel({ inputs: { x }, backend }: KArgs<{ x: TI }>): TI[] {
  const be = backendOf(backend);
  const n = size(x.shape);
  const y = be.makeOutput(x.shape, 'float32'),
    s = be.makeOutput(x.shape, 'float32');
  simd().gelu(at(x) << 2, at(y) << 2, at(s) << 2, n, 2 * GELU_C, 2 * GELU_C * GELU_A);
  return [y, s];
}

/**
 * Gradient of tanh-GELU given x and s = σ(2u), u = c(x + a x³) (so tanh u = 2s − 1):
 * gelu = x·s, gelu' = s + x·2s(1−s)·c(1 + 3a x²).
 */
export function geluGradKernel({ inputs: { dy, x, s }, backend }: KArgs<{ dy: TI; x: TI; s: TI }>): TI {
  const be = backendOf(backend);
  const n = size(x.shape);
  const dx = be.makeOutput(x.shape, 'float32');
  simd().gelu_grad(at(dy) << 2, at(x) << 2, at(s) << 2, at(dx) << 2, n, 2 * GELU_C, 6 * GELU_C * GELU_A);
  return dx;
}

/** Reference tanh-GELU (GPT-2's) from standard ops. */
export function geluRef(x: tf.Tensor): tf.Tensor {
  const u = x.add(x.mul(x).mul(x).mul(GELU_A)).mul(GELU_C);
  return x.mul(tf.tanh(u).add(1)).mul(0.5);
}
/** tanh-GELU as x·σ(2u), forward and backward one fused SIMD pass each. */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (!fast() || x.dtype !== 'float32') return geluRef(x);
  const f = customOp(([xx], save) => {
    const [y, s] = run('DramatisGelu', { x: xx });
    save([xx, s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run('DramatisGeluGrad', { dy, x: saved[0], s: saved[1] }),
    };
  });
  return f(x);
}
