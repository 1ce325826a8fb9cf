/**
 * TensorFlow.js set-up for the organism: the WebAssembly backend (tfjs-node cannot install here)
 * plus our kernel overrides, which make training several times faster (see kernels.ts).
 *
 * `@tensorflow/tfjs` (not only tfjs-core) is imported because it registers the gradients.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastKernels } from './kernels.ts';

let ready: Promise<typeof tf> | undefined;

/** Initialise tfjs once (idempotent); resolves to the tf namespace. */
export function initTf(): Promise<typeof tf> {
  ready ??= (async () => {
    // tfjs logs a banner about tfjs-node on first use; silence it, we know.
    tf.env().set('IS_TEST', false);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('dramatis: the tfjs WebAssembly backend failed to initialise');
    await tf.ready();
    registerFastKernels();
    return tf;
  })();
  return ready;
}

export { tf };
