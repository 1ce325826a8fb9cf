/**
 * Kernel overrides and additions for the tfjs wasm backend (tfjs-backend-wasm 4.22, single-threaded).
 *
 * Why by hand. The wasm backend routes only a plain 2-D matMul (no transpose flags, batch 1) to
 * XNNPACK's fast GEMM (15–25 GFLOP/s here); every transposed or batched product falls to a naive
 * loop (1–2.5 GFLOP/s), and backprop is made of exactly those. Its Transpose kernel runs at ~5 ns per
 * element (75 ms for the 5-D attention head split), Sum over leading axes transposes first, Slice
 * copies the whole input, Identity (used by tf to save tensors for backprop) copies, and there is no
 * UnsortedSegmentSum at all, so an embedding gather cannot be trained. No library provides these for
 * the tfjs wasm backend (tfjs-node cannot be installed here), hence the overrides below.
 *
 * How. Every matrix product is reduced to calls of the backend's own exported XNNPACK entry point
 * (`_BatchMatMul` / `__FusedMatMul` of the wasm module) on *views*: we register temporary tensor ids
 * that point into the heap (an operand, a single attention head, a slice of the output) and dispose
 * them right after the call. No new wasm code is involved. Transposes that XNNPACK cannot absorb are
 * made explicit, on the cheaper side, by a blocked JS transpose.
 *
 * XNNPACK caches its prepared (packed) operator by B's tensor id. Because each view id is fresh and
 * is disposed (which deletes the cached operator) right after its call, a tensor reshaped differently
 * can never pick up a stale operator here.
 *
 * Every override is checked against the cpu backend on random inputs in test/organism/model.test.ts.
 * The fused ops (layer norm, GELU, softmax cross-entropy, causal attention) are checked against their
 * composite reference and against finite differences there too.
 */
import * as tf from '@tensorflow/tfjs';

type TI = tf.TensorInfo;
type NamedAttrs = Record<string, unknown>;

/** The parts of the wasm module and backend we use (they are not in the public typings). */
interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _BatchMatMul(aId: number, aShape: number, aRank: number, bId: number, bShape: number, bRank: number,
    transposeA: number, transposeB: number, outId: number): void;
  __FusedMatMul(aId: number, aShape: number, aRank: number, bId: number, bShape: number, bRank: number,
    transposeA: number, transposeB: number, activation: number, biasId: number, preluId: number,
    leakyAlpha: number, outId: number): void;
  _Softmax(xId: number, outId: number, channels: number, batch: number): void;
  tfjs: { registerTensor(id: number, size: number, ptr: number): void; disposeData(id: number): void };
}
interface DataEntry { id: number; memoryOffset: number; shape: number[]; dtype: string; refCount: number }
interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): DataEntry };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): TI;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

// ---------------------------------------------------------------------------------------------
// Heap access
// ---------------------------------------------------------------------------------------------

let wb: WasmBackend | undefined;
let heapBuffer: ArrayBufferLike | undefined;
let F32: Float32Array<ArrayBufferLike> = new Float32Array(0);
let I32: Int32Array<ArrayBufferLike> = new Int32Array(0);
let shapeScratch = 0;

function backendOf(b: unknown): WasmBackend {
  const w = b as WasmBackend;
  if (wb !== w) {
    wb = w;
    shapeScratch = w.wasm._malloc(64);
    heapBuffer = undefined;
  }
  return w;
}
/** The whole wasm heap as float32 / int32; re-fetched whenever memory grew (any malloc may grow it). */
function f32(): Float32Array<ArrayBufferLike> {
  const buf = wb!.wasm.HEAPU8.buffer;
  if (buf !== heapBuffer) {
    heapBuffer = buf;
    F32 = new Float32Array(buf);
    I32 = new Int32Array(buf);
  }
  return F32;
}
function i32(): Int32Array<ArrayBufferLike> {
  f32();
  return I32;
}
/** Offset of a tensor's data in 4-byte words. */
function at(t: TI): number {
  return wb!.dataIdMap.get(t.dataId).memoryOffset >>> 2;
}
function size(shape: number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}
/** Scratch memory (in words); free with `release`. */
function scratch(words: number): number {
  return (wb!.wasm._malloc(Math.max(4, words * 4)) >>> 0) >>> 2;
}
function release(word: number): void {
  wb!.wasm._free(word << 2);
}
function view(word: number, n: number): number {
  const id = wb!.dataIdNextNumber++;
  wb!.wasm.tfjs.registerTensor(id, n, word << 2);
  return id;
}

