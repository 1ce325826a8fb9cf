/**
 * The SIMD helper module: raw WebAssembly on tfjs's own heap.
 *
 * Why by hand: JS loops over the heap run at 2–5 ns per element here, wasm SIMD at 0.2–0.5, and tfjs
 * has no fused kernels for these (layer norm forward and backward, GELU forward (with its own
 * vector exp) and backward, the softmax-cross-entropy gradient, strided head split/merge, the
 * attention softmax backward, column sums, strided transposes; its Transpose kernel runs at ~5 ns
 * per element). No npm library provides wasm kernels that work on
 * tfjs-backend-wasm's memory, so we write a few in WebAssembly text, assembled by wabt and
 * instantiated against the backend's exported
 * WebAssembly.Memory so the kernels read and write tensors in place. Every one is covered by the
 * wasm-vs-cpu tests through the kernels and ops that use it.
 *
 * The kernels' text lives with the op family that uses it; this file holds the signatures of the
 * module's exports, its assembly (once, at registration) and its instantiation (once per wasm module).
 */
import { currentWasm, kernelState } from './state.ts';
import { simdModuleText, type WasmFn } from './wat.ts';

/** The module's exports. Pointers are in bytes, strides and counts in elements. */
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
}

/** Assemble the kernels' text with wabt (the WebAssembly Binary Toolkit); done once, at start-up. */
export async function buildSimdBinary(fns: WasmFn[]): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat('dramatis-kernels.wat', simdModuleText(fns), { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** The SIMD kernels, instantiated once per wasm module against its memory. Pointers are in bytes. */
export function simd(): SimdKernels {
  const W = currentWasm();
  if (kernelState.simdFor !== W || !kernelState.simdKernels) {
    const memory = (W as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
    if (!kernelState.simdBinary) throw new Error('organism kernels: registerFastKernels() has not finished');
    const module = new WebAssembly.Module(kernelState.simdBinary as Uint8Array<ArrayBuffer>);
    kernelState.simdKernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
    kernelState.simdFor = W;
  }
  return kernelState.simdKernels;
}
