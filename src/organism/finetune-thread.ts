/**
 * Run the `finetune` stage on a worker thread: the same code on the same options, so the weights are
 * bitwise those of an in-process fine-tune, while the calling thread stays free (dramatis serve keeps
 * answering requests while a job trains). The worker runs TypeScript as the gradient workers do.
 */
import { Worker } from 'node:worker_threads';
import type { FinetuneOptions } from './stages.ts';

export interface ThreadStep {
  step: number;
  steps: number;
  loss: number;
}

export function finetuneInWorker(
  o: FinetuneOptions,
  onStep?: (s: ThreadStep) => void,
  signal?: AbortSignal,
): Promise<{ steps: number; tokens: number; finalLoss: number }> {
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = new URL('./finetune-worker.ts', import.meta.url).href;
  const worker = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`, {
    eval: true,
    workerData: o,
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
      void worker.terminate();
    };
    worker.on('message', (m: { step?: ThreadStep; done?: { steps: number; tokens: number; finalLoss: number }; fatal?: string }) => {
      if (m.step) onStep?.(m.step);
      else if (m.done) finish(() => resolve(m.done!));
      else if (m.fatal) finish(() => reject(new Error(`fine-tune worker: ${m.fatal}`)));
    });
    worker.on('error', (e) => finish(() => reject(new Error(`fine-tune worker crashed: ${e.message}`))));
    worker.on('exit', (code) => finish(() => reject(new Error(`fine-tune worker exited with code ${code} before finishing`))));
    // Cancelled: the thread is stopped where it is (the caller removes what it had written).
    const abort = () => finish(() => reject(new Error('fine-tune cancelled')));
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort, { once: true });
  });
}