/**
 * out[M,N] = a[M,K] · b[K,N] (+ bias[N]) through XNNPACK's fully-connected operator, all operands
 * given as word offsets into the heap. May grow the heap.
 */
function gemm(a: number, M: number, K: number, b: number, N: number, out: number, bias = -1): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    const h = f32();
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) h[out + i * N + j] = bias >= 0 ? h[bias + j] : 0;
    return;
  }
  const W = wb!.wasm;
  const ia = view(a, M * K), ib = view(b, K * N), io = view(out, M * N);
  const I = i32(), s = shapeScratch >>> 2;
  I[s] = 1; I[s + 1] = M; I[s + 2] = K; I[s + 3] = 1; I[s + 4] = K; I[s + 5] = N;
  if (bias < 0) {
    W._BatchMatMul(ia, shapeScratch, 3, ib, shapeScratch + 12, 3, 0, 0, io);
  } else {
    const ibias = view(bias, N);
    W.__FusedMatMul(ia, shapeScratch, 3, ib, shapeScratch + 12, 3, 0, 0, 0 /* linear */, ibias, 0, 0, io);
    W.tfjs.disposeData(ibias);
  }
  // Disposing B's id also deletes XNNPACK's operator cached for it.
  W.tfjs.disposeData(ia); W.tfjs.disposeData(ib); W.tfjs.disposeData(io);
}

/** dst[c, r] = src[r, c] for a row-major [R, C] matrix (word offsets; bit-exact, any 4-byte dtype). */
function transpose2d(src: number, dst: number, R: number, C: number): void {
  // 4×4 blocks through locals: ~1.1–1.8 ns per element here, 2–4× the simple loops and the wasm kernel.
  const h = i32();
  const R4 = R & ~3, C4 = C & ~3, C2 = 2 * C, C3 = 3 * C, R2 = 2 * R, R3 = 3 * R;
  for (let r = 0; r < R4; r += 4) {
    const s0 = src + r * C;
    for (let c = 0; c < C4; c += 4) {
      const s = s0 + c, d = dst + c * R + r;
      const a0 = h[s], a1 = h[s + 1], a2 = h[s + 2], a3 = h[s + 3];
      const b0 = h[s + C], b1 = h[s + C + 1], b2 = h[s + C + 2], b3 = h[s + C + 3];
      const c0 = h[s + C2], c1 = h[s + C2 + 1], c2 = h[s + C2 + 2], c3 = h[s + C2 + 3];
      const e0 = h[s + C3], e1 = h[s + C3 + 1], e2 = h[s + C3 + 2], e3 = h[s + C3 + 3];
      h[d] = a0; h[d + 1] = b0; h[d + 2] = c0; h[d + 3] = e0;
      h[d + R] = a1; h[d + R + 1] = b1; h[d + R + 2] = c1; h[d + R + 3] = e1;
      h[d + R2] = a2; h[d + R2 + 1] = b2; h[d + R2 + 2] = c2; h[d + R2 + 3] = e2;
      h[d + R3] = a3; h[d + R3 + 1] = b3; h[d + R3 + 2] = c3; h[d + R3 + 3] = e3;
    }
  }
  for (let r = 0; r < R; r++) {
    for (let c = r < R4 ? C4 : 0; c < C; c++) h[dst + c * R + r] = h[src + r * C + c];
  }
}

// Measured costs in ns per element moved: our JS transpose, and XNNPACK packing its B operand (it
// packs B, with a transposition, every time an operator is created, i.e. on every call here).
const T_NS = 1.5, PACK_NS = 3.6;

/**
 * out[M,N] = op(a) · op(b) (+ bias) where op transposes when asked: a is stored [M,K] or (tA) [K,M],
 * b is stored [K,N] or (tB) [N,K]. XNNPACK computes X·Y with Y packed; we choose between computing
 * out directly or as (op(b)ᵀ·op(a)ᵀ)ᵀ by the memory traffic each needs (transposes and packing).
 */
