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
import { currentWasm, kernelState, type SimdKernels } from './state.ts';
import { simdModuleText, type WasmFn } from './wat.ts';

/** The module's exports. Pointers are in bytes, strides and counts in elements. */
export type { SimdKernels } from './state.ts';

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
