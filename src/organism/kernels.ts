/**
 * Kernel overrides and additions for the tfjs wasm backend (tfjs-backend-wasm 4.22, single-threaded).
 *
 * Why by hand. The wasm backend routes only a plain 2-D matMul (no transpose flags, batch 1) to
 * XNNPACK's fast GEMM (15–25 GFLOP/s here); every transposed or batched product falls to a naive
 * loop (1–2.5 GFLOP/s), and backprop is made of exactly those. Its Transpose kernel runs at ~5 ns per
 * element (75 ms for the 5-D attention head split), Sum over leading axes transposes first, Slice
 * copies the whole input, Identity (used by tf to save tensors for backprop) copies, Gather is slow,
 * and there is no UnsortedSegmentSum at all, so an embedding gather cannot be trained. No library
 * provides these for the tfjs wasm backend (tfjs-node cannot be installed here), hence this file.
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
 *   self-attention one pass forward and one backward; the public ops at the end wrap them with
 *   tf.customGrad, and fall back to compositions of standard ops on other backends.
 * - Element-wise and data-movement loops run in a small raw-wasm SIMD module (WebAssembly text assembled by wabt),
 *   instantiated on the backend's own memory (see "SIMD helper kernels" for why).
 *
 * Every override and fused kernel is checked against the cpu backend / the composite reference on
 * random inputs in test/organism/model.test.ts, and the model's gradient against finite differences.
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
  const p = wb!.wasm._malloc(Math.max(4, words * 4)) >>> 0;
  if (p === 0) throw new Error(`wasm backend: out of memory allocating ${words * 4} bytes of scratch`);
  return p >>> 2;
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
  simd().transpose(src << 2, C, dst << 2, R, R, C);
}
/** dst[c·dstStride + r] = src[r·srcStride + c] for r < R, c < C (word offsets). */
function transposeStrided(src: number, srcStride: number, dst: number, dstStride: number, R: number, C: number): void {
  simd().transpose(src << 2, srcStride, dst << 2, dstStride, R, C);
}

// Measured costs in ns per element moved: our SIMD transpose (1.1 for large matrices, 0.3 for small),
// and XNNPACK packing its B operand (it packs B, with a transposition, every time an operator is
// created, i.e. on every call here).
const T_NS = 1.0, PACK_NS = 3.6;

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
// SIMD helper kernels (raw WebAssembly on tfjs's own heap)
//
// Why by hand: JS loops over the heap run at 2–5 ns per element here, wasm SIMD at 0.2–0.5, and tfjs
// has no fused kernels for these (layer norm forward and backward, GELU forward (with its own
// vector exp) and backward, the softmax-cross-entropy gradient, strided head split/merge, the
// attention softmax backward, column sums, strided transposes; its Transpose kernel runs at ~5 ns
// per element). No npm library provides wasm kernels that work on
// tfjs-backend-wasm's memory, so we write a few in WebAssembly text, assembled by wabt and
// instantiated against the backend's exported
// WebAssembly.Memory so the kernels read and write tensors in place. Every one is covered by the
// wasm-vs-cpu tests through the kernels and ops that use it.
// ---------------------------------------------------------------------------------------------

interface WasmFn { name: string; params: string; locals?: string; body: string }

/** `a:i32 b:f32` → `(param $a i32) (param $b f32)` (or `local`). */
function declsWat(kind: 'param' | 'local', s: string | undefined): string {
  return (s ?? '').trim().split(/\s+/).filter(Boolean).map((d) => { const [n, t] = d.split(':'); return `(${kind} $${n} ${t})`; }).join(' ');
}

/** The kernels as one WebAssembly text module importing tfjs's memory as `env.memory`. */
export function simdModuleText(fns: WasmFn[]): string {
  const funcs = fns.map((f) => {
    // Bodies name locals bare (`local.get x`) for readability; the text format wants `$x`.
    const body = f.body.replace(/\b(local\.(?:get|set|tee))\s+([A-Za-z_]\w*)/g, '$1 $$$2');
    return `(func $${f.name} (export "${f.name}") ${declsWat('param', f.params)} ${declsWat('local', f.locals)}\n${body})`;
  });
  return `(module (import "env" "memory" (memory 1))\n${funcs.join('\n')})`;
}

