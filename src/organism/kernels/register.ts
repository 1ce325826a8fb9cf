/**
 * Installing the kernels: registerFastKernels assembles the SIMD module from every family's
 * WebAssembly text, overrides the stock wasm kernels we replace and adds the fused Dramatis* ones.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelState, type TI } from './state.ts';
import type { WasmFn } from './wat.ts';
import { buildSimdBinary } from './simd.ts';
import { matMulKernel, type MatMulArgs } from './matmul.ts';
import { identityKernel, sliceKernel, transposeKernel, transposeWat } from './data-movement.ts';
import { colSumsWat, sumKernel } from './sum.ts';
import { gatherKernel, scatterAddRowsWat, unsortedSegmentSumKernel } from './embedding.ts';
import { layerNormGradKernel, layerNormGradWat, layerNormKernel, layerNormWat } from './layer-norm.ts';
import { geluGradKernel, geluGradWat, geluKernel, geluWat } from './gelu.ts';
import { xentGradKernel, xentGradWat, xentKernel } from './softmax-xent.ts';
import { attentionGradKernel, attentionKernel, copy2dWat, rowDotsWat, softmaxBwdRowsWat } from './attention.ts';
import { adamwKernel, adamwWat } from './adamw.ts';

/**
 * Every SIMD kernel, in the module's order. The order itself does not matter to the kernels; it is
 * the order of the single file these were split from, kept so the assembled binary stays the same.
 */
export const SIMD_FUNCTIONS: WasmFn[] = [
  transposeWat,
  geluWat,
  layerNormWat,
  layerNormGradWat,
  geluGradWat,
  xentGradWat,
  scatterAddRowsWat,
  colSumsWat,
  copy2dWat,
  rowDotsWat,
  softmaxBwdRowsWat,
  adamwWat,
];

/** Install the overrides on the wasm backend (idempotent; call after tf.setBackend('wasm')). */
export async function registerFastKernels(): Promise<void> {
  if (kernelState.registered) return;
  kernelState.registered = true;
  kernelState.simdBinary = await buildSimdBinary(SIMD_FUNCTIONS);
  const override = (kernelName: string, make: (fallback: tf.KernelFunc) => tf.KernelFunc) => {
    const old = tf.getKernel(kernelName, 'wasm');
    const fallback: tf.KernelFunc = old
      ? old.kernelFunc
      : () => {
          throw new Error(`no wasm ${kernelName}`);
        };
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
  add('DramatisAdamW', adamwKernel);
}
