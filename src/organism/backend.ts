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
    // The Emscripten glue of tfjs-backend-wasm installs process listeners that re-throw any uncaught
    // error or unhandled rejection, so Node prints the whole minified glue file instead of the error.
    // Record the listeners before the backend starts and remove the ones it added.
    const events = ['uncaughtException', 'unhandledRejection'];
    const listeners = (e: string) => process.listeners(e as 'uncaughtException') as ((...args: unknown[]) => void)[];
    const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
    try {
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new Error('dramatis: the tfjs WebAssembly backend failed to initialise');
      await tf.ready();
    } finally {
      for (const e of events) {
        for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
      }
    }
    await registerFastKernels();
    return tf;
  })();
  return ready;
}

export { tf };