let simdBinary: Uint8Array | undefined;
/** Assemble the kernels' text with wabt (the WebAssembly Binary Toolkit); done once, at start-up. */
async function buildSimdBinary(): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat('dramatis-kernels.wat', simdModuleText(SIMD_KERNELS), { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

// ---- kernels ----
const LO = '0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23', HI = '8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31';
const LO8 = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23', HI8 = '8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31';
/** `for (v = from; v < to; v += step) { body }` */
const forLoop = (v: string, from: string, to: string, step: number, body: string) => `
  ${from} local.set ${v}
  block loop
    local.get ${v} ${to} i32.ge_s br_if 1
    ${body}
    local.get ${v} i32.const ${step} i32.add local.set ${v}
    br 0
  end end`;

const SIMD_KERNELS: WasmFn[] = [
  {
    // dst[c*ds + r] = src[r*ss + c] (pointers in bytes, strides in elements); 4×4 blocks via shuffles.
    name: 'transpose',
    params: 'src:i32 ss:i32 dst:i32 ds:i32 R:i32 C:i32',
    locals: 'r:i32 c:i32 r0:i32 r1:i32 c0:i32 c1:i32 k:i32 R4:i32 C4:i32 sp:i32 dp:i32 t0:v128 t1:v128 t2:v128 t3:v128',
    body: `
      local.get ss i32.const 2 i32.shl local.set ss
      local.get ds i32.const 2 i32.shl local.set ds
      local.get R i32.const -4 i32.and local.set R4
      local.get C i32.const -4 i32.and local.set C4
      ;; column tiles of 64 keep the written lines of dst in L1 while the rows stream by
      ${forLoop('r0', 'i32.const 0', 'local.get R4', 32, `
      local.get r0 i32.const 32 i32.add local.tee r1 local.get R4 i32.gt_s if local.get R4 local.set r1 end
      ${forLoop('c0', 'i32.const 0', 'local.get C4', 32, `
        local.get c0 i32.const 32 i32.add local.tee c1 local.get C4 i32.gt_s if local.get C4 local.set c1 end
        ${forLoop('r', 'local.get r0', 'local.get r1', 4, `
        ${forLoop('c', 'local.get c0', 'local.get c1', 4, `
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
          local.get dp local.get ds i32.add local.get t1 local.get t3 i8x16.shuffle ${HI8} v128.store`)}`)}`)}`)}
      ${forLoop('r', 'i32.const 0', 'local.get R4', 4, `
        ${forLoop('c', 'local.get C4', 'local.get C', 1, `
          ${forLoop('k', 'i32.const 0', 'i32.const 4', 1, `
            local.get dst local.get c local.get ds i32.mul i32.add local.get r local.get k i32.add i32.const 2 i32.shl i32.add
            local.get src local.get r local.get k i32.add local.get ss i32.mul i32.add local.get c i32.const 2 i32.shl i32.add i32.load
            i32.store`)}`)}`)}
      ${forLoop('r', 'local.get R4', 'local.get R', 1, `
        ${forLoop('c', 'i32.const 0', 'local.get C', 1, `
          local.get dst local.get c local.get ds i32.mul i32.add local.get r i32.const 2 i32.shl i32.add
          local.get src local.get r local.get ss i32.mul i32.add local.get c i32.const 2 i32.shl i32.add i32.load
          i32.store`)}`)}`,
  },
];

const hsum = (v: string) => `local.get ${v} f32x4.extract_lane 0 local.get ${v} f32x4.extract_lane 1 f32.add local.get ${v} f32x4.extract_lane 2 f32.add local.get ${v} f32x4.extract_lane 3 f32.add`;
/** address of element `i` (an i32 local, in elements) of array `p` (a byte pointer local) */
const el = (p: string, i: string) => `local.get ${p} local.get ${i} i32.const 2 i32.shl i32.add`;

/** dst[j] += src[j] for j < C: SIMD over the first C4 (= C rounded down to 4), then the tail; uses local j. */
const addRowInto = (dst: string, src: string) =>
  `${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el(dst, 'j')} ${el(dst, 'j')} v128.load ${el(src, 'j')} v128.load f32x4.add v128.store`)}
   ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el(dst, 'j')} ${el(dst, 'j')} f32.load ${el(src, 'j')} f32.load f32.add f32.store`)}`;

/**
 * exp of the v128 local `z` (clobbered, as are n and r), left on the stack: Cephes-style
 * exp(z) = 2^n · e^r with n = round(z·log2 e), r = z − n·ln 2 (ln 2 split in two), e^r by a
 * degree-6 Taylor polynomial (|r| ≤ 0.35: relative error < 2e-7), 2^n added to the exponent bits.
 */
