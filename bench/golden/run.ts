/**
 * Golden comparison: every shipped preset (and the demo) run through the command line into a fresh
 * database, dumped canonically (stored samples, every judgment, the summary figures), and compared with
 * an earlier dump. A refactor that must not move figures runs this before and after:
 *
 *   npx tsx bench/golden/run.ts --out /tmp/golden-before            # on the old tree
 *   npx tsx bench/golden/run.ts --out /tmp/golden-after --against /tmp/golden-before
 *
 * It drives `bin/dramatis.mjs` as a user would (so it does not depend on internal APIs that the
 * refactor moves). Presets for real models (an `openai:` model, an LLM judge) run against
 * `dramatis serve` on a fixed port (`--port`, and the next one for the judge proxy) serving the organism `assistant`, with a deterministic stand-in judge
 * (below): the figures mean nothing, but every request, response, judgment and key must be the same before and after.
 * `--samples` shrinks every preset (default 48 per condition) so both passes fit in well under an hour.
 *
 * Each pass uses one fresh folder: its databases and the cache beside them (fine-tunes, vectors, request
 * cache) start empty, so nothing from the other pass is reused. Dumps are written per preset as JSON;
 * `digests.json` holds one SHA-256 per preset and part (samples, judgments, summary, keys).
 */
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/dramatis.mjs');
const { values: o } = parseArgs({
  options: {
    out: { type: 'string' },
    against: { type: 'string' },
    samples: { type: 'string', default: '48' },
    preset: { type: 'string', multiple: true },
    'no-demo': { type: 'boolean', default: false },
    port: { type: 'string', default: '48731' },
    /** Compare the dumps already in --out with --against, running nothing. */
    'compare-only': { type: 'boolean', default: false },
  },
});
if (!o.out) throw new Error('--out DIR: where this pass writes its dumps');
const out = resolve(o.out);
const samples = Number(o.samples);
if (!Number.isInteger(samples) || samples < 1) throw new Error(`--samples ${o.samples}: a positive integer`);
const compareOnly = o['compare-only'];
if (!compareOnly) rmSync(out, { recursive: true, force: true });
const work = join(out, 'work');
mkdirSync(work, { recursive: true });

const presetDir = join(ROOT, 'presets');
const all = readdirSync(presetDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5))
  .sort();
const chosen = o.preset?.length ? o.preset : all;
for (const p of chosen) if (!all.includes(p)) throw new Error(`--preset ${p}: no such preset`);
/** Real-model presets: their model (and judge) is replaced by the served organism. */
const needsServer = (name: string) => /^\s*model:\s*openai:/m.test(readFileSync(join(presetDir, `${name}.yaml`), 'utf8'));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, ...env } });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => {
      if (code === 0) res({ stdout, stderr, seconds: (performance.now() - t0) / 1000 });
      else rej(new Error(`dramatis ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`));
    });
  });
}

/**
 * The organism's context (256 tokens) cannot hold a judge's prompt, so a proxy in front of
 * `dramatis serve` answers requests for the model `judge` itself: one number token whose top-20
 * log-probabilities are derived from a hash of the prompt (deterministic, spread over 0–100), and
 * forwards everything else (chat, files, fine-tuning jobs) to the server unchanged.
 */
