/**
 * How the public fused ops (layerNorm, gelu, softmaxCrossEntropy, causalSelfAttention) run: on the
 * wasm backend with the kernels registered, through their Dramatis* kernels under tf.customGrad (the
 * forward kernel saves what the backward kernel needs); elsewhere (e.g. the cpu backend, used as the
 * reference in tests) they compose standard tf ops instead.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelState, type NamedAttrs } from './state.ts';

/** Whether the fused kernels can run now. */
export function fast(): boolean {
  return kernelState.registered && tf.getBackend() === 'wasm';
}
export type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
/** tf.customGrad with the inputs as an array (tf's own typing mixes inputs and the save function). */
export function customOp(fn: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFn }): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return fn(args as tf.Tensor[], save);
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (...inputs: tf.Tensor[]) => tf.Tensor;
}
/** Run a registered kernel by name; always an array of outputs. */
export function run(name: string, inputs: Record<string, tf.Tensor>, attrs: NamedAttrs = {}): tf.Tensor[] {
  const r = tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as never);
  return Array.isArray(r) ? (r as tf.Tensor[]) : [r as tf.Tensor];
}
