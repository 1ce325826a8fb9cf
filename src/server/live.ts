/**
 * Streaming a generation as it is drawn. The backend's `onText` (where it has one: gguf:) hands over
 * pieces of each row's answer while it samples; they are queued here and read by the route's stream.
 * The response starts only once the first piece has come or the generation has settled, so a request
 * that fails before any text (a context-length error, an unknown stop) still gets its HTTP error status,
 * not a 200 stream with an error inside. A backend that cannot stream simply settles first: the route
 * then sends the whole answer in pieces, as it always did.
 */
import type { Generation } from '../backends/model.ts';

export interface LiveGeneration {
  /** Resolves when the first piece arrives or the generation settles; rejects if it failed before any text. */
  started: Promise<void>;
  /** The pieces as they come, in order, until the generation settles. */
  pieces(): AsyncIterable<{ row: number; delta: string }>;
  /** The generation (rejects with its error). */
  result: Promise<Generation[]>;
}

export function liveGeneration(run: (onText: (row: number, delta: string) => void) => Promise<Generation[]>): LiveGeneration {
  const queue: { row: number; delta: string }[] = [];
  let wake: (() => void) | undefined;
  let settled = false;
  let first: (() => void) | undefined;
  const started = new Promise<void>((resolve) => (first = resolve));
  const result = run((row, delta) => {
    queue.push({ row, delta });
    first?.();
    wake?.();
  });
  const done = result.then(
    () => undefined,
    () => undefined,
  );
  void done.then(() => {
    settled = true;
    first?.();
    wake?.();
  });
  return {
    // Failing before any text is the request's error; failing later is the stream's (read from `result`).
    started: Promise.race([started, result.then(() => undefined)]).then(async () => {
      if (queue.length === 0) await result;
    }),
    async *pieces() {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (settled) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
    result,
  };
}