function judgeReply(body: { model?: string; messages?: { content: string }[] }): unknown {
  const h = createHash('sha256')
    .update(JSON.stringify(body.messages ?? []))
    .digest();
  const top = Array.from({ length: 20 }, (_, i) => ({ token: String(h[i] % 101), logprob: -0.3 * (i + 1) - (h[i + 12] % 7) / 10, bytes: null }));
  return {
    id: 'judge',
    object: 'chat.completion',
    created: 0,
    model: 'judge',
    choices: [
      {
        index: 0,
        finish_reason: 'length',
        message: { role: 'assistant', content: top[0].token },
        logprobs: { content: [{ token: top[0].token, logprob: top[0].logprob, bytes: null, top_logprobs: top }] },
      },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

async function startJudgeProxy(upstream: string, port: number): Promise<{ url: string; close: () => void }> {
  const server = createHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && req.url?.endsWith('/chat/completions')) {
      const json = JSON.parse(body.toString('utf8')) as { model?: string };
      if (json.model === 'judge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(judgeReply(json)));
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
    const r = await fetch(`${upstream}${req.url!.replace(/^\/v1/, '')}`, {
      method: req.method,
      headers,
      body: ['GET', 'HEAD'].includes(req.method!) ? undefined : body,
    });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

// Fixed ports: a served model's fingerprint (and so its keys and its judge's name) includes the server's URL.
async function startServer(): Promise<{ url: string; child: ChildProcess; close: () => void }> {
  const port = Number(o.port);
  const child = spawn(process.execPath, [BIN, 'serve', '--model', 'assistant', '--port', String(port)], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}/v1`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/models`)).ok) {
        const proxy = await startJudgeProxy(url, port + 1);
        return {
          url: proxy.url,
          child,
          close: () => {
            proxy.close();
            child.kill();
          },
        };
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error('dramatis serve did not answer within 60 s');
}

/** Paths inside this pass's folder are written relative to it, so two passes compare equal. */
const relative = (s: string) => s.split(work).join('<work>');

/** Everything a run stored, in a canonical order, with timestamps and row ids left out. */
function dump(dbFile: string) {
  const db = new Database(dbFile, { readonly: true });
  try {
    const runs = (db.prepare('SELECT * FROM runs ORDER BY name, id').all() as Record<string, unknown>[]).map((r) => ({
      id: r.id,
      name: r.name,
      kind: r.kind,
      model: r.model,
      status: r.status,
      judge: r.judge ?? null,
      summary: r.summary ? JSON.parse(relative(r.summary as string)) : null,
      conditions: db.prepare('SELECT name, position, role, condition_key FROM conditions WHERE run_id = ? ORDER BY position').all(r.id) as Record<
        string,
        unknown
      >[],
    }));
    const samples = db
      .prepare('SELECT id, condition_key, question_id, idx, paraphrase, prompt, answer, finish_reason FROM samples ORDER BY condition_key, question_id, idx')
      .all() as Record<string, unknown>[];
    const keyOf = new Map(samples.map((s) => [s.id, `${s.condition_key}/${s.question_id}/${s.idx}`]));
    const judgments = (db.prepare('SELECT sample_id, judge, label, score FROM judgments').all() as Record<string, unknown>[])
      .map((j) => ({ sample: keyOf.get(j.sample_id), judge: j.judge, label: j.label, score: j.score }))
      .sort((a, b) => (`${a.sample}|${a.judge}` < `${b.sample}|${b.judge}` ? -1 : 1));
    return { runs, samples: samples.map(({ id: _id, ...s }) => s), judgments };
  } finally {
    db.close();
  }
}

const digest = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);

type Dump = ReturnType<typeof dump> & { stdout?: unknown };
const digests: Record<string, Record<string, string | number>> = {};
let server: { url: string; child: ChildProcess; close: () => void } | undefined;
if (compareOnly) {
  for (const f of readdirSync(out).filter((f) => f.endsWith('.json') && f !== 'digests.json')) digests[f.slice(0, -5)] = {};
}
try {
  for (const name of compareOnly ? [] : chosen) {
    const db = join(work, `${name}.db`);
    const args = ['run', name, '--db', db, '--json', '--samples', String(samples), '--report', join(work, `${name}.html`)];
    if (needsServer(name)) {
      server ??= await startServer();
      args.push('--model', 'openai:assistant', '--base-url', server.url, '--judge-model', 'openai:judge');
    }
    process.stderr.write(`${name} … `);
    const r = await cli(args);
    const d: Dump = dump(db);
    // The summaries are compared as stored; the printed JSON is the same object (checked below).
    writeFileSync(join(out, `${name}.json`), `${JSON.stringify(d, null, 1)}\n`);
    digests[name] = {
      samples: digest(d.samples),
      judgments: digest(d.judgments),
      summary: digest(d.runs.map((x) => ({ ...x, id: undefined, conditions: x.conditions.map((c) => ({ ...c, condition_key: undefined })) }))),
      keys: digest(d.runs.map((x) => [x.id, x.conditions.map((c) => c.condition_key)])),
      nSamples: d.samples.length,
      nJudgments: d.judgments.length,
      seconds: +r.seconds.toFixed(1),
    };
    process.stderr.write(`${d.samples.length} samples, ${d.judgments.length} judgments, ${r.seconds.toFixed(0)} s\n`);
  }
  if (!compareOnly && !o['no-demo'] && !o.preset?.length) {
    process.stderr.write('demo … ');
    const db = join(work, 'demo.db');
    const r = await cli(['demo', '--db', db, '--json', '--samples', String(samples), '--report', join(work, 'demo.html')]);
    const d: Dump = { ...dump(db), stdout: JSON.parse(relative(r.stdout)) };
    writeFileSync(join(out, 'demo.json'), `${JSON.stringify(d, null, 1)}\n`);
    digests.demo = {
      samples: digest(d.samples),
      judgments: digest(d.judgments),
      summary: digest(d.stdout),
      nSamples: d.samples.length,
      nJudgments: d.judgments.length,
      seconds: +r.seconds.toFixed(1),
    };
    process.stderr.write(`${r.seconds.toFixed(0)} s\n`);
  }
} finally {
  server?.close();
}
if (!compareOnly) writeFileSync(join(out, 'digests.json'), `${JSON.stringify({ samples, date: new Date().toISOString(), digests }, null, 2)}\n`);

/** The first differences between two values, as paths. */
function differences(a: unknown, b: unknown, path: string, acc: string[], limit = 8): void {
  if (acc.length >= limit) return;
  if (Object.is(a, b)) return;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    if (Array.isArray(a) !== Array.isArray(b)) {
      acc.push(`${path}: array vs object`);
      return;
    }
    const ka = a as Record<string, unknown>,
      kb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ka), ...Object.keys(kb)])) differences(ka[k], kb[k], `${path}.${k}`, acc, limit);
    return;
  }
  acc.push(`${path}: ${JSON.stringify(a)?.slice(0, 120)} → ${JSON.stringify(b)?.slice(0, 120)}`);
}

