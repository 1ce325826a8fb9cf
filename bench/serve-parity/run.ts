/**
 * Serve parity: every preset that runs on the organism gives the same results in process
 * (`organism:NAME`) and through `openai:NAME` + `dramatis serve` (same seed). Issue 4 asks for it.
 * White-box kinds (vectors, audit) and presets for real models (em-first-plot) are listed as skipped.
 *
 *   npx tsx bench/serve-parity/run.ts [--samples 48] [--preset NAME ...] [--tolerance 1e-6] [--out FILE]
 *
 * The server is `dramatis serve`'s Hono app on a free port in this process, as in
 * test/server/openai-backend.test.ts, serving every organism the presets name; fine-tunes go through its
 * /v1/files + /v1/fine_tuning/jobs, scoring through /v1/completions with echo, chat through
 * /v1/chat/completions. Both sides start from empty caches (fine-tunes are trained anew on each side,
 * once per bench run), so nothing from an older trainer is reused. Presets run one at a time.
 *
 * The two JSON results are compared field by field (rates, n, hits, labels, examples, per-question rates,
 * curves, profiles, effects, posteriors); the model names differ by scheme only and the run ids are
 * ignored. Integers and strings must be equal; other numbers are reported with their largest difference,
 * and count as equal within --tolerance.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp, type ModelTable } from '../../src/server/app.ts';
import { loadSpec, type ExperimentSpec } from '../../src/experiments/spec.ts';
import { modelId } from '../../src/backends/registry.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment, type ExperimentResult } from '../../src/experiments/runner.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';

const { values: o } = parseArgs({
  options: {
    samples: { type: 'string', default: '48' },
    preset: { type: 'string', multiple: true },
    tolerance: { type: 'string', default: '1e-6' },
    out: { type: 'string', default: fileURLToPath(new URL('results.json', import.meta.url)) },
  },
});
const samples = Number(o.samples),
  tolerance = Number(o.tolerance);
if (!Number.isInteger(samples) || samples < 1) throw new Error(`--samples ${o.samples}: a positive integer`);

const presetDir = fileURLToPath(new URL('../../presets/', import.meta.url));
const all = readdirSync(presetDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5))
  .sort();
const chosen = o.preset?.length ? o.preset : all;
for (const p of chosen) if (!all.includes(p)) throw new Error(`--preset ${p}: no such preset (${all.join(', ')})`);

const modelsOf = (s: ExperimentSpec) => [s.model, ...s.conditions.map((c) => c.model ?? s.model)].map(modelId);
const specs = chosen.map((name) => ({ name, spec: loadSpec(join(presetDir, `${name}.yaml`)) }));
// vectors and audit read activations, which no OpenAI-compatible server gives: they have no served side.
const whiteBox = ['vectors', 'audit'];
const whyNot = (spec: ExperimentSpec) =>
  whiteBox.includes(spec.kind)
    ? `kind ${spec.kind} reads activations (white-box only)`
    : modelsOf(spec).some((m) => !m.startsWith('organism:'))
      ? `needs ${modelsOf(spec).find((m) => !m.startsWith('organism:'))} (not an organism)`
      : undefined;
const runnable = specs.filter(({ spec }) => !whyNot(spec));
const skipped = specs.filter(({ spec }) => whyNot(spec)).map(({ name, spec }) => ({ preset: name, why: whyNot(spec)! }));

// One server for the whole run, serving every organism the presets name under its own name.
const organisms = [...new Set(runnable.flatMap(({ spec }) => modelsOf(spec)).map((m) => m.slice('organism:'.length)))];
const table: ModelTable = new Map(organisms.map((n) => [n, () => OrganismModel.load(n, join(work, 'serve-cache'))]));
const work = mkdtempSync(join(tmpdir(), 'dramatis-serve-parity-'));
const app = createApp({ models: table, stateDir: join(work, 'serve') });
let requests = 0;
const server = serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: (req: Request) => {
    requests++;
    return app.fetch(req);
  },
});
await new Promise((r) => server.once('listening', r));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
process.stderr.write(`serving ${organisms.join(', ')} on ${baseUrl}; ${samples} samples per condition; work in ${work}\n`);

const served = (m: string) => m.replace(/^organism:/, 'openai:');
function overServer(spec: ExperimentSpec): ExperimentSpec {
  const s = structuredClone(spec);
  s.model = served(modelId(s.model));
  s.base_url = baseUrl;
  for (const c of s.conditions) if (c.model) c.model = served(modelId(c.model));
  return s;
}

interface Difference {
  path: string;
  local: unknown;
  served: unknown;
}

/** Field-by-field comparison; numbers that are not both integers may differ by up to `tolerance`. */
function compare(a: unknown, b: unknown, path: string, out: { diffs: Difference[]; floats: number; maxFloat: number; tolerated: Difference[] }): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Object.is(a, b)) return;
    const d = Math.abs(a - b);
    if (!(Number.isInteger(a) && Number.isInteger(b)) && d <= tolerance) {
      out.floats++;
      out.maxFloat = Math.max(out.maxFloat, d);
      out.tolerated.push({ path, local: a, served: b });
      return;
    }
    out.maxFloat = Math.max(out.maxFloat, Number.isFinite(d) ? d : Infinity);
    out.diffs.push({ path, local: a, served: b });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.diffs.push({ path: `${path}.length`, local: a.length, served: b.length });
    for (let i = 0; i < Math.min(a.length, b.length); i++) compare(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = a as Record<string, unknown>,
      kb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ka), ...Object.keys(kb)])) {
      if (k === 'runId') continue;
      if (k === 'model' && typeof ka[k] === 'string') {
        if (served(ka[k] as string) !== kb[k]) out.diffs.push({ path: `${path}.model`, local: ka[k], served: kb[k] });
        continue;
      }
      compare(ka[k], kb[k], path ? `${path}.${k}` : k, out);
    }
    return;
  }
  if (a !== b) out.diffs.push({ path, local: a, served: b });
}