function matmul2d(a: number, tA: boolean, b: number, tB: boolean, M: number, K: number, N: number, out: number, bias = -1): void {
  // direct: A-operand = op(a) (transpose if tA), B-operand = op(b) (transpose if tB), packed.
  const direct = (tA ? T_NS * M * K : 0) + (tB ? T_NS * K * N : 0) + PACK_NS * K * N;
  // swapped: outᵀ[N,M] = op(b)ᵀ · op(a)ᵀ; A-operand b stored [N,K] iff tB, B-operand a stored [K,M] iff tA.
  const swapped = (tB ? 0 : T_NS * K * N) + (tA ? 0 : T_NS * M * K) + PACK_NS * K * M + T_NS * M * N;
  if (bias >= 0 || direct <= swapped) {
    let aa = a, bb = b;
    if (tA) { aa = scratch(M * K); transpose2d(a, aa, K, M); }
    if (tB) { bb = scratch(K * N); transpose2d(b, bb, N, K); }
    gemm(aa, M, K, bb, N, out, bias);
    if (tA) release(aa);
    if (tB) release(bb);
    return;
  }
  let aa = b, bb = a;
  if (!tB) { aa = scratch(K * N); transpose2d(b, aa, K, N); }
  if (!tA) { bb = scratch(M * K); transpose2d(a, bb, M, K); }
  const oT = scratch(M * N);
  gemm(aa, N, K, bb, M, oT);
  transpose2d(oT, out, N, M);
  release(oT);
  if (!tB) release(aa);
  if (!tA) release(bb);
}

// ---------------------------------------------------------------------------------------------
// Kernel overrides
// ---------------------------------------------------------------------------------------------

interface MatMulArgs { inputs: { a: TI; b: TI; bias?: TI; preluActivationWeights?: TI }; attrs: NamedAttrs; backend: unknown }

function matMulKernel(args: MatMulArgs, fallback: tf.KernelFunc): TI {
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const tA = !!args.attrs.transposeA, tB = !!args.attrs.transposeB;
  const activation = (args.attrs.activation as string | undefined) ?? 'linear';
  const aR = a.shape.length, bR = b.shape.length;
  const M = tA ? a.shape[aR - 1] : a.shape[aR - 2], K = tA ? a.shape[aR - 2] : a.shape[aR - 1];
  const Kb = tB ? b.shape[bR - 1] : b.shape[bR - 2], N = tB ? b.shape[bR - 2] : b.shape[bR - 1];
  const batchA = size(a.shape.slice(0, -2)), batchB = size(b.shape.slice(0, -2));
  const plain = a.dtype === 'float32' && b.dtype === 'float32' && activation === 'linear' && !preluActivationWeights
    && (!bias || (bias.shape.length === 1 && bias.shape[0] === N) || size(bias.shape) === 1)
    && K === Kb && (batchA === batchB || batchA === 1 || batchB === 1);
  if (!plain) return fallback(args as never) as TI;
  const be = backendOf(args.backend);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = be.makeOutput([...outBatch, M, N], 'float32');
  let biasAt = -1;
  let biasTmp = -1;
  if (bias) {
    if (bias.shape.length === 1 && bias.shape[0] === N) biasAt = at(bias);
    else { biasTmp = biasAt = scratch(N); const h = f32(); h.fill(h[at(bias)], biasAt, biasAt + N); }
  }
  const ao = at(a), bo = at(b), oo = at(out);
  if (batchB === 1 && !tA) {
    // A batched (or not) times one B: fold the batch into the rows of a single 2-D product.
    matmul2d(ao, false, bo, tB, batchA * M, K, N, oo, biasAt);
  } else {
    const nb = Math.max(batchA, batchB);
    for (let i = 0; i < nb; i++) {
      matmul2d(ao + (batchA > 1 ? i * M * K : 0), tA, bo + (batchB > 1 ? i * K * N : 0), tB, M, K, N, oo + i * M * N, biasAt);
    }
  }
  if (biasTmp >= 0) release(biasTmp);
  return out;
}

