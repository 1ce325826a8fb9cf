/**
 * The embedding lookup and its gradient: GatherV2 of rows (forward) and UnsortedSegmentSum, the
 * scatter-add of row gradients that tf's gather gradient calls (backward; the wasm backend has no
 * UnsortedSegmentSum at all, so without it an embedding could not be trained).
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, i32, size, type NamedAttrs, type TI } from './state.ts';
import { addRowInto, el, forLoop, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';

/** Gather of rows (axis 0, no batch dims): the embedding lookup. Indices are bounds-checked like tf's. */
export function gatherKernel(args: { inputs: { x: TI; indices: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x, indices } = args.inputs;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  if (axis !== 0 || ((args.attrs.batchDims as number) ?? 0) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') {
    return fallback(args as never) as TI;
  }
  const be = backendOf(args.backend);
  const n = size(indices.shape),
    rows = x.shape[0],
    row = size(x.shape.slice(1));
  const out = be.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const h = i32();
  const xo = at(x),
    io = at(indices);
  let o = at(out);
  for (let i = 0; i < n; i++, o += row) {
    const r = h[io + i];
    if (r < 0 || r >= rows) {
      be.disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
    }
    h.copyWithin(o, xo + r * row, xo + (r + 1) * row);
  }
  return out;
}

// out[ids[r], :] += x[r, :] for rows with 0 <= ids[r] < S (out is zeroed first): gather's gradient.
export const scatterAddRowsWat: WasmFn = {
  name: 'scatter_add_rows',
  params: 'x:i32 ids:i32 out:i32 R:i32 C:i32 S:i32',
  locals: 'r:i32 j:i32 C4:i32 id:i32 o:i32',
  body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop('j', 'i32.const 0', 'local.get S local.get C i32.mul', 1, `${el('out', 'j')} f32.const 0 f32.store`)}
      ${forLoop(
        'r',
        'i32.const 0',
        'local.get R',
        1,
        `
        ${el('ids', 'r')} i32.load local.tee id i32.const 0 i32.ge_s local.get id local.get S i32.lt_s i32.and if
          local.get out local.get id local.get C i32.mul i32.const 2 i32.shl i32.add local.set o
          ${addRowInto('o', 'x')}
        end
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x`,
      )}`,
};

/** The gradient of gather (embedding rows): scatter-add of rows into numSegments rows. */
export function unsortedSegmentSumKernel(args: { inputs: { x: TI; segmentIds: TI }; attrs: NamedAttrs; backend: unknown }): TI {
  const be = backendOf(args.backend);
  const { x, segmentIds } = args.inputs;
  const numSegments = args.attrs.numSegments as number;
  const rowSize = size(x.shape.slice(1));
  const rows = x.shape[0];
  const out = be.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  if (x.dtype === 'float32') {
    simd().scatter_add_rows(at(x) << 2, at(segmentIds) << 2, at(out) << 2, rows, rowSize, numSegments);
    return out;
  }
  const hi = i32();
  const o = at(out),
    src = at(x),
    ids = at(segmentIds);
  hi.fill(0, o, o + numSegments * rowSize);
  for (let r = 0; r < rows; r++) {
    const sId = hi[ids + r];
    if (sId < 0 || sId >= numSegments) continue;
    const d = o + sId * rowSize,
      s = src + r * rowSize;
    for (let j = 0; j < rowSize; j++) hi[d + j] += hi[s + j];
  }
  return out;
}
