/**
 * A fine-tune on a worker thread (see finetune-thread.ts): runs the same `finetune` stage on the
 * options it is given, posting each step and then the result, so the thread that started it (a server)
 * keeps answering while it trains.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { finetune, type FinetuneOptions } from './stages.ts';

const port = parentPort!;
try {
  const result = await finetune(workerData as FinetuneOptions, {
    onStep: (s) => port.postMessage({ step: { step: s.step, steps: s.steps, loss: s.loss } }),
  });
  port.postMessage({ done: { steps: result.steps, tokens: result.tokens, finalLoss: result.finalLoss } });
} catch (e) {
  port.postMessage({ fatal: e instanceof Error ? e.message : String(e) });
}
