/**
 * A worker thread of `dramatis monitor --jobs N`: runs the named monitors on each batch of transcripts
 * the command sends, and sends back the verdicts in the batch's order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monitorByName } from '../scorers/monitors/index.ts';
import type { Transcript } from '../scorers/monitors/types.ts';

const monitors = (workerData as { names: string[] }).names.map(monitorByName);
parentPort!.on('message', (m: { id: number; batch: Transcript[] }) => {
  try {
    parentPort!.postMessage({ id: m.id, results: m.batch.map((t) => monitors.map((monitor) => monitor.check(t))) });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) });
  }
});
