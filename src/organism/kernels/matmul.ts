/**
 * Matrix products on XNNPACK: the BatchMatMul and _FusedMatMul overrides, and the 2-D products the
 * attention kernels are built from. (A matmul's backward is matmuls with transpose flags, which is
 * why the flags matter: the stock kernel sends every transposed or batched product to a naive loop.)
 *
 * Every product becomes calls of the backend's exported XNNPACK entry points on heap views (see
 * `view` in state.ts); `matmul2d` picks, per call, whether to transpose an operand or the output.
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, currentWasm, f32, i32, kernelState, release, scratch, size, view, type NamedAttrs, type TI } from './state.ts';
import { transpose2d } from './data-movement.ts';

/**
 * out[M,N] = a[M,K] · b[K,N] (+ bias[N]) through XNNPACK's fully-connected operator, all operands
 * given as word offsets into the heap. May grow the heap.
 */
export function gemm(a: number, M: number, K: number, b: number, N: number, out: number, bias = -1): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    const h = f32();
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) h[out + i * N + j] = bias >= 0 ? h[bias + j] : 0;
    return;
  }
  const W = currentWasm(),
    shapeScratch = kernelState.shapeScratch;
  const ia = view(a, M * K),
    ib = view(b, K * N),
    io = view(out, M * N);
  const I = i32(),
    s = shapeScratch >>> 2;
  I[s] = 1;
  I[s + 1] = M;
  I[s + 2] = K;
  I[s + 3] = 1;
  I[s + 4] = K;
  I[s + 5] = N;
  if (bias < 0) {
    W._BatchMatMul(ia, shapeScratch, 3, ib, shapeScratch + 12, 3, 0, 0, io);
  } else {
    const ibias = view(bias, N);
    W.__FusedMatMul(ia, shapeScratch, 3, ib, shapeScratch + 12, 3, 0, 0, 0 /* linear */, ibias, 0, 0, io);
    W.tfjs.disposeData(ibias);
  }
  // Disposing B's id also deletes XNNPACK's operator cached for it.
  W.tfjs.disposeData(ia);
  W.tfjs.disposeData(ib);
  W.tfjs.disposeData(io);
}

// Measured costs in ns per element moved: our SIMD transpose (1.1 for large matrices, 0.3 for small),
// and XNNPACK packing its B operand (it packs B, with a transposition, every time an operator is
// created, i.e. on every call here).
const T_NS = 1.0,
  PACK_NS = 3.6;

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
    let aa = a,
      bb = b;
    if (tA) {
      aa = scratch(M * K);
      transpose2d(a, aa, K, M);
    }
    if (tB) {
      bb = scratch(K * N);
      transpose2d(b, bb, N, K);
    }
    gemm(aa, M, K, bb, N, out, bias);
    if (tA) release(aa);
    if (tB) release(bb);
    return;
  }
  let aa = b,
    bb = a;
  if (!tB) {
    aa = scratch(K * N);
    transpose2d(b, aa, K, N);
  }
  if (!tA) {
    bb = scratch(M * K);
    transpose2d(a, bb, M, K);
  }
  const oT = scratch(M * N);
  gemm(aa, N, K, bb, M, oT);
  transpose2d(oT, out, N, M);
  release(oT);
  if (!tB) release(aa);
  if (!tA) release(bb);
}

export interface MatMulArgs {
  inputs: { a: TI; b: TI; bias?: TI; preluActivationWeights?: TI };
  attrs: NamedAttrs;
  backend: unknown;
}

export function matMulKernel(args: MatMulArgs, fallback: tf.KernelFunc): TI {
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const tA = !!args.attrs.transposeA,
    tB = !!args.attrs.transposeB;
  const activation = (args.attrs.activation as string | undefined) ?? 'linear';
  const aR = a.shape.length,
    bR = b.shape.length;
  const M = tA ? a.shape[aR - 1] : a.shape[aR - 2],
    K = tA ? a.shape[aR - 2] : a.shape[aR - 1];
  const Kb = tB ? b.shape[bR - 1] : b.shape[bR - 2],
    N = tB ? b.shape[bR - 2] : b.shape[bR - 1];
  const batchA = size(a.shape.slice(0, -2)),
    batchB = size(b.shape.slice(0, -2));
  const plain =
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    activation === 'linear' &&
    !preluActivationWeights &&
    (!bias || (bias.shape.length === 1 && bias.shape[0] === N) || size(bias.shape) === 1) &&
    K === Kb &&
    (batchA === batchB || batchA === 1 || batchB === 1);
  if (!plain) return fallback(args as never) as TI;
  const be = backendOf(args.backend);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = be.makeOutput([...outBatch, M, N], 'float32');
  let biasAt = -1;
  let biasTmp = -1;
  if (bias) {
    if (bias.shape.length === 1 && bias.shape[0] === N) biasAt = at(bias);
    else {
      biasTmp = biasAt = scratch(N);
      const h = f32();
      h.fill(h[at(bias)], biasAt, biasAt + N);
    }
  }
  const ao = at(a),
    bo = at(b),
    oo = at(out);
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