if (o.against) {
  const before = resolve(o.against);
  let failed = 0;
  console.log('\n| preset | samples | judgments | summary figures | keys |');
  console.log('|---|---|---|---|---|');
  for (const name of Object.keys(digests)) {
    const file = join(before, `${name}.json`);
    if (!existsSync(file)) {
      console.log(`| ${name} | no earlier dump | | | |`);
      failed++;
      continue;
    }
    const a = JSON.parse(readFileSync(file, 'utf8')) as Dump,
      b = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as Dump;
    // `format` (the results format's version) is new in format 2 and deliberately added to every summary.
    const unformatted = (x: unknown) => (x && typeof x === 'object' ? { ...(x as object), format: undefined } : x);
    const strip = (d: Dump) => ({
      runs: d.runs.map((x) => ({
        ...x,
        id: undefined,
        summary: unformatted(x.summary),
        conditions: x.conditions.map((c) => ({ ...c, condition_key: undefined })),
      })),
      stdout: d.stdout && { ...(d.stdout as object), experiments: ((d.stdout as { experiments?: unknown[] }).experiments ?? []).map(unformatted) },
    });
    const keys = (d: Dump) => d.runs.map((x) => [x.id, x.conditions.map((c) => c.condition_key)]);
    const parts = { samples: [a.samples, b.samples], judgments: [a.judgments, b.judgments], summary: [strip(a), strip(b)], keys: [keys(a), keys(b)] } as const;
    const cells: string[] = [];
    const notes: string[] = [];
    const sameRuns = JSON.stringify(a.runs.map((r) => r.name).sort()) === JSON.stringify(b.runs.map((r) => r.name).sort());
    if (!sameRuns) {
      // The set of runs changed on purpose (the demo now runs the shipped presets): compare the runs both
      // passes have, by name (their summaries and the samples under their conditions), and list the rest.
      const byName = (d: Dump) => new Map(d.runs.map((r) => [r.name, r]));
      const ra = byName(a),
        rb = byName(b);
      const samplesOf = (d: Dump, keys: unknown[]) => d.samples.filter((x) => keys.includes(x.condition_key));
      let differing = 0;
      for (const [runName, x] of ra) {
        const y = rb.get(runName);
        if (!y) {
          notes.push(`run ${runName}: only before`);
          continue;
        }
        const acc: string[] = [];
        differences(unformatted(x.summary), unformatted(y.summary), `${runName}.summary`, acc);
        const keys = (r: typeof x) => r.conditions.map((c) => c.condition_key);
        differences(samplesOf(a, keys(x)), samplesOf(b, keys(y)), `${runName}.samples`, acc);
        if (acc.length) differing++;
        notes.push(acc.length ? `run ${runName}: DIFFERENT` : `run ${runName}: the same summary and samples`, ...acc);
      }
      for (const runName of rb.keys()) if (!ra.has(runName)) notes.push(`run ${runName}: new`);
      failed += differing;
      console.log(`| ${name} | runs changed: ${differing ? `${differing} common runs DIFFERENT` : 'common runs the same'} | | | |`);
      for (const n of notes) console.log(`    ${n}`);
      continue;
    }
    for (const [part, [x, y]] of Object.entries(parts)) {
      const acc: string[] = [];
      differences(x, y, part, acc);
      cells.push(acc.length ? 'DIFFERENT' : 'same');
      // Keys may move on purpose (the figures may not): a changed key only costs a stored cache.
      if (acc.length && part !== 'keys') failed++;
      notes.push(...acc);
    }
    console.log(`| ${name} | ${cells.join(' | ')} |`);
    for (const n of notes) console.log(`    ${n}`);
  }
  console.log(failed ? `\n${failed} differences in samples, judgments or figures` : '\nevery preset: the same samples, judgments and figures');
  process.exitCode = failed ? 1 : 0;
}
