/**
 * Kernel overrides and additions for the tfjs wasm backend (tfjs-backend-wasm 4.22, single-threaded).
 * This file is the entry point; the kernels live in ./kernels/, one file per op family, each
 * forward next to its backward.
 *
 * Why by hand. The wasm backend routes only a plain 2-D matMul (no transpose flags, batch 1) to
 * XNNPACK's fast GEMM (15–25 GFLOP/s here); every transposed or batched product falls to a naive
 * loop (1–2.5 GFLOP/s), and backprop is made of exactly those. Its Transpose kernel runs at ~5 ns per
 * element (75 ms for the 5-D attention head split), Sum over leading axes transposes first, Slice
 * copies the whole input, Identity (used by tf to save tensors for backprop) copies, Gather is slow,
 * and there is no UnsortedSegmentSum at all, so an embedding gather cannot be trained. No library
 * provides these for the tfjs wasm backend (tfjs-node cannot be installed here), hence these files.
 *
 * How.
 * - Every matrix product is reduced to calls of the backend's own exported XNNPACK entry point
 *   (`_BatchMatMul` / `__FusedMatMul` of the wasm module) on *views*: we register temporary tensor
 *   ids that point into the heap (an operand, one attention head and row block, a slice of the
 *   output) and dispose them right after the call. Transposes XNNPACK cannot absorb are made explicit
 *   on the cheaper side (counting XNNPACK's packing of its B operand, which it redoes on every call).
 * - XNNPACK caches its prepared (packed) operator by B's tensor id. Each view id is fresh and is
 *   disposed (which deletes the cached operator) right after its call, so a tensor reshaped
 *   differently can never pick up a stale operator here.
 * - Fused kernels under new names (Dramatis*) give layer norm, GELU, softmax cross-entropy and causal
 *   self-attention one pass forward and one backward; each family's public op wraps them with
 *   tf.customGrad, and falls back to compositions of standard ops on other backends.
 * - Element-wise and data-movement loops run in a small raw-wasm SIMD module (WebAssembly text assembled by wabt),
 *   instantiated on the backend's own memory (see kernels/simd.ts for why).
 *
 * Layout of ./kernels/:
 * - state.ts          the state shared by all kernels (backend, heap views, SIMD instance) and heap access
 * - wat.ts            helpers for writing WebAssembly text, and the module text assembly
 * - simd.ts           the SIMD module: its exports' signatures, assembly with wabt, instantiation
 * - custom-op.ts      how the public fused ops run their kernels under tf.customGrad
 * - matmul.ts         BatchMatMul / _FusedMatMul on XNNPACK (its backward is matmuls too)
 * - data-movement.ts  Transpose (and the SIMD transpose), Slice, Identity
 * - sum.ts            Sum over leading axes (the gradient of a broadcast bias or gain)
 * - embedding.ts      GatherV2 (embedding lookup) and UnsortedSegmentSum (its gradient)
 * - layer-norm.ts, gelu.ts, softmax-xent.ts, attention.ts   the fused ops, forward and backward
 * - adamw.ts          the optimizer step of one parameter (gradient clip, moments, decoupled decay) in one pass
 * - register.ts       registerFastKernels: assembles the SIMD module and installs every kernel
 *
 * Every override and fused kernel is checked against the cpu backend / the composite reference on
 * random inputs in test/organism/model.test.ts, and the model's gradient against finite differences.
 */
export { layerNorm, layerNormRef } from './kernels/layer-norm.ts';
export { gelu, geluRef } from './kernels/gelu.ts';
export { softmaxCrossEntropy, softmaxCrossEntropyRef } from './kernels/softmax-xent.ts';
export { causalSelfAttention, causalSelfAttentionRef } from './kernels/attention.ts';
export { registerFastKernels } from './kernels/register.ts';
export { simdModuleText } from './kernels/wat.ts';