const localCache = join(work, 'local-cache'),
  servedCache = join(work, 'served-cache');
const rows: Record<string, unknown>[] = [];
const log = (m: string) => process.stderr.write(`  ${m}\n`);
for (const { name, spec } of runnable) {
  spec.samples = samples;
  process.stderr.write(`${name} (${spec.kind}, ${spec.conditions.length} conditions)\n`);
  const t0 = performance.now();
  const local = await runExperiment(spec, new Store(':memory:'), localCache, { log });
  const t1 = performance.now(),
    r0 = requests;
  const remote = await runExperiment(overServer(spec), new Store(':memory:'), servedCache, { log });
  const t2 = performance.now();
  const out = { diffs: [] as Difference[], floats: 0, maxFloat: 0, tolerated: [] as Difference[] };
  compare(JSON.parse(JSON.stringify(local)) as ExperimentResult, JSON.parse(JSON.stringify(remote)) as ExperimentResult, '', out);
  const row = {
    preset: name,
    kind: spec.kind,
    conditions: spec.conditions.length,
    samples,
    identical: out.diffs.length === 0 && out.floats === 0,
    withinTolerance: out.diffs.length === 0,
    floatsDiffering: out.floats,
    maxFloatDifference: out.maxFloat,
    differences: out.diffs.length,
    firstDifferences: out.diffs.slice(0, 12),
    // Which fields the float differences are in (e.g. posteriors), grouped with array indices dropped.
    toleratedFields: [...new Set(out.tolerated.map((d) => d.path.replace(/\[\d+\]/g, '[]')))],
    firstTolerated: out.tolerated.slice(0, 4),
    seconds: { local: +((t1 - t0) / 1000).toFixed(1), served: +((t2 - t1) / 1000).toFixed(1) },
    requests: requests - r0,
    // The headline per condition, both ways, so a reader sees the figures that were compared.
    rates: local.conditions.map((c, i) => ({
      condition: c.name,
      local: { rate: c.rate, hits: c.hits, n: c.n },
      served: remote.conditions[i] && { rate: remote.conditions[i].rate, hits: remote.conditions[i].hits, n: remote.conditions[i].n },
    })),
  };
  rows.push(row);
  process.stderr.write(
    `  → ${row.identical ? 'identical' : row.withinTolerance ? `equal within ${tolerance} (${out.floats} numbers differ, largest ${out.maxFloat.toExponential(2)})` : `${out.diffs.length} differences`}; ${row.seconds.local} s in process, ${row.seconds.served} s served (${row.requests} requests)\n`,
  );
  for (const d of out.diffs.slice(0, 5)) process.stderr.write(`    ${d.path}: ${JSON.stringify(d.local)} vs ${JSON.stringify(d.served)}\n`);
}
(server as import('node:http').Server).closeAllConnections();
server.close();

console.log('\n| preset | kind | conditions | identical | within tolerance | numbers differing (largest) | differences | in process s | served s |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows as {
  preset: string;
  kind: string;
  conditions: number;
  identical: boolean;
  withinTolerance: boolean;
  floatsDiffering: number;
  maxFloatDifference: number;
  differences: number;
  seconds: { local: number; served: number };
}[]) {
  console.log(
    `| ${r.preset} | ${r.kind} | ${r.conditions} | ${r.identical ? 'yes' : 'no'} | ${r.withinTolerance ? 'yes' : 'no'} | ${r.floatsDiffering ? `${r.floatsDiffering} (${r.maxFloatDifference.toExponential(1)})` : '0'} | ${r.differences} | ${r.seconds.local} | ${r.seconds.served} |`,
  );
}
for (const s of skipped) console.log(`| ${s.preset} | skipped: ${s.why} |`);
writeFileSync(o.out, `${JSON.stringify({ samples, tolerance, node: process.version, date: new Date().toISOString(), presets: rows, skipped }, null, 2)}\n`);
process.stderr.write(`wrote ${o.out}\n`);
