/**
 * The state every kernel shares, and heap access built on it.
 *
 * tfjs-backend-wasm keeps all tensors in one WebAssembly heap, and our kernels work on it in place:
 * typed views of the heap, scratch from the backend's own malloc, and tensor ids registered on raw heap
 * ranges for XNNPACK calls. What must persist between kernel calls is gathered in `kernelState`, one
 * object with each field documented, instead of loose module variables spread over the kernel files:
 * the backend we are attached to, views of its current heap buffer, a small buffer for XNNPACK's shape
 * arguments, the assembled SIMD module and its instance, and whether the kernels are registered.
 */
import type * as tf from '@tensorflow/tfjs';

/** The SIMD module's exports (its functions take heap byte offsets); built and instantiated in simd.ts. */
export interface SimdKernels {
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
  adamw(
    v: number,
    g: number,
    m: number,
    s: number,
    vo: number,
    mo: number,
    so: number,
    n: number,
    decay: number,
    scale: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    bc1: number,
    bc2: number,
    eps: number,
    wd: number,
    lr: number,
  ): void;
}

export type TI = tf.TensorInfo;
export type NamedAttrs = Record<string, unknown>;
/** What tfjs passes a kernel function. */
export interface KArgs<I> {
  inputs: I;
  attrs: NamedAttrs;
  backend: unknown;
}

/** The parts of the wasm module and backend we use (they are not in the public typings). */
export interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _BatchMatMul(
    aId: number,
    aShape: number,
    aRank: number,
    bId: number,
    bShape: number,
    bRank: number,
    transposeA: number,
    transposeB: number,
    outId: number,
  ): void;
  __FusedMatMul(
    aId: number,
    aShape: number,
    aRank: number,
    bId: number,
    bShape: number,
    bRank: number,
    transposeA: number,
    transposeB: number,
    activation: number,
    biasId: number,
    preluId: number,
    leakyAlpha: number,
    outId: number,
  ): void;
  _Softmax(xId: number, outId: number, channels: number, batch: number): void;
  tfjs: { registerTensor(id: number, size: number, ptr: number): void; disposeData(id: number): void };
}
interface DataEntry {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): DataEntry };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): TI;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/** What persists between kernel calls; one instance, `kernelState`. */
export interface KernelState {
  /** The wasm backend the kernels last ran on (set by `backendOf`; a different one resets what follows). */
  backend: WasmBackend | undefined;
  /** The heap buffer that `heapF32` / `heapI32` view; memory growth (any malloc may grow it) replaces it. */
  heapBuffer: ArrayBufferLike | undefined;
  heapF32: Float32Array<ArrayBufferLike>;
  heapI32: Int32Array<ArrayBufferLike>;
  /** Byte offset of 64 bytes of heap, malloc'd once per backend, for the shape arrays of XNNPACK calls. */
  shapeScratch: number;
  /** The SIMD module's binary, assembled once by registerFastKernels (see simd.ts). */
  simdBinary: Uint8Array | undefined;
  /** The wasm module `simdKernels` was instantiated against (on its memory), and that instance. */
  simdFor: WasmModule | undefined;
  simdKernels: SimdKernels | undefined;
  /** Set by registerFastKernels (first thing, so it runs once); the public ops use the kernels only then. */
  registered: boolean;
}

export const kernelState: KernelState = {
  backend: undefined,
  heapBuffer: undefined,
  heapF32: new Float32Array(0),
  heapI32: new Int32Array(0),
  shapeScratch: 0,
  simdBinary: undefined,
  simdFor: undefined,
  simdKernels: undefined,
  registered: false,
};

/** The wasm backend a kernel was called with; attaching to a new one allocates its shape scratch. */
export function backendOf(b: unknown): WasmBackend {
  const w = b as WasmBackend;
  if (kernelState.backend !== w) {
    kernelState.backend = w;
    kernelState.shapeScratch = w.wasm._malloc(64);
    kernelState.heapBuffer = undefined;
  }
  return w;
}
/** The wasm module of the backend in use (after `backendOf`). */
export function currentWasm(): WasmModule {
  return kernelState.backend!.wasm;
}
/** The whole wasm heap as float32 / int32; re-fetched whenever memory grew (any malloc may grow it). */
export function f32(): Float32Array<ArrayBufferLike> {
  const buf = kernelState.backend!.wasm.HEAPU8.buffer;
  if (buf !== kernelState.heapBuffer) {
    kernelState.heapBuffer = buf;
    kernelState.heapF32 = new Float32Array(buf);
    kernelState.heapI32 = new Int32Array(buf);
  }
  return kernelState.heapF32;
}
export function i32(): Int32Array<ArrayBufferLike> {
  f32();
  return kernelState.heapI32;
}
/** Offset of a tensor's data in 4-byte words. */
export function at(t: TI): number {
  return kernelState.backend!.dataIdMap.get(t.dataId).memoryOffset >>> 2;
}
/** Number of elements of a shape. */
export function size(shape: number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}
/** Scratch memory (in words); free with `release`. */
export function scratch(words: number): number {
  const p = kernelState.backend!.wasm._malloc(Math.max(4, words * 4)) >>> 0;
  if (p === 0) throw new Error(`wasm backend: out of memory allocating ${words * 4} bytes of scratch`);
  return p >>> 2;
}
export function release(word: number): void {
  kernelState.backend!.wasm._free(word << 2);
}
/** A fresh tensor id on `n` words of heap at `word`, for passing a view to the backend's XNNPACK calls. */
export function view(word: number, n: number): number {
  const id = kernelState.backend!.dataIdNextNumber++;
  kernelState.backend!.wasm.tfjs.registerTensor(id, n, word << 2);
  return id;
}