const expv = (z: string, n: string, r: string) => `
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

SIMD_KERNELS.push(
  {
    // tanh-GELU forward as y = x·s, s = σ(2u) = 1 / (1 + exp(−x(c2 + c2a x²))); writes y and s.
    // Vectors of 4; the tail (n % 4) is recomputed as the last full vector, or lane by lane if n < 4.
    name: 'gelu',
    params: 'x:i32 y:i32 s:i32 n:i32 c2:f32 c2a:f32',
    locals: 'i:i32 last:i32 vx:v128 z:v128 vn:v128 vr:v128 vs:v128 one:v128 tx:f32',
    body: `
      f32.const 1 f32x4.splat local.set one
      local.get n i32.const 4 i32.sub local.set last
      ${forLoop('i', 'i32.const 0', 'local.get n', 4, `
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
        end`)}`,
  },
  {
    // y = (x - mean) * rstd * g + b per row of [N, C]; writes mean and rstd [N].
    name: 'layernorm',
    params: 'x:i32 g:i32 b:i32 y:i32 mean:i32 rstd:i32 N:i32 C:i32 eps:f32',
    locals: 'n:i32 j:i32 C4:i32 acc:v128 mu:f32 r:f32 t:f32 vmu:v128 vr:v128 s:f32',
    body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop('n', 'i32.const 0', 'local.get N', 1, `
        f32.const 0 f32x4.splat local.set acc
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `local.get acc ${el('x', 'j')} v128.load f32x4.add local.set acc`)}
        ${hsum('acc')} local.set s
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `local.get s ${el('x', 'j')} f32.load f32.add local.set s`)}
        local.get s local.get C f32.convert_i32_s f32.div local.tee mu f32x4.splat local.set vmu
        f32.const 0 f32x4.splat local.set acc
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el('x', 'j')} v128.load local.get vmu f32x4.sub local.tee vr local.get vr f32x4.mul local.get acc f32x4.add local.set acc`)}
        ${hsum('acc')} local.set s
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el('x', 'j')} f32.load local.get mu f32.sub local.tee t local.get t f32.mul local.get s f32.add local.set s`)}
        f32.const 1 local.get s local.get C f32.convert_i32_s f32.div local.get eps f32.add f32.sqrt f32.div local.tee r f32x4.splat local.set vr
        local.get mean local.get mu f32.store
        local.get rstd local.get r f32.store
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el('y', 'j')} ${el('x', 'j')} v128.load local.get vmu f32x4.sub local.get vr f32x4.mul ${el('g', 'j')} v128.load f32x4.mul ${el('b', 'j')} v128.load f32x4.add v128.store`)}
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el('y', 'j')} ${el('x', 'j')} f32.load local.get mu f32.sub local.get r f32.mul ${el('g', 'j')} f32.load f32.mul ${el('b', 'j')} f32.load f32.add f32.store`)}
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x
        local.get y local.get C i32.const 2 i32.shl i32.add local.set y
        local.get mean i32.const 4 i32.add local.set mean
        local.get rstd i32.const 4 i32.add local.set rstd`)}`,
  },
  {
    // dx = rstd (dy g - mean_j(dy g) - xhat mean_j(dy g xhat)); dg = Σ_n dy xhat; db = Σ_n dy.
    name: 'layernorm_grad',
    params: 'dy:i32 x:i32 g:i32 mean:i32 rstd:i32 dx:i32 dg:i32 db:i32 N:i32 C:i32',
    locals: 'n:i32 j:i32 C4:i32 vmu:v128 vr:v128 xh:v128 d:v128 gd:v128 a1:v128 a2:v128 s1:f32 s2:f32 mu:f32 r:f32 txh:f32 td:f32 tgd:f32 invC:f32',
    body: `
      local.get C i32.const -4 i32.and local.set C4
      f32.const 1 local.get C f32.convert_i32_s f32.div local.set invC
      ${forLoop('j', 'i32.const 0', 'local.get C', 1, `${el('dg', 'j')} f32.const 0 f32.store ${el('db', 'j')} f32.const 0 f32.store`)}
      ${forLoop('n', 'i32.const 0', 'local.get N', 1, `
        local.get mean f32.load local.tee mu f32x4.splat local.set vmu
        local.get rstd f32.load local.tee r f32x4.splat local.set vr
        f32.const 0 f32x4.splat local.tee a1 local.set a2
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `
          ${el('x', 'j')} v128.load local.get vmu f32x4.sub local.get vr f32x4.mul local.set xh
          ${el('dy', 'j')} v128.load local.tee d ${el('g', 'j')} v128.load f32x4.mul local.set gd
          local.get a1 local.get gd f32x4.add local.set a1
          local.get a2 local.get gd local.get xh f32x4.mul f32x4.add local.set a2
          ${el('dg', 'j')} ${el('dg', 'j')} v128.load local.get d local.get xh f32x4.mul f32x4.add v128.store
          ${el('db', 'j')} ${el('db', 'j')} v128.load local.get d f32x4.add v128.store`)}
        ${hsum('a1')} local.set s1
        ${hsum('a2')} local.set s2
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `
          ${el('x', 'j')} f32.load local.get mu f32.sub local.get r f32.mul local.set txh
          ${el('dy', 'j')} f32.load local.tee td ${el('g', 'j')} f32.load f32.mul local.set tgd
          local.get s1 local.get tgd f32.add local.set s1
          local.get s2 local.get tgd local.get txh f32.mul f32.add local.set s2
          ${el('dg', 'j')} ${el('dg', 'j')} f32.load local.get td local.get txh f32.mul f32.add f32.store
          ${el('db', 'j')} ${el('db', 'j')} f32.load local.get td f32.add f32.store`)}
        local.get s1 local.get invC f32.mul local.tee s1 f32x4.splat local.set a1
        local.get s2 local.get invC f32.mul local.tee s2 f32x4.splat local.set a2
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `
          ${el('dx', 'j')}
          ${el('dy', 'j')} v128.load ${el('g', 'j')} v128.load f32x4.mul local.get a1 f32x4.sub
          ${el('x', 'j')} v128.load local.get vmu f32x4.sub local.get vr f32x4.mul local.get a2 f32x4.mul f32x4.sub
          local.get vr f32x4.mul v128.store`)}
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `
          ${el('dx', 'j')}
          ${el('dy', 'j')} f32.load ${el('g', 'j')} f32.load f32.mul local.get s1 f32.sub
          ${el('x', 'j')} f32.load local.get mu f32.sub local.get r f32.mul local.get s2 f32.mul f32.sub
          local.get r f32.mul f32.store`)}
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x
        local.get dy local.get C i32.const 2 i32.shl i32.add local.set dy
        local.get dx local.get C i32.const 2 i32.shl i32.add local.set dx
        local.get mean i32.const 4 i32.add local.set mean
        local.get rstd i32.const 4 i32.add local.set rstd`)}`,
  },
  {
    // out = dy (s + x·s(1−s)·(c2 + c6a x²)): the tanh-GELU derivative with s = σ(2u).
    name: 'gelu_grad',
    params: 'dy:i32 x:i32 s:i32 out:i32 n:i32 c2:f32 c6a:f32',
    locals: 'i:i32 n4:i32 vx:v128 vs:v128 vc2:v128 vc6:v128 one:v128 tx:f32 ts:f32',
    body: `
      local.get n i32.const -4 i32.and local.set n4
      local.get c2 f32x4.splat local.set vc2
      local.get c6a f32x4.splat local.set vc6
      f32.const 1 f32x4.splat local.set one
      ${forLoop('i', 'i32.const 0', 'local.get n4', 4, `
        ${el('x', 'i')} v128.load local.set vx
        ${el('s', 'i')} v128.load local.set vs
        ${el('out', 'i')}
        ${el('dy', 'i')} v128.load
        local.get vs
        local.get vx local.get vs f32x4.mul local.get one local.get vs f32x4.sub f32x4.mul
        local.get vc2 local.get vc6 local.get vx f32x4.mul local.get vx f32x4.mul f32x4.add f32x4.mul
        f32x4.add f32x4.mul v128.store`)}
      ${forLoop('i', 'local.get n4', 'local.get n', 1, `
        ${el('x', 'i')} f32.load local.set tx
        ${el('s', 'i')} f32.load local.set ts
        ${el('out', 'i')}
        ${el('dy', 'i')} f32.load
        local.get ts
        local.get tx local.get ts f32.mul f32.const 1 local.get ts f32.sub f32.mul
        local.get c2 local.get c6a local.get tx f32.mul local.get tx f32.mul f32.add f32.mul
        f32.add f32.mul f32.store`)}`,
  },
  {
    // out[i, :] = probs[i, :] · c_i with c_i = w_i·k, then out[i, t_i] −= c_i.
    name: 'xent_grad',
    params: 'p:i32 t:i32 w:i32 out:i32 N:i32 V:i32 k:f32',
    locals: 'i:i32 j:i32 V4:i32 c:f32 vc:v128',
    body: `
      local.get V i32.const -4 i32.and local.set V4
      ${forLoop('i', 'i32.const 0', 'local.get N', 1, `
        ${el('w', 'i')} f32.load local.get k f32.mul local.tee c f32x4.splat local.set vc
        ${forLoop('j', 'i32.const 0', 'local.get V4', 4, `${el('out', 'j')} ${el('p', 'j')} v128.load local.get vc f32x4.mul v128.store`)}
        ${forLoop('j', 'local.get V4', 'local.get V', 1, `${el('out', 'j')} ${el('p', 'j')} f32.load local.get c f32.mul f32.store`)}
        ${el('t', 'i')} i32.load local.set j
        ${el('out', 'j')} ${el('out', 'j')} f32.load local.get c f32.sub f32.store
        local.get p local.get V i32.const 2 i32.shl i32.add local.set p
        local.get out local.get V i32.const 2 i32.shl i32.add local.set out`)}`,
  },
  {
    // out[ids[r], :] += x[r, :] for rows with 0 <= ids[r] < S (out is zeroed first): gather's gradient.
    name: 'scatter_add_rows',
    params: 'x:i32 ids:i32 out:i32 R:i32 C:i32 S:i32',
    locals: 'r:i32 j:i32 C4:i32 id:i32 o:i32',
    body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop('j', 'i32.const 0', 'local.get S local.get C i32.mul', 1, `${el('out', 'j')} f32.const 0 f32.store`)}
      ${forLoop('r', 'i32.const 0', 'local.get R', 1, `
        ${el('ids', 'r')} i32.load local.tee id i32.const 0 i32.ge_s local.get id local.get S i32.lt_s i32.and if
          local.get out local.get id local.get C i32.mul i32.const 2 i32.shl i32.add local.set o
          ${addRowInto('o', 'x')}
        end
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x`)}`,
  },
  {
    // out[j] = Σ_i x[i, j] over a row-major [R, C].
    name: 'col_sums',
    params: 'x:i32 R:i32 C:i32 out:i32',
    locals: 'i:i32 j:i32 C4:i32',
    body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop('j', 'i32.const 0', 'local.get C', 1, `${el('out', 'j')} f32.const 0 f32.store`)}
      ${forLoop('i', 'i32.const 0', 'local.get R', 1, `
        ${addRowInto('out', 'x')}
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x`)}`,
  },
  {
    // dst[r·ds + c] = src[r·ss + c] · scale for r < R, c < C (strides in elements).
    name: 'copy2d',
    params: 'src:i32 ss:i32 dst:i32 ds:i32 R:i32 C:i32 scale:f32',
    locals: 'r:i32 j:i32 C4:i32 vs:v128',
    body: `
      local.get C i32.const -4 i32.and local.set C4
      local.get scale f32x4.splat local.set vs
      ${forLoop('r', 'i32.const 0', 'local.get R', 1, `
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el('dst', 'j')} ${el('src', 'j')} v128.load local.get vs f32x4.mul v128.store`)}
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el('dst', 'j')} ${el('src', 'j')} f32.load local.get scale f32.mul f32.store`)}
        local.get src local.get ss i32.const 2 i32.shl i32.add local.set src
        local.get dst local.get ds i32.const 2 i32.shl i32.add local.set dst`)}`,
  },
  {
    // out[r] = Σ_c a[r·as + c] · b[r·bs + c]
    name: 'row_dots',
    params: 'a:i32 as:i32 b:i32 bs:i32 R:i32 C:i32 out:i32',
    locals: 'r:i32 j:i32 C4:i32 acc:v128 s:f32',
    body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop('r', 'i32.const 0', 'local.get R', 1, `
        f32.const 0 f32x4.splat local.set acc
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `local.get acc ${el('a', 'j')} v128.load ${el('b', 'j')} v128.load f32x4.mul f32x4.add local.set acc`)}
        ${hsum('acc')} local.set s
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `local.get s ${el('a', 'j')} f32.load ${el('b', 'j')} f32.load f32.mul f32.add local.set s`)}
        ${el('out', 'r')} local.get s f32.store
        local.get a local.get as i32.const 2 i32.shl i32.add local.set a
        local.get b local.get bs i32.const 2 i32.shl i32.add local.set b`)}`,
  },
  {
    // ds[i, j] = p[i, j] · (ds[i, j] − D[i]) over a row-major [R, W] (the softmax backward).
    name: 'softmax_bwd_rows',
    params: 'ds:i32 p:i32 D:i32 R:i32 W:i32',
    locals: 'i:i32 j:i32 W4:i32 d:f32 vd:v128',
    body: `
      local.get W i32.const -4 i32.and local.set W4
      ${forLoop('i', 'i32.const 0', 'local.get R', 1, `
        ${el('D', 'i')} f32.load local.tee d f32x4.splat local.set vd
        ${forLoop('j', 'i32.const 0', 'local.get W4', 4, `${el('ds', 'j')} ${el('p', 'j')} v128.load ${el('ds', 'j')} v128.load local.get vd f32x4.sub f32x4.mul v128.store`)}
        ${forLoop('j', 'local.get W4', 'local.get W', 1, `${el('ds', 'j')} ${el('p', 'j')} f32.load ${el('ds', 'j')} f32.load local.get d f32.sub f32.mul f32.store`)}
        local.get ds local.get W i32.const 2 i32.shl i32.add local.set ds
        local.get p local.get W i32.const 2 i32.shl i32.add local.set p`)}`,
  },
);

interface SimdKernels {
  transpose(src: number, ss: number, dst: number, ds: number, R: number, C: number): void;
  gelu(x: number, y: number, s: number, n: number, c2: number, c2a: number): void;
  layernorm(x: number, g: number, b: number, y: number, mean: number, rstd: number, N: number, C: number, eps: number): void;
  layernorm_grad(dy: number, x: number, g: number, mean: number, rstd: number, dx: number, dg: number, db: number, N: number, C: number): void;
  gelu_grad(dy: number, x: number, s: number, out: number, n: number, c2: number, c6a: number): void;
  xent_grad(p: number, t: number, w: number, out: number, N: number, V: number, k: number): void;
  col_sums(x: number, R: number, C: number, out: number): void;
  scatter_add_rows(x: number, ids: number, out: number, R: number, C: number, S: number): void;
  copy2d(src: number, ss: number, dst: number, ds: number, R: number, C: number, scale: number): void;
  row_dots(a: number, as: number, b: number, bs: number, R: number, C: number, out: number): void;
  softmax_bwd_rows(ds: number, p: number, D: number, R: number, W: number): void;
}
let simdFor: WasmModule | undefined;
let simdK: SimdKernels | undefined;
/** The SIMD kernels, instantiated once per wasm module against its memory. Pointers are in bytes. */
function simd(): SimdKernels {
  const W = wb!.wasm;
  if (simdFor !== W || !simdK) {
    const memory = (W as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
    if (!simdBinary) throw new Error('organism kernels: registerFastKernels() has not finished');
    const module = new WebAssembly.Module(simdBinary as Uint8Array<ArrayBuffer>);
    simdK = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
    simdFor = W;
  }
  return simdK;
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
  gatherStrided(h, dst, src, p.map((d) => shape[d]), p.map((d) => strides[d]));
  return out;
}

/**
 * Copy the strided view (`outShape`, source element strides `srcStrides`, starting at word `src`) into
 * contiguous memory at `dst`, walking the output in order with an odometer over its outer dims.
 * Serves both Transpose (permuted strides) and Slice (the input's strides over the slice's extent).
 */
function gatherStrided(h: Int32Array, dst: number, src: number, outShape: number[], srcStrides: number[]): void {
  const r = outShape.length;
  const inner = outShape[r - 1], innerStride = srcStrides[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  const outer = size(outShape) / inner;
  let o = dst, s = src;
  for (let k = 0; k < outer; k++) {
    if (innerStride === 1) { h.copyWithin(o, s, s + inner); o += inner; }
    else for (let j = 0, ss = s; j < inner; j++, ss += innerStride) h[o++] = h[ss];
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
  const h = i32();
  if (tf.slice_util.isSliceContinous(x.shape, begin, sz)) h.copyWithin(at(out), s, s + n);
  else gatherStrided(h, at(out), s, sz, strides);
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

/** out[j] = Σ_i x[i, j] for a row-major [R, C] matrix (word offsets). */
function colSums(x: number, R: number, C: number, out: number): void {
  simd().col_sums(x << 2, R, C, out << 2);
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
  if (x.dtype === 'float32') {
    simd().scatter_add_rows(at(x) << 2, at(segmentIds) << 2, at(out) << 2, rows, rowSize, numSegments);
    return out;
  }
  const hi = i32();
  const o = at(out), src = at(x), ids = at(segmentIds);
  hi.fill(0, o, o + numSegments * rowSize);
  for (let r = 0; r < rows; r++) {
    const sId = hi[ids + r];
    if (sId < 0 || sId >= numSegments) continue;
    const d = o + sId * rowSize, s = src + r * rowSize;
    for (let j = 0; j < rowSize; j++) hi[d + j] += hi[s + j];
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
  simd().layernorm(at(x) << 2, at(g) << 2, at(b) << 2, at(y) << 2, at(mean) << 2, at(rstd) << 2, N, C, eps);
  return [y, mean, rstd];
}

function layerNormGradKernel({ inputs: { dy, x, g, mean, rstd }, backend }: KArgs<{ dy: TI; x: TI; g: TI; mean: TI; rstd: TI }>): TI[] {
  const be = backendOf(backend);
  const C = x.shape[x.shape.length - 1], N = size(x.shape) / C;
  const dx = be.makeOutput(x.shape, 'float32'), dg = be.makeOutput([C], 'float32'), db = be.makeOutput([C], 'float32');
  simd().layernorm_grad(at(dy) << 2, at(x) << 2, at(g) << 2, at(mean) << 2, at(rstd) << 2, at(dx) << 2, at(dg) << 2, at(db) << 2, N, C);
  return [dx, dg, db];
}

const GELU_C = Math.sqrt(2 / Math.PI), GELU_A = 0.044715;

/** tanh-GELU forward: outputs y = x·s and s = σ(2u), u = c(x + a x³), kept for the gradient. */
function geluKernel({ inputs: { x }, backend }: KArgs<{ x: TI }>): TI[] {
  const be = backendOf(backend);
  const n = size(x.shape);
  const y = be.makeOutput(x.shape, 'float32'), s = be.makeOutput(x.shape, 'float32');
  simd().gelu(at(x) << 2, at(y) << 2, at(s) << 2, n, 2 * GELU_C, 2 * GELU_C * GELU_A);
  return [y, s];
}

/**
 * Gradient of tanh-GELU given x and s = σ(2u), u = c(x + a x³) (so tanh u = 2s − 1):
 * gelu = x·s, gelu' = s + x·2s(1−s)·c(1 + 3a x²).
 */
function geluGradKernel({ inputs: { dy, x, s }, backend }: KArgs<{ dy: TI; x: TI; s: TI }>): TI {
  const be = backendOf(backend);
  const n = size(x.shape);
  const dx = be.makeOutput(x.shape, 'float32');
  simd().gelu_grad(at(dy) << 2, at(x) << 2, at(s) << 2, at(dx) << 2, n, 2 * GELU_C, 6 * GELU_C * GELU_A);
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
function xentGradKernel({ inputs: { dy, probs, targets, weights }, backend }: KArgs<{ dy: TI; probs: TI; targets: TI; weights: TI }>): TI {
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

/**
 * Causal blocking for attention: rows are cut into blocks of about 64; row block r only needs the
 * key columns [0, e[r+1]), so products and probabilities are stored "ragged" (block r is R_r × e[r+1])
 * and the upper triangle is never computed beyond the diagonal blocks (62.5% of the work at T = 256).
 */
interface Blocks { e: number[]; nb: number; off: number[]; perHead: number }
function blocksFor(T: number): Blocks {
  const nb = Math.max(1, Math.round(T / 64));
  const e = Array.from({ length: nb + 1 }, (_, r) => Math.round((r * T) / nb));
  const off: number[] = [];
  let perHead = 0;
  for (let r = 0; r < nb; r++) { off.push(perHead); perHead += (e[r + 1] - e[r]) * e[r + 1]; }
  return { e, nb, off, perHead };
}

/**
 * Causal multi-head self-attention core. qkv [B·T, 3d] (the c_attn output, q|k|v along columns),
 * attrs {batch, heads}; outputs y [B·T, d] and, for the gradient, q (pre-scaled by 1/√hd), k, v as
 * [B·H, T, hd] and the attention probabilities p (ragged causal blocks, see blocksFor). Every product
 * is a 2-D XNNPACK call on one head and one row block.
 */
function attentionKernel({ inputs: { qkv }, attrs, backend }: KArgs<{ qkv: TI }>): TI[] {
  const be = backendOf(backend);
  const B = attrs.batch as number, H = attrs.heads as number;
  const T = qkv.shape[0] / B, d3 = qkv.shape[1], d = d3 / 3, hd = d / H, BH = B * H;
  if (!Number.isInteger(T) || !Number.isInteger(hd) || qkv.shape.length !== 2) {
    throw new Error(`causalSelfAttention: qkv [${qkv.shape}] does not split into batch ${B} and ${H} heads`);
  }
  const scale = 1 / Math.sqrt(hd);
  const bl = blocksFor(T);
  const y = be.makeOutput([B * T, d], 'float32');
  const q = be.makeOutput([BH, T, hd], 'float32'), k = be.makeOutput([BH, T, hd], 'float32'), v = be.makeOutput([BH, T, hd], 'float32');
  const p = be.makeOutput([BH * bl.perHead], 'float32');
  const kT = scratch(hd * T), yh = scratch(T * hd);
  let h = f32();
  const S = simd();
  const src = at(qkv), qo = at(q), ko = at(k), vo = at(v), po = at(p), yo = at(y);
  // split heads: [B, T, 3, H, hd] -> 3 × [B, H, T, hd], q scaled
  for (let b = 0; b < B; b++) {
    for (let hh = 0; hh < H; hh++) {
      const from = src + b * T * d3 + hh * hd, to = (b * H + hh) * T * hd;
      S.copy2d(from << 2, d3, (qo + to) << 2, hd, T, hd, scale);
      S.copy2d((from + d) << 2, d3, (ko + to) << 2, hd, T, hd, 1);
      S.copy2d((from + 2 * d) << 2, d3, (vo + to) << 2, hd, T, hd, 1);
    }
  }
  const pAt = (r: number, bh: number) => po + BH * bl.off[r] + bh * (bl.e[r + 1] - bl.e[r]) * bl.e[r + 1];
  // scores of each row block against its key prefix, straight into p; mask the diagonal block
  for (let bh = 0; bh < BH; bh++) {
    for (let r = 0; r < bl.nb; r++) {
      const e0 = bl.e[r], W = bl.e[r + 1], R = W - e0;
      transpose2d(ko + bh * T * hd, kT, W, hd);
      const out = pAt(r, bh);
      gemm(qo + (bh * T + e0) * hd, R, hd, kT, W, out);
      h = f32();
      for (let i = 0; i + 1 < R; i++) h.fill(-1e30, out + i * W + e0 + i + 1, out + (i + 1) * W);
    }
  }
  // softmax in place, one XNNPACK call per row block (all heads)
  for (let r = 0; r < bl.nb; r++) {
    const W = bl.e[r + 1], R = W - bl.e[r];
    const ip = view(pAt(r, 0), BH * R * W);
    be.wasm._Softmax(ip, ip, W, BH * R);
    be.wasm.tfjs.disposeData(ip);
  }
  for (let bh = 0; bh < BH; bh++) {
    for (let r = 0; r < bl.nb; r++) {
      const e0 = bl.e[r], W = bl.e[r + 1], R = W - e0;
      gemm(pAt(r, bh), R, W, vo + bh * T * hd, hd, yh + e0 * hd);
    }
    const b = Math.floor(bh / H), hh = bh % H;
    S.copy2d(yh << 2, hd, (yo + b * T * d + hh * hd) << 2, d, T, hd, 1);
  }
  release(kT); release(yh);
  return [y, q, k, v, p];
}

function attentionGradKernel({ inputs: { dy, y, q, k, v, p }, attrs, backend }: KArgs<{ dy: TI; y: TI; q: TI; k: TI; v: TI; p: TI }>): TI {
  const be = backendOf(backend);
  const B = attrs.batch as number, H = attrs.heads as number;
  const [BH, T, hd] = q.shape;
  const d = H * hd, d3 = 3 * d;
  const scale = 1 / Math.sqrt(hd);
  const bl = blocksFor(T);
  const dqkv = be.makeOutput([B * T, d3], 'float32');
  const dyh = scratch(T * hd), vT = scratch(hd * T), dS = scratch(bl.perHead), A = scratch(T * T);
  const dq = scratch(T * hd), dk = scratch(T * hd), dv = scratch(T * hd), D = scratch(T);
  const dyo = at(dy), yo = at(y), qo = at(q), ko = at(k), vo = at(v), po = at(p), out = at(dqkv);
  const S = simd();
  for (let bh = 0; bh < BH; bh++) {
    const b = Math.floor(bh / H), hh = bh % H;
    const qh = qo + bh * T * hd, kh = ko + bh * T * hd, vh = vo + bh * T * hd;
    const pAt = (r: number) => po + BH * bl.off[r] + bh * (bl.e[r + 1] - bl.e[r]) * bl.e[r + 1];
    // this head's dy, and D_t = dy_t · y_t (= Σ_j dP_tj P_tj, the softmax-backward row term)
    const headCol = b * T * d + hh * hd;
    S.copy2d((dyo + headCol) << 2, d, dyh << 2, hd, T, hd, 1);
    S.row_dots((dyo + headCol) << 2, d, (yo + headCol) << 2, d, T, hd, D << 2);
    for (let r = 0; r < bl.nb; r++) {
      const e0 = bl.e[r], W = bl.e[r + 1], R = W - e0;
      const ds = dS + bl.off[r], pr = pAt(r);
      transpose2d(vh, vT, W, hd);
      gemm(dyh + e0 * hd, R, hd, vT, W, ds); // dP = dy·vᵀ
      S.softmax_bwd_rows(ds << 2, pr << 2, (D + e0) << 2, R, W); // dS = p ⊙ (dP − D)
      gemm(ds, R, W, kh, hd, dq + e0 * hd); // dq_scaled = dS·k
    }
    // column blocks: dk_c = Σ_{r≥c} dS_r[:, c]ᵀ q_r and dv_c = Σ_{r≥c} p_r[:, c]ᵀ dy_r, as one product each
    for (let c = 0; c < bl.nb; c++) {
      const c0 = bl.e[c], Rc = bl.e[c + 1] - c0, span = T - c0;
      for (let r = c; r < bl.nb; r++) {
        const W = bl.e[r + 1], R = W - bl.e[r];
        transposeStrided(dS + bl.off[r] + c0, W, A + (bl.e[r] - c0), span, R, Rc);
      }
      gemm(A, Rc, span, qh + c0 * hd, hd, dk + c0 * hd);
      for (let r = c; r < bl.nb; r++) {
        const W = bl.e[r + 1], R = W - bl.e[r];
        transposeStrided(pAt(r) + c0, W, A + (bl.e[r] - c0), span, R, Rc);
      }
      gemm(A, Rc, span, dyh + c0 * hd, hd, dv + c0 * hd);
    }
    const to = out + b * T * d3 + hh * hd;
    S.copy2d(dq << 2, hd, to << 2, d3, T, hd, scale);
    S.copy2d(dk << 2, hd, (to + d) << 2, d3, T, hd, 1);
    S.copy2d(dv << 2, hd, (to + 2 * d) << 2, d3, T, hd, 1);
  }
  for (const w of [dyh, vT, dS, A, dq, dk, dv, D]) release(w);
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
export async function registerFastKernels(): Promise<void> {
  if (registered) return;
  registered = true;
  simdBinary = await buildSimdBinary();
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
  add('DramatisGelu', geluKernel);
  add('DramatisGeluGrad', geluGradKernel);
  add('DramatisSoftmaxXent', xentKernel);
  add('DramatisSoftmaxXentGrad', xentGradKernel);
  add('DramatisAttention', attentionKernel);
  add('DramatisAttentionGrad', attentionGradKernel);
}
