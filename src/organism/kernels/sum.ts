/**
 * Sum over leading axes, the gradient of a bias or gain broadcast over rows, as SIMD column sums
 * (the stock kernel transposes first). Other reductions go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, size, type NamedAttrs, type TI } from './state.ts';
import { addRowInto, el, forLoop, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';

// out[j] = Σ_i x[i, j] over a row-major [R, C].
export const colSumsWat: WasmFn = {
  name: 'col_sums',
  params: 'x:i32 R:i32 C:i32 out:i32',
  locals: 'i:i32 j:i32 C4:i32',
  body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop('j', 'i32.const 0', 'local.get C', 1, `${el('out', 'j')} f32.const 0 f32.store`)}
      ${forLoop(
        'i',
        'i32.const 0',
        'local.get R',
        1,
        `
        ${addRowInto('out', 'x')}
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x`,
      )}`,
};

/** Sum over leading axes (bias and gain gradients) as column sums; other cases go to the stock kernel. */
export function sumKernel(args: { inputs: { x: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x } = args.inputs;
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.every((d, i) => d === i) && axes.length < r;
  if (x.dtype !== 'float32' || !leading) return fallback(args as never) as TI;
  const be = backendOf(args.backend);
  const R = size(x.shape.slice(0, axes.length)),
    C = size(x.shape.slice(axes.length));
  const keepDims = !!args.attrs.keepDims;
  const outShape = keepDims ? x.shape.map((s, i) => (i < axes.length ? 1 : s)) : x.shape.slice(axes.length);
  const out = be.makeOutput(outShape, 'float32');
  colSums(at(x), R, C, at(out));
  return out;
}

/** out[j] = Σ_i x[i, j] for a row-major [R, C] matrix (word offsets). */
function colSums(x: number, R: number, C: number, out: number): void {
  simd().col_sums(x << 2, R, C, out << 2);
}