/** Transpose for any 4-byte dtype; dims of size 1 dropped and runs of dims that stay adjacent merged. */
function transposeKernel(args: { inputs: { x: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
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
  x.shape.forEach((s, i) => { if (keep[i]) { oldToNew[i] = shape.length; shape.push(s); } });
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
  const src = at(x), dst = at(out);
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
  const oShape = p.map((d) => shape[d]);
  const oStr = p.map((d) => strides[d]);
  const inner = oShape[r - 1], innerStride = oStr[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  let o = dst, s = src;
  const outer = n / inner;
  for (let k = 0; k < outer; k++) {
    if (innerStride === 1) { h.copyWithin(o, s, s + inner); o += inner; }
    else for (let j = 0, ss = s; j < inner; j++, ss += innerStride) h[o++] = h[ss];
    // advance the odometer over output dims 0..r-2
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      s += oStr[d];
      if (idx[d] < oShape[d]) break;
      s -= oStr[d] * oShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Slice without copying the whole input first (the stock kernel reads all of x back to JS). */
function sliceKernel(args: { inputs: { x: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
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
  let o = at(out);
  const h = i32();
  if (tf.slice_util.isSliceContinous(x.shape, begin, sz)) {
    h.copyWithin(o, s, s + n);
    return out;
  }
  const inner = sz[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  const rows = n / inner;
  for (let k = 0; k < rows; k++) {
    h.copyWithin(o, s, s + inner);
    o += inner;
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      s += strides[d];
      if (idx[d] < sz[d]) break;
      s -= strides[d] * sz[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Sum over leading axes (bias and gain gradients) as column sums; other cases go to the stock kernel. */
function sumKernel(args: { inputs: { x: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x } = args.inputs;
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.every((d, i) => d === i) && axes.length < r;
  if (x.dtype !== 'float32' || !leading) return fallback(args as never) as TI;
  const be = backendOf(args.backend);
  const R = size(x.shape.slice(0, axes.length)), C = size(x.shape.slice(axes.length));
  const keepDims = !!args.attrs.keepDims;
  const outShape = keepDims ? x.shape.map((s, i) => (i < axes.length ? 1 : s)) : x.shape.slice(axes.length);
  const out = be.makeOutput(outShape, 'float32');
  colSums(at(x), R, C, at(out));
  return out;
}

/** out[j] = Σ_i x[i, j] for a row-major [R, C] matrix (word offsets), four rows per sweep. */
function colSums(x: number, R: number, C: number, out: number): void {
  const h = f32();
  h.fill(0, out, out + C);
  let i = 0, s = x;
  for (; i + 4 <= R; i += 4, s += 4 * C) {
    for (let j = 0; j < C; j++) h[out + j] += h[s + j] + h[s + C + j] + h[s + 2 * C + j] + h[s + 3 * C + j];
  }
  for (; i < R; i++, s += C) for (let j = 0; j < C; j++) h[out + j] += h[s + j];
}

/** Gather of rows (axis 0, no batch dims): the embedding lookup. Indices are bounds-checked like tf's. */
function gatherKernel(args: { inputs: { x: TI; indices: TI }; attrs: NamedAttrs; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x, indices } = args.inputs;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  if (axis !== 0 || ((args.attrs.batchDims as number) ?? 0) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') {
    return fallback(args as never) as TI;
  }
  const be = backendOf(args.backend);
  const n = size(indices.shape), rows = x.shape[0], row = size(x.shape.slice(1));
  const out = be.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const h = i32();
  const xo = at(x), io = at(indices);
  let o = at(out);
  for (let i = 0; i < n; i++, o += row) {
    const r = h[io + i];
    if (r < 0 || r >= rows) { be.disposeData(out.dataId); throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`); }
    h.copyWithin(o, xo + r * row, xo + (r + 1) * row);
  }
  return out;
}

/** Identity shares the data (like the cpu backend) instead of copying it: tf clones every saved tensor. */
function identityKernel(args: { inputs: { x: TI }; backend: unknown }, fallback: tf.KernelFunc): TI {
  const { x } = args.inputs;
  if (x.dtype === 'string') return fallback(args as never) as TI;
  backendOf(args.backend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The gradient of gather (embedding rows): scatter-add of rows into numSegments rows. */
function unsortedSegmentSumKernel(args: { inputs: { x: TI; segmentIds: TI }; attrs: NamedAttrs; backend: unknown }): TI {
  const be = backendOf(args.backend);
  const { x, segmentIds } = args.inputs;
  const numSegments = args.attrs.numSegments as number;
  const rowSize = size(x.shape.slice(1));
  const rows = x.shape[0];
  const out = be.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  const h = f32(), hi = i32();
  const o = at(out), src = at(x), ids = at(segmentIds);
  if (x.dtype === 'float32') h.fill(0, o, o + numSegments * rowSize);
  else hi.fill(0, o, o + numSegments * rowSize);
  const acc = x.dtype === 'float32' ? h : hi;
  for (let r = 0; r < rows; r++) {
    const sId = hi[ids + r];
    if (sId < 0 || sId >= numSegments) continue;
    const d = o + sId * rowSize, s = src + r * rowSize;
    for (let j = 0; j < rowSize; j++) acc[d + j] += acc[s + j];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fused kernels (new kernel names; forward and backward written directly on the heap)
// ---------------------------------------------------------------------------------------------

interface KArgs<I> { inputs: I; attrs: NamedAttrs; backend: unknown }

/** y = (x − mean)·rstd·g + b over the last axis; also returns mean and rstd [N] for the gradient. */
function layerNormKernel({ inputs: { x, g, b }, attrs, backend }: KArgs<{ x: TI; g: TI; b: TI }>): TI[] {
  const be = backendOf(backend);
  const eps = attrs.eps as number;
  const C = x.shape[x.shape.length - 1], N = size(x.shape) / C;
  const y = be.makeOutput(x.shape, 'float32'), mean = be.makeOutput([N], 'float32'), rstd = be.makeOutput([N], 'float32');
  const h = f32();
  const xo = at(x), yo = at(y), go = at(g), bo = at(b), mo = at(mean), ro = at(rstd);
  for (let n = 0; n < N; n++) {
    const row = xo + n * C;
    let s = 0;
    for (let j = 0; j < C; j++) s += h[row + j];
    const mu = s / C;
    let v = 0;
    for (let j = 0; j < C; j++) { const t = h[row + j] - mu; v += t * t; }
    const r = 1 / Math.sqrt(v / C + eps);
    h[mo + n] = mu; h[ro + n] = r;
    const out = yo + n * C;
    for (let j = 0; j < C; j++) h[out + j] = (h[row + j] - mu) * r * h[go + j] + h[bo + j];
  }
  return [y, mean, rstd];
}

function layerNormGradKernel({ inputs: { dy, x, g, mean, rstd }, backend }: KArgs<{ dy: TI; x: TI; g: TI; mean: TI; rstd: TI }>): TI[] {
  const be = backendOf(backend);
  const C = x.shape[x.shape.length - 1], N = size(x.shape) / C;
  const dx = be.makeOutput(x.shape, 'float32'), dg = be.makeOutput([C], 'float32'), db = be.makeOutput([C], 'float32');
  const h = f32();
  const xo = at(x), dyo = at(dy), go = at(g), mo = at(mean), ro = at(rstd), dxo = at(dx);
  const accG = new Float64Array(C), accB = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const row = xo + n * C, drow = dyo + n * C, orow = dxo + n * C;
    const mu = h[mo + n], r = h[ro + n];
    let s1 = 0, s2 = 0;
    for (let j = 0; j < C; j++) {
      const xh = (h[row + j] - mu) * r, d = h[drow + j], gd = d * h[go + j];
      s1 += gd; s2 += gd * xh;
      accG[j] += d * xh; accB[j] += d;
    }
    s1 /= C; s2 /= C;
    for (let j = 0; j < C; j++) {
      const xh = (h[row + j] - mu) * r;
      h[orow + j] = r * (h[drow + j] * h[go + j] - s1 - xh * s2);
    }
  }
  const dgo = at(dg), dbo = at(db);
  for (let j = 0; j < C; j++) { h[dgo + j] = accG[j]; h[dbo + j] = accB[j]; }
  return [dx, dg, db];
}

const GELU_C = Math.sqrt(2 / Math.PI), GELU_A = 0.044715;

/**
 * Gradient of tanh-GELU given x and s = σ(2u), u = c(x + a x³) (so tanh u = 2s − 1):
 * gelu = x·s, gelu' = s + x·2s(1−s)·c(1 + 3a x²).
 */
function geluGradKernel({ inputs: { dy, x, s }, backend }: KArgs<{ dy: TI; x: TI; s: TI }>): TI {
  const be = backendOf(backend);
  const n = size(x.shape);
  const dx = be.makeOutput(x.shape, 'float32');
  const h = f32();
  const xo = at(x), so = at(s), dyo = at(dy), o = at(dx);
  const c2 = 2 * GELU_C, c6a = 6 * GELU_C * GELU_A;
  for (let i = 0; i < n; i++) {
    const xv = h[xo + i], sv = h[so + i];
    h[o + i] = h[dyo + i] * (sv + xv * sv * (1 - sv) * (c2 + c6a * xv * xv));
  }
  return dx;
}

/**
 * Softmax cross-entropy: loss = −Σ w_i log softmax(logits_i)[t_i] / max(Σ w, 1). Outputs [loss, probs].
 * Softmax runs through XNNPACK's kernel; the picked log-probabilities are exact even if a
 * probability underflows (that row is redone in float64).
 */
function xentKernel({ inputs: { logits, targets, weights }, backend }: KArgs<{ logits: TI; targets: TI; weights: TI }>): TI[] {
  const be = backendOf(backend);
  const [N, V] = logits.shape;
  const probs = be.makeOutput([N, V], 'float32'), loss = be.makeOutput([], 'float32');
  if (N > 0) {
    const ip = view(at(probs), N * V), il = view(at(logits), N * V);
    be.wasm._Softmax(il, ip, V, N);
    be.wasm.tfjs.disposeData(ip); be.wasm.tfjs.disposeData(il);
  }
  const h = f32(), hi = i32();
  const po = at(probs), lo = at(logits), to = at(targets), wo = at(weights);
  let total = 0, wsum = 0;
  for (let i = 0; i < N; i++) {
    const w = h[wo + i];
    wsum += w;
    if (w === 0) continue;
    const t = hi[to + i];
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
function xentGradKernel({ inputs: { dy, probs, targets, weights }, backend }: KArgs<{ dy: TI; probs: TI; targets: TI; weights: TI }>): TI {
  const be = backendOf(backend);
  const [N, V] = probs.shape;
  const out = be.makeOutput([N, V], 'float32');
  const h = f32(), hi = i32();
  const po = at(probs), to = at(targets), wo = at(weights), o = at(out);
  let wsum = 0;
  for (let i = 0; i < N; i++) wsum += h[wo + i];
  const k = h[at(dy)] / Math.max(wsum, 1);
  for (let i = 0; i < N; i++) {
    const c = h[wo + i] * k, row = i * V;
    if (c === 0) { h.fill(0, o + row, o + row + V); continue; }
    for (let j = 0; j < V; j++) h[o + row + j] = h[po + row + j] * c;
    h[o + row + hi[to + i]] -= c;
  }
  return out;
}

/**
 * Causal multi-head self-attention core. qkv [B·T, 3d] (the c_attn output, q|k|v along columns),
 * attrs {batch, heads}; outputs y [B·T, d] and, for the gradient, q (pre-scaled by 1/√hd), k, v as
 * [B·H, T, hd] and the attention probabilities p [B·H, T, T]. Each head is a 2-D XNNPACK product.
 */
function attentionKernel({ inputs: { qkv }, attrs, backend }: KArgs<{ qkv: TI }>): TI[] {
  const be = backendOf(backend);
  const B = attrs.batch as number, H = attrs.heads as number;
  const T = qkv.shape[0] / B, d3 = qkv.shape[1], d = d3 / 3, hd = d / H, BH = B * H;
  const scale = 1 / Math.sqrt(hd);
  const y = be.makeOutput([B * T, d], 'float32');
  const q = be.makeOutput([BH, T, hd], 'float32'), k = be.makeOutput([BH, T, hd], 'float32'), v = be.makeOutput([BH, T, hd], 'float32');
  const p = be.makeOutput([BH, T, T], 'float32');
  const s = scratch(BH * T * T), kT = scratch(hd * T), yh = scratch(T * hd);
  let h = f32();
  const src = at(qkv), qo = at(q), ko = at(k), vo = at(v), po = at(p), yo = at(y);
  // split heads: [B, T, 3, H, hd] -> 3 × [B, H, T, hd], q scaled
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = src + (b * T + t) * d3;
      for (let hh = 0; hh < H; hh++) {
        const dst = ((b * H + hh) * T + t) * hd, col = row + hh * hd;
        for (let c = 0; c < hd; c++) {
          h[qo + dst + c] = h[col + c] * scale;
          h[ko + dst + c] = h[col + d + c];
          h[vo + dst + c] = h[col + 2 * d + c];
        }
      }
    }
  }
  // scores, causal mask
  for (let bh = 0; bh < BH; bh++) {
    transpose2d(ko + bh * T * hd, kT, T, hd);
    gemm(qo + bh * T * hd, T, hd, kT, T, s + bh * T * T);
  }
  h = f32();
  for (let bh = 0; bh < BH; bh++) {
    const base = s + bh * T * T;
    for (let i = 0; i + 1 < T; i++) h.fill(-1e30, base + i * T + i + 1, base + (i + 1) * T);
  }
  {
    const is = view(s, BH * T * T), ip = view(po, BH * T * T);
    be.wasm._Softmax(is, ip, T, BH * T);
    be.wasm.tfjs.disposeData(is); be.wasm.tfjs.disposeData(ip);
  }
  for (let bh = 0; bh < BH; bh++) {
    gemm(po + bh * T * T, T, T, vo + bh * T * hd, hd, yh);
    h = f32();
    const b = Math.floor(bh / H), hh = bh % H;
    for (let t = 0; t < T; t++) {
      const dst = yo + (b * T + t) * d + hh * hd, from = yh + t * hd;
      for (let c = 0; c < hd; c++) h[dst + c] = h[from + c];
    }
  }
  release(s); release(kT); release(yh);
  return [y, q, k, v, p];
}

function attentionGradKernel({ inputs: { dy, y, q, k, v, p }, attrs, backend }: KArgs<{ dy: TI; y: TI; q: TI; k: TI; v: TI; p: TI }>): TI {
  const be = backendOf(backend);
  const B = attrs.batch as number, H = attrs.heads as number;
  const [BH, T, hd] = q.shape;
  const d = H * hd, d3 = 3 * d;
  const scale = 1 / Math.sqrt(hd);
  const dqkv = be.makeOutput([B * T, d3], 'float32');
  const dyh = scratch(T * hd), vT = scratch(hd * T), dP = scratch(T * T), tT = scratch(T * T);
  const dq = scratch(T * hd), dk = scratch(T * hd), dv = scratch(T * hd), D = scratch(T);
  const dyo = at(dy), yo = at(y), qo = at(q), ko = at(k), vo = at(v), po = at(p), out = at(dqkv);
  for (let bh = 0; bh < BH; bh++) {
    const b = Math.floor(bh / H), hh = bh % H;
    const qh = qo + bh * T * hd, kh = ko + bh * T * hd, vh = vo + bh * T * hd, ph = po + bh * T * T;
    let h = f32();
    // gather this head's dy, and D_t = dy_t · y_t (= Σ_j dP_tj P_tj, the softmax-backward row term)
    for (let t = 0; t < T; t++) {
      const r = (b * T + t) * d + hh * hd;
      let acc = 0;
      for (let c = 0; c < hd; c++) {
        const g = h[dyo + r + c];
        h[dyh + t * hd + c] = g;
        acc += g * h[yo + r + c];
      }
      h[D + t] = acc;
    }
    transpose2d(vh, vT, T, hd);
    gemm(dyh, T, hd, vT, T, dP); // dP = dy·vᵀ
    transpose2d(ph, tT, T, T);
    gemm(tT, T, T, dyh, hd, dv); // dv = pᵀ·dy
    h = f32();
    // dS = p ⊙ (dP − D), causal: zero above the diagonal
    for (let i = 0; i < T; i++) {
      const row = i * T, Di = h[D + i];
      for (let j = 0; j <= i; j++) h[dP + row + j] = h[ph + row + j] * (h[dP + row + j] - Di);
      h.fill(0, dP + row + i + 1, dP + row + T);
    }
    gemm(dP, T, T, kh, hd, dq); // dq_scaled = dS·k
    transpose2d(dP, tT, T, T);
    gemm(tT, T, T, qh, hd, dk); // dk = dSᵀ·q_scaled
    h = f32();
    for (let t = 0; t < T; t++) {
      const r = out + (b * T + t) * d3 + hh * hd, o = t * hd;
      for (let c = 0; c < hd; c++) {
        h[r + c] = h[dq + o + c] * scale;
        h[r + d + c] = h[dk + o + c];
        h[r + 2 * d + c] = h[dv + o + c];
      }
    }
  }
  for (const w of [dyh, vT, dP, tT, dq, dk, dv, D]) release(w);
  return dqkv;
}

// ---------------------------------------------------------------------------------------------
// Fused ops (public). On the wasm backend with the kernels registered they run the kernels above;
// elsewhere (e.g. the cpu backend, used as the reference in tests) they compose standard tf ops.
// ---------------------------------------------------------------------------------------------

function fast(): boolean {
  return registered && tf.getBackend() === 'wasm';
}
type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
/** tf.customGrad with the inputs as an array (tf's own typing mixes inputs and the save function). */
function customOp(fn: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFn }): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return fn(args as tf.Tensor[], save);
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (...inputs: tf.Tensor[]) => tf.Tensor;
}
function run(name: string, inputs: Record<string, tf.Tensor>, attrs: NamedAttrs = {}): tf.Tensor[] {
  const r = tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as never);
  return Array.isArray(r) ? (r as tf.Tensor[]) : [r as tf.Tensor];
}

/** Reference layer norm over the last axis, from standard ops. */
export function layerNormRef(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(g).add(b) as tf.Tensor2D;
}
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  if (!fast()) return layerNormRef(x, g, b, eps);
  const f = customOp(([xx, gg, bb], save) => {
    const [y, mean, rstd] = run('DramatisLayerNorm', { x: xx, g: gg, b: bb }, { eps });
    save([xx, gg, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sm, sr] = saved;
        return run('DramatisLayerNormGrad', { dy, x: sx, g: sg, mean: sm, rstd: sr });
      },
    };
  });
  return f(x, g, b) as tf.Tensor2D;
}

/** Reference tanh-GELU (GPT-2's) from standard ops. */
export function geluRef(x: tf.Tensor): tf.Tensor {
  const u = x.add(x.mul(x).mul(x).mul(GELU_A)).mul(GELU_C);
  return x.mul(tf.tanh(u).add(1)).mul(0.5);
}
/** tanh-GELU as x·σ(2u): forward through wasm's (XNNPACK) sigmoid, backward one fused pass. */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (!fast()) return geluRef(x);
  const f = customOp(([xx], save) => {
    const s = tf.sigmoid(xx.mul(xx.square().mul(2 * GELU_C * GELU_A).add(2 * GELU_C)));
    save([xx, s]);
    return {
      value: xx.mul(s),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run('DramatisGeluGrad', { dy, x: saved[0], s: saved[1] }),
    };
  });
  return f(x);
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
        return [run('DramatisSoftmaxXentGrad', { dy, probs: sp, targets: st, weights: sw })[0], tf.zerosLike(st), tf.zerosLike(sw)];
      },
    };
  });
  const out = f(logits, t, w) as tf.Scalar;
  if (t !== targets) t.dispose();
  if (w !== weights) w.dispose();
  return out;
}

const maskCache = new Map<number, tf.Tensor2D>();
/** Additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above; kept for the process. */
function causalMask(T: number): tf.Tensor2D {
  let m = maskCache.get(T);
  if (!m || m.isDisposed) {
    const data = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(data, [T, T]));
    maskCache.set(T, m);
  }
  return m;
}

/** Reference causal self-attention from standard ops: qkv [B·T, 3d] → y [B·T, d]. */
export function causalSelfAttentionRef(qkv: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D {
  const B = batch, H = heads, T = qkv.shape[0] / B, d = qkv.shape[1] / 3, hd = d / H;
  const [q, k, v] = tf.split(qkv, 3, 1).map((t) => t.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]).reshape([B * H, T, hd]) as tf.Tensor3D);
  const att = tf.softmax(tf.matMul(q.mul(1 / Math.sqrt(hd)), k, false, true).add(causalMask(T)), -1) as tf.Tensor3D;
  return tf.matMul(att, v).reshape([B, H, T, hd]).transpose([0, 2, 1, 3]).reshape([B * T, d]) as tf.Tensor2D;
}
export function causalSelfAttention(qkv: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D {
  if (!fast()) return causalSelfAttentionRef(qkv, batch, heads);
  const attrs = { batch, heads };
  const f = customOp(([x], save) => {
    const [y, q, k, v, p] = run('DramatisAttention', { qkv: x }, attrs);
    save([y, q, k, v, p]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sy, sq, sk, sv, sp] = saved;
        return run('DramatisAttentionGrad', { dy, y: sy, q: sq, k: sk, v: sv, p: sp }, attrs);
      },
    };
  });
  return f(qkv) as tf.Tensor2D;
}

let registered = false;

/** Install the overrides on the wasm backend (idempotent; call after tf.setBackend('wasm')). */
export function registerFastKernels(): void {
  if (registered) return;
  registered = true;
  const override = (kernelName: string, make: (fallback: tf.KernelFunc) => tf.KernelFunc) => {
    const old = tf.getKernel(kernelName, 'wasm');
    const fallback: tf.KernelFunc = old ? old.kernelFunc : () => { throw new Error(`no wasm ${kernelName}`); };
    if (old) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: make(fallback) });
  };
  override('BatchMatMul', (fb) => (a) => matMulKernel(a as unknown as MatMulArgs, fb));
  override('_FusedMatMul', (fb) => (a) => matMulKernel(a as unknown as MatMulArgs, fb));
  override('Transpose', (fb) => (a) => transposeKernel(a as never, fb));
  override('Slice', (fb) => (a) => sliceKernel(a as never, fb));
  override('Sum', (fb) => (a) => sumKernel(a as never, fb));
  override('GatherV2', (fb) => (a) => gatherKernel(a as never, fb));
  override('Identity', (fb) => (a) => identityKernel(a as never, fb));
  override('UnsortedSegmentSum', () => (a) => unsortedSegmentSumKernel(a as never));
  const add = (kernelName: string, kernelFunc: (a: never) => TI | TI[]) =>
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  add('DramatisLayerNorm', layerNormKernel);
  add('DramatisLayerNormGrad', layerNormGradKernel);
  add('DramatisGeluGrad', geluGradKernel);
  add('DramatisSoftmaxXent', xentKernel);
  add('DramatisSoftmaxXentGrad', xentGradKernel);
  add('DramatisAttention', attentionKernel);
  add('DramatisAttentionGrad', attentionGradKernel);
}
