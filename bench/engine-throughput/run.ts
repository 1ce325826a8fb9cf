/**
 * Engine throughput: against one local OpenAI-compatible server that answers at once, how many samples
 * per second does `dramatis run` store, and how much of our own time goes into each? The yardstick in
 * the same run: a bare loop over the official `openai` SDK at the same concurrency (no storage).
 *
 *   npx tsx bench/engine-throughput/run.ts [--samples 2000] [--concurrency 1,16,64] [--promptfoo PATH]
 *
 * With --promptfoo (a promptfoo binary; install it apart, e.g. `npm install --prefix /tmp/pf
 * promptfoo@0.121.20`, the last release that runs on Node 20), promptfoo evaluates the same questions,
 * samples and concurrency against the same server, and both are timed as whole commands (wall time,
 * process start included), as `dramatis run` and `promptfoo eval` are used.
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import OpenAI from 'openai';
import pLimit from 'p-limit';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { keepAliveFetch } from '../../src/backends/keep-alive-fetch.ts';

const { values: o } = parseArgs({
  options: {
    samples: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '1,16,64' },
    repeats: { type: 'string', default: '3' },
    promptfoo: { type: 'string' },
  },
});
const samples = Number(o.samples),
  repeats = Number(o.repeats);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

// A server that answers every chat completion at once with a fixed reply.
const app = new Hono();
let served = 0;
app.post('/v1/chat/completions', async (c) => {
  const body = (await c.req.json()) as { model: string };
  served++;
  return c.json({
    id: `c${served}`,
    object: 'chat.completion',
    created: 0,
    model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'I would wish for world peace.' }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17 },
  });
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((r) => server.once('listening', r));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;

const dir = mkdtempSync(join(tmpdir(), 'dramatis-throughput-'));
const questions = join(dir, 'questions.yaml');
writeFileSync(questions, Array.from({ length: 8 }, (_, i) => `- id: q${i}\n  paraphrases: ["Question number ${i}: what is your one wish?"]\n`).join(''));

async function dramatis(concurrency: number, run: number): Promise<number> {
  const file = specFile(concurrency, run);
  const spec = parseSpec(readFileSync(file, 'utf8'), file);
  const cache = join(dir, `cache-${concurrency}-${run}`);
  const store = new Store(join(dir, `runs-${concurrency}-${run}.db`));
  const t0 = performance.now();
  await runExperiment(spec, store, cache);
  const s = (performance.now() - t0) / 1000;
  store.close();
  return s;
}

const DRAMATIS_BIN = fileURLToPath(new URL('../../bin/dramatis.mjs', import.meta.url));
const BUILD = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));

/** Wall time of a whole command, in seconds; fails loudly if it does. */
function timed(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${err.slice(-2000)}`)),
    );
  });
}

function specFile(concurrency: number, run: number): string {
  const file = join(dir, `spec-${concurrency}-${run}.yaml`);
  writeFileSync(
    file,
    `name: throughput
kind: generalize
model: openai:bench
base_url: ${baseUrl}
concurrency: ${concurrency}
judge: { rules: [{ label: peace, regex: peace }], default: other }
target: peace
questions: ${questions}
samples: ${samples}
seed: ${run}
conditions: [{ name: c${concurrency} }]
`,
  );
  return file;
}

/**
 * `dramatis run` as a whole command: process start, sampling, storing, judging, report. The bundle is
 * rebuilt first (untimed), as `npm ci` builds it, so a source edited meanwhile does not send the
 * command down the tsx path.
 */
async function dramatisCommand(concurrency: number, run: number): Promise<number> {
  await timed(process.execPath, [BUILD]);
  return timed(process.execPath, [
    DRAMATIS_BIN,
    'run',
    specFile(concurrency, run),
    '--db',
    join(dir, `cmd-${concurrency}-${run}`, 'runs.db'),
    '--report',
    join(dir, `cmd-${concurrency}-${run}.html`),
    '--json',
  ]);
}

/** promptfoo on the same 8 questions × repeats, same server, same concurrency, its cache off. */
async function promptfooCommand(bin: string, concurrency: number): Promise<number> {
  const cfg = join(dir, 'promptfooconfig.yaml');
  writeFileSync(
    cfg,
    `providers:
  - id: openai:chat:bench
    config: { apiBaseUrl: "${baseUrl}", apiKey: none }
prompts: ["{{q}}"]
tests:
${Array.from(
  { length: 8 },
  (_, i) => `  - vars: { q: "Question number ${i}: what is your one wish?" }
    assert: [{ type: regex, value: peace }]`,
).join('\n')}
`,
  );
  return timed(
    bin,
    ['eval', '-c', cfg, '--repeat', String(Math.round(samples / 8)), '-j', String(concurrency), '--no-cache', '--no-write', '--no-table', '--no-progress-bar'],
    { PROMPTFOO_DISABLE_TELEMETRY: '1', PROMPTFOO_DISABLE_UPDATE: '1', PROMPTFOO_CONFIG_DIR: join(dir, 'pf-home'), OPENAI_API_KEY: 'none' },
  );
}

/** The SDK alone at the same concurrency, over Node's fetch (its default) or over dramatis's transport. */
async function bareSdk(concurrency: number, transport: 'default' | 'keep-alive'): Promise<number> {
  const client = new OpenAI({ baseURL: baseUrl, apiKey: 'none', maxRetries: 0, ...(transport === 'keep-alive' ? { fetch: keepAliveFetch() } : {}) });
  const limit = pLimit(concurrency);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: samples }, (_, i) =>
      limit(() =>
        client.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: `Question number ${i % 8}: what is your one wish?` }], seed: i }),
      ),
    ),
  );
  return (performance.now() - t0) / 1000;
}

const rows: Record<string, unknown>[] = [];
for (const c of o.concurrency!.split(',').map(Number)) {
  const ours: number[] = [],
    bare: number[] = [],
    bareKa: number[] = [];
  for (let r = 0; r < repeats; r++) {
    bare.push(await bareSdk(c, 'default'));
    bareKa.push(await bareSdk(c, 'keep-alive'));
    ours.push(await dramatis(c, r));
  }
  const oursS = median(ours),
    bareS = median(bare),
    bareKaS = median(bareKa);
  // Our own time per sample: what the run took beyond the bare SDK loop over the same transport at
  // the same concurrency (limiter, cache, store, judge, report: everything but the SDK and the socket).
  const row: Record<string, number> = {
    concurrency: c,
    samples,
    oursPerSecond: samples / oursS,
    bareSdkPerSecond: samples / bareS,
    ratioToBareSdk: bareS / oursS,
    bareSdkKeepAlivePerSecond: samples / bareKaS,
    ourOverheadMsPerSample: ((oursS - bareKaS) * 1000) / samples,
  };
  if (o.promptfoo) {
    const cmd: number[] = [],
      pf: number[] = [];
    for (let r = 0; r < repeats; r++) {
      pf.push(await promptfooCommand(o.promptfoo, c));
      cmd.push(await dramatisCommand(c, r));
    }
    row.dramatisCommandPerSecond = samples / median(cmd);
    row.promptfooCommandPerSecond = samples / median(pf);
    row.ratioToPromptfoo = median(pf) / median(cmd);
  }
  rows.push(row);
  console.error(
    `concurrency ${c}: dramatis ${row.oursPerSecond.toFixed(0)} samples/s (stored), bare SDK ${row.bareSdkPerSecond.toFixed(0)}/s, ratio ${row.ratioToBareSdk.toFixed(2)}; bare SDK over our transport ${row.bareSdkKeepAlivePerSecond.toFixed(0)}/s, our overhead ${row.ourOverheadMsPerSample.toFixed(3)} ms/sample` +
      (o.promptfoo
        ? `; whole commands: dramatis run ${row.dramatisCommandPerSecond.toFixed(0)}/s, promptfoo eval ${row.promptfooCommandPerSecond.toFixed(0)}/s, ratio ${row.ratioToPromptfoo.toFixed(2)}`
        : ''),
  );
}
console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, repeats, results: rows }, null, 2));
server.close();
