/**
 * Data movement without needless copies: the Transpose override (and the SIMD transpose it, the
 * matrix products and attention use), Slice, which shares Transpose's strided copy, and Identity,
 * which shares data instead of copying it. None has a gradient of its own to fuse: the gradient of a
 * transpose is a transpose, of a slice a pad, of an identity an identity.
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, i32, size, type NamedAttrs, type TI } from './state.ts';
import { forLoop, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';

// i8x16.shuffle byte patterns for the 4×4 transpose: interleave the 32-bit lanes of two rows (LO, HI),
// then take the low or high 64-bit halves of two such pairs (LO8, HI8).
const LO = '0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23',
  HI = '8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31';
const LO8 = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23',
  HI8 = '8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31';
// dst[c*ds + r] = src[r*ss + c] (pointers in bytes, strides in elements); 4×4 blocks via shuffles.
export const transposeWat: WasmFn = {
  name: 'transpose',
  params: 'src:i32 ss:i32 dst:i32 ds:i32 R:i32 C:i32',
  locals: 'r:i32 c:i32 r0:i32 r1:i32 c0:i32 c1:i32 k:i32 R4:i32 C4:i32 sp:i32 dp:i32 t0:v128 t1:v128 t2:v128 t3:v128',
  body: `
      local.get ss i32.const 2 i32.shl local.set ss
      local.get ds i32.const 2 i32.shl local.set ds
      local.get R i32.const -4 i32.and local.set R4
      local.get C i32.const -4 i32.and local.set C4
      ;; column tiles of 64 keep the written lines of dst in L1 while the rows stream by
      ${forLoop(
        'r0',
        'i32.const 0',
        'local.get R4',
        32,
        `
      local.get r0 i32.const 32 i32.add local.tee r1 local.get R4 i32.gt_s if local.get R4 local.set r1 end
      ${forLoop(
        'c0',
        'i32.const 0',
        'local.get C4',
        32,
        `
        local.get c0 i32.const 32 i32.add local.tee c1 local.get C4 i32.gt_s if local.get C4 local.set c1 end
        ${forLoop(
          'r',
          'local.get r0',
          'local.get r1',
          4,
          `
        ${forLoop(
          'c',
          'local.get c0',
          'local.get c1',
          4,
          `
          local.get src local.get r local.get ss i32.mul i32.add local.get c i32.const 2 i32.shl i32.add local.set sp
          local.get dst local.get c local.get ds i32.mul i32.add local.get r i32.const 2 i32.shl i32.add local.set dp
          local.get sp v128.load local.get sp local.get ss i32.add v128.load i8x16.shuffle ${LO} local.set t0
          local.get sp v128.load local.get sp local.get ss i32.add v128.load i8x16.shuffle ${HI} local.set t1
          local.get sp local.get ss i32.const 1 i32.shl i32.add local.set sp
          local.get sp v128.load local.get sp local.get ss i32.add v128.load i8x16.shuffle ${LO} local.set t2
          local.get sp v128.load local.get sp local.get ss i32.add v128.load i8x16.shuffle ${HI} local.set t3
          local.get dp local.get t0 local.get t2 i8x16.shuffle ${LO8} v128.store
          local.get dp local.get ds i32.add local.tee dp local.get t0 local.get t2 i8x16.shuffle ${HI8} v128.store
          local.get dp local.get ds i32.add local.tee dp local.get t1 local.get t3 i8x16.shuffle ${LO8} v128.store
          local.get dp local.get ds i32.add local.get t1 local.get t3 i8x16.shuffle ${HI8} v128.store`,
        )}`,
        )}`,
      )}`,
      )}
      ${forLoop(
        'r',
        'i32.const 0',
        'local.get R4',
        4,
        `
        ${forLoop(
          'c',
          'local.get C4',
          'local.get C',
          1,
          `
          ${forLoop(
            'k',
            'i32.const 0',
            'i32.const 4',
            1,
            `
            local.get dst local.get c local.get ds i32.mul i32.add local.get r local.get k i32.add i32.const 2 i32.shl i32.add
            local.get src local.get r local.get k i32.add local.get ss i32.mul i32.add local.get c i32.const 2 i32.shl i32.add i32.load
            i32.store`,
          )}`,
        )}`,
      )}
      ${forLoop(
        'r',
        'local.get R4',
        'local.get R',
        1,
        `
        ${forLoop(
          'c',
          'i32.const 0',
          'local.get C',
          1,
          `
          local.get dst local.get c local.get ds i32.mul i32.add local.get r i32.const 2 i32.shl i32.add
          local.get src local.get r local.get ss i32.mul i32.add local.get c i32.const 2 i32.shl i32.add i32.load
          i32.store`,
        )}`,
      )}`,
};

/** dst[c, r] = src[r, c] for a row-major [R, C] matrix (word offsets; bit-exact, any 4-byte dtype). */
export function transpose2d(src: number, dst: number, R: number, C: number): void {
  simd().transpose(src << 2, C, dst << 2, R, R, C);
}
/** dst[c·dstStride + r] = src[r·srcStride + c] for r < R, c < C (word offsets). */
export function transposeStrided(src: number, srcStride: number, dst: number, dstStride: number, R: number, C: number): void {
  simd().transpose(src << 2, srcStride, dst << 2, dstStride, R, C);
}

