/** Print stored conversation results (the `--json` output of `dramatis run`) as `dramatis run` prints them. */
import { readFileSync } from 'node:fs';
import { formatResult } from '../../src/experiments/runner.ts';

for (const f of process.argv.slice(2)) for (const r of JSON.parse(readFileSync(f, 'utf8')).experiments) console.log(formatResult(r));
