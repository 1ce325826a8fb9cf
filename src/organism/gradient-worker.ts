/**
 * A gradient worker thread (see gradients.ts): holds a copy of the model, takes the current parameters
 * and some micro-batches, and sends back each micro-batch's loss and gradient.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initTf, tf } from './backend.ts';
import type { GptConfig, Params } from './model.ts';
import { microBatchGradient, flatten, type ToWorker, type FromWorker, type RemoteResult } from './gradients.ts';

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  await initTf();
  const { config, shapes, padId } = workerData as { config: GptConfig; shapes: [string, number[]][]; padId: number };
  const params: Params = new Map(shapes.map(([name, shape]) => [name, tf.variable(tf.zeros(shape), true)]));
  const trainable = [...params.values()];
  port.on('message', (m: ToWorker) => {
    try {
      let off = 0;
      for (const v of trainable) {
        const t = tf.tensor(m.params.subarray(off, off + v.size), v.shape, 'float32');
        v.assign(t);
        t.dispose();
        off += v.size;
      }
      const results: RemoteResult[] = m.microBatches.map(({ index, rows }) => {
        const r = microBatchGradient(config, () => params, trainable, rows, padId, m.steering);
        const grads = flatten(r.grads);
        tf.dispose(r.grads);
        return { index, lossSum: r.lossSum, weight: r.weight, realTokens: r.realTokens, grads };
      });
      post(
        { id: m.id, results },
        results.map((r) => r.grads.buffer as ArrayBuffer),
      );
    } catch (e) {
      post({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
  post({ ready: true });
} catch (e) {
  post({ fatal: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