/** Transpose for any 4-byte dtype; dims of size 1 dropped and runs of dims that stay adjacent merged. */
export function transposeKernel(args: { inputs: { x: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x } = args.inputs;
  const perm = args.attrs.perm as number[];
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args as never) as TI;
  const be = backendOf(args.backend);
  const outShape = perm.map((p) => x.shape[p]);
  const out = be.makeOutput(outShape, x.dtype);
  const n = size(x.shape);
  if (n === 0) return out;
  // Simplify: drop size-1 dims, then merge input dims i, i+1 that appear consecutively in perm.
  const keep = x.shape.map((s) => s !== 1);
  const oldToNew: number[] = [];
  let shape: number[] = [];
  x.shape.forEach((s, i) => {
    if (keep[i]) {
      oldToNew[i] = shape.length;
      shape.push(s);
    }
  });
  let p = perm.filter((d) => keep[d]).map((d) => oldToNew[d]);
  for (let changed = true; changed;) {
    changed = false;
    for (let j = 0; j + 1 < p.length; j++) {
      if (p[j + 1] === p[j] + 1) {
        const d = p[j];
        shape = [...shape.slice(0, d), shape[d] * shape[d + 1], ...shape.slice(d + 2)];
        p = p.filter((_, k) => k !== j + 1).map((q) => (q > d ? q - 1 : q));
        changed = true;
        break;
      }
    }
  }
  const src = at(x),
    dst = at(out);
  const h = i32();
  const r = shape.length;
  if (r <= 1) {
    h.copyWithin(dst, src, src + n);
    return out;
  }
  if (r === 2) {
    transpose2d(src, dst, shape[0], shape[1]);
    return out;
  }
  if (r === 3 && p[0] === 0 && p[1] === 2) {
    const [nb, R, C] = shape;
    for (let i = 0; i < nb; i++) transpose2d(src + i * R * C, dst + i * R * C, R, C);
    return out;
  }
  // General case: walk the output in order; the innermost output dim is p[r-1].
  const strides = new Array<number>(r);
  strides[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  gatherStrided(
    h,
    dst,
    src,
    p.map((d) => shape[d]),
    p.map((d) => strides[d]),
  );
  return out;
}

/**
 * Copy the strided view (`outShape`, source element strides `srcStrides`, starting at word `src`) into
 * contiguous memory at `dst`, walking the output in order with an odometer over its outer dims.
 * Serves both Transpose (permuted strides) and Slice (the input's strides over the slice's extent).
 */
function gatherStrided(h: Int32Array, dst: number, src: number, outShape: number[], srcStrides: number[]): void {
  const r = outShape.length;
  const inner = outShape[r - 1],
    innerStride = srcStrides[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  const outer = size(outShape) / inner;
  let o = dst,
    s = src;
  for (let k = 0; k < outer; k++) {
    if (innerStride === 1) {
      h.copyWithin(o, s, s + inner);
      o += inner;
    } else for (let j = 0, ss = s; j < inner; j++, ss += innerStride) h[o++] = h[ss];
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      s += srcStrides[d];
      if (idx[d] < outShape[d]) break;
      s -= srcStrides[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/** Slice without copying the whole input first (the stock kernel reads all of x back to JS). */
export function sliceKernel(args: { inputs: { x: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x } = args.inputs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args as never) as TI;
  const be = backendOf(args.backend);
  const [begin, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs.begin as number[], args.attrs.size as number[]);
  const out = be.makeOutput(sz, x.dtype);
  const n = size(sz);
  if (n === 0) return out;
  const r = x.shape.length;
  const strides = new Array<number>(r);
  strides[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) strides[i] = strides[i + 1] * x.shape[i + 1];
  let s = at(x);
  for (let i = 0; i < r; i++) s += begin[i] * strides[i];
  const h = i32();
  if (tf.slice_util.isSliceContinous(x.shape, begin, sz)) h.copyWithin(at(out), s, s + n);
  else gatherStrided(h, at(out), s, sz, strides);
  return out;
}

/** Identity shares the data (like the cpu backend) instead of copying it: tf clones every saved tensor. */
export function identityKernel(args: { inputs: { x: TI }; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x } = args.inputs;
  if (x.dtype === 'string') return fallback(args as never) as TI;
  backendOf(args.backend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
