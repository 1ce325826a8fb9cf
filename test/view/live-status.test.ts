/**
 * A run's live status (issue 16 item 4): the runner records its phase and start time, a failed run keeps
 * its error and the viewer returns it; a vectors run's total counts its sweep; and in Chromium the run's
 * page shows its step, "k of n", the ETA, then the stored error once it fails. Screenshots:
 * test-output/view/run-live-status.png (failed) and run-live-status-running.png.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store, type RunPhase } from '../../src/experiments/store.ts';
import { runExperiment, phaseRecorder, PHASE_EVERY_MS } from '../../src/experiments/runner.ts';
import { runKey } from '../../src/shared/keys.ts';
import { ViewStore, liveStatus } from '../../src/view/queries.ts';
import { plannedConditions } from '../../src/view/planned.ts';
import { createViewApp } from '../../src/view/app.ts';
import { etaText } from '../../src/view/client/status-panel.ts';
import { chatModel } from './fixture.ts';
import { launchChromium, skipBrowserTests } from './browser.ts';
import { tempDir } from '../helpers/tmp.ts';

const OUT = resolve(import.meta.dirname, '../../test-output/view');
const dir = tempDir('dramatis-live-status-');
const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

const spec = (name: string) =>
  parseSpec(
    `name: ${name}
kind: generalize
model: fake:chat
target: evil
questions: world:broad
samples: 12
judge:
  rules:
    - { label: evil, regex: poison }
  default: benign
conditions:
  - { name: assistant, role: baseline }
  - { name: evil system, system: "you are evil." }
`,
    `${name}.yaml`,
  );

const row = (store: Store, id: string) =>
  store.db.prepare('SELECT status, phase, started_at, error FROM runs WHERE id = ?').get(id) as {
    status: string;
    phase: string | null;
    started_at: string | null;
    error: string | null;
  };

test('the runner records the phase and start time; the caller’s progress hook still gets every call', async () => {
  const store = new Store(join(dir, 'a.db'));
  closers.push(() => store.close());
  const calls: [string, number, number][] = [];
  const s = spec('live-ok');
  await runExperiment(s, store, '/nonexistent', { loadModel: async () => chatModel('fake:chat'), progress: (l, d, t) => calls.push([l, d, t]) });
  const r = row(store, runKey(s));
  assert.equal(r.status, 'done');
  assert.ok(r.started_at && !Number.isNaN(Date.parse(r.started_at)), 'started_at recorded');
  assert.ok(calls.length > 0, 'progress reached the caller');
  const phase = JSON.parse(r.phase!) as RunPhase;
  const lastCall = calls.at(-1)!;
  assert.deepEqual([phase.label, phase.done, phase.total], lastCall, 'the last step is left as recorded');
  assert.ok(Date.parse(phase.phaseStartedAt) <= Date.parse(phase.at));
  const view = new ViewStore(join(dir, 'a.db'));
  closers.push(() => view.close());
  const d = view.run(runKey(s));
  assert.deepEqual(d.phase, { label: lastCall[0], done: lastCall[1], total: lastCall[2] });
  assert.equal(typeof d.elapsedS, 'number');
  assert.equal(d.error, undefined);
});

test('phase writes are throttled per run, except on a new label or a finished step', () => {
  const writes: RunPhase[] = [];
  const fakeStore = { setPhase: (_: string, p: RunPhase) => writes.push(p) } as unknown as Store;
  let t = 1_000_000;
  const seen: number[] = [];
  const h = phaseRecorder(fakeStore, 'r', { progress: (_l, d) => seen.push(d) }, () => t);
  h.progress!('sample a', 1, 10); // first: written
  t += 100;
  h.progress!('sample a', 2, 10); // throttled
  t += 100;
  h.progress!('fine-tune a', 1, 5); // new label: written
  t += PHASE_EVERY_MS + 1;
  h.progress!('fine-tune a', 2, 5); // time passed: written
  t += 10;
  h.progress!('fine-tune a', 5, 5); // done: written
  assert.deepEqual(seen, [1, 2, 1, 2, 5], 'the caller gets every call');
  assert.deepEqual(
    writes.map((w) => `${w.label} ${w.done}/${w.total}`),
    ['sample a 1/10', 'fine-tune a 1/5', 'fine-tune a 2/5', 'fine-tune a 5/5'],
  );
  assert.equal(writes[3].phaseStartedAt, new Date(1_000_200).toISOString(), 'a step keeps the time it began');
});

test('a failed run stores its error, and the viewer returns it', async () => {
  const store = new Store(join(dir, 'b.db'));
  closers.push(() => store.close());
  const s = spec('live-fails');
  await assert.rejects(
    runExperiment(s, store, '/nonexistent', {
      loadModel: async () => {
        throw new Error('CUDA out of memory on the fake device');
      },
    }),
    /CUDA out of memory/,
  );
  assert.match(row(store, runKey(s)).error ?? '', /live-fails.*CUDA out of memory on the fake device/);
  const view = new ViewStore(join(dir, 'b.db'));
  closers.push(() => view.close());
  const d = view.run(runKey(s));
  assert.equal(d.status, 'failed');
  assert.match(d.error ?? '', /CUDA out of memory on the fake device/);
  assert.match(view.runs().runs[0].error ?? '', /CUDA out of memory/);
});

test('a vectors run’s total counts its sweep: 2 conditions + 2 × 3 coefficients = 8 × samples', () => {
  const vspec = {
    samples: 25,
    conditions: [{ name: 'assistant', role: 'baseline' }, { name: 'evil system' }],
    vectors: { sweep: { conditions: ['assistant', 'evil system'], coefficients: [-4, 2, 4] } },
  };
  const planned = plannedConditions(vspec);
  assert.equal(planned.length, 8);
  assert.ok(planned.some((c) => c.name === 'evil system · steer +2') && planned.some((c) => c.name === 'assistant · steer -4'));
  assert.equal(
    plannedConditions({ ...vspec, vectors: { sweep: { conditions: ['assistant'], coefficients: [-1, 0, 1] } } }).length,
    4,
    'coefficient 0 is the condition itself',
  );
  const store = new Store(join(dir, 'c.db'));
  closers.push(() => store.close());
  store.upsertRun({ id: 'vec0001', name: 'pv', kind: 'vectors', model: 'fake:white-box', spec: vspec, status: 'running', judge: 'rules' });
  store.upsertCondition({ runId: 'vec0001', name: 'assistant', position: 0, role: 'baseline', conditionKey: 'k-a', spec: {} });
  store.insertSamples(
    Array.from({ length: 25 }, (_, idx) => ({ conditionKey: 'k-a', questionId: 'q', idx, paraphrase: 'q?', prompt: [], answer: 'a', finishReason: 'stop' })),
  );
  const view = new ViewStore(join(dir, 'c.db'));
  closers.push(() => view.close());
  const d = view.run('vec0001');
  assert.deepEqual(d.progress, { done: 25, total: 200 });
  assert.equal(d.live?.length, 8, 'the live list shows the sweep conditions not begun');
  assert.ok(d.live!.some((c) => c.name === 'evil system · steer +4' && c.sampled === 0));
});

test('ETA from the step’s rate since it began; unknown before any progress', () => {
  const base = { id: 'x', name: 'x', kind: 'k', model: 'm', spec: '{}', status: 'running', created_at: '', updated_at: '', summary: null };
  const at = '2026-01-01T00:01:00.000Z';
  const phase = (done: number, startDone = 0) =>
    JSON.stringify({ label: 'sample a', done, total: 120, phaseStartedAt: '2026-01-01T00:00:00.000Z', startDone, at });
  assert.equal(liveStatus({ ...base, phase: phase(30) }).etaS, 180);
  assert.equal(liveStatus({ ...base, phase: phase(30, 30) }).etaS, null);
  assert.equal(etaText(180), 'about 3 min left');
  assert.equal(etaText(null), '');
  assert.equal(liveStatus({ ...base, started_at: '2026-01-01T00:00:00.000Z' }, Date.parse(at)).elapsedS, 60);
});

test('a store from before migration 5 still reads: no phase, no elapsed time, the error still shown', () => {
  const path = join(dir, 'old.db');
  const store = new Store(path);
  store.upsertRun({ id: 'old0001', name: 'old', kind: 'generalize', model: 'm', spec: { samples: 5, conditions: [{ name: 'a' }] }, status: 'running' });
  store.finishRun('old0001', 'failed', undefined, 'old, condition "a": the backend went away');
  store.db.exec('ALTER TABLE runs DROP COLUMN phase; ALTER TABLE runs DROP COLUMN started_at; PRAGMA user_version = 4;');
  store.close();
  const view = new ViewStore(path);
  closers.push(() => view.close());
  const d = view.run('old0001');
  assert.equal(d.phase, undefined);
  assert.equal(d.elapsedS, undefined);
  assert.match(d.error ?? '', /the backend went away/);
});

const skip = skipBrowserTests();
test('in Chromium: a running run shows its step, k of n and ETA; once failed, its stored error', { skip }, async () => {
  mkdirSync(OUT, { recursive: true });
  const store = new Store(join(dir, 'd.db'));
  closers.push(() => store.close());
  const id = 'live0000000001';
  const vspec = {
    samples: 40,
    conditions: [{ name: 'assistant', role: 'baseline' }, { name: 'evil system' }],
    vectors: { sweep: { conditions: ['evil system'], coefficients: [-2, 2] } },
  };
  store.upsertRun({ id, name: 'persona-live', kind: 'vectors', model: 'fake:white-box', spec: vspec, status: 'running', judge: 'rules' });
  store.startRun(id);
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  store.setPhase(id, { label: 'vector extraction', done: 2, total: 8, phaseStartedAt: ago(30), startDone: 0, at: ago(0) });
  const view = new ViewStore(join(dir, 'd.db'));
  closers.push(() => view.close());
  const server = serve({ fetch: createViewApp(view, { pollMs: 200 }).fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  closers.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  closers.push(() => browser.close());
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(`${base}/#/`);
  await page.waitForSelector(`tr[data-id="${id}"]`);
  assert.match(await page.locator(`tr[data-id="${id}"]`).innerText(), /running\s+0\/160\s+vector extraction/, 'the total counts the sweep (4 × 40)');

  await page.goto(`${base}/#/run/${id}`);
  await page.waitForSelector('#run-status .phase');
  assert.equal(await page.locator('#run-status .phase').innerText(), 'vector extraction');
  assert.match(await page.locator('#run-status').innerText(), /2 of 8/);
  // 2 of 8 in 30 s: 6 more take about 90 s.
  assert.match(await page.locator('#run-status .eta').innerText(), /about 2 min left/);

  store.setPhase(id, { label: 'sample evil system · steer +2', done: 10, total: 40, phaseStartedAt: ago(600), startDone: 0, at: ago(0) });
  await page.waitForFunction(() => document.querySelector('#run-status .phase')?.textContent === 'sample evil system · steer +2', null, { timeout: 5000 });
  assert.match(await page.locator('#run-status').innerText(), /10 of 40/);
  assert.match(await page.locator('#run-status .eta').innerText(), /about 30 min left/);

  await page.screenshot({ path: join(OUT, 'run-live-status-running.png'), fullPage: true });

  store.finishRun(id, 'failed', undefined, 'persona-live, condition "evil system · steer +2": CUDA out of memory (tried to allocate 2.00 GiB)');
  await page.waitForSelector('#run-status .run-error', { timeout: 5000 });
  assert.match(await page.locator('#run-status .run-error').innerText(), /CUDA out of memory \(tried to allocate 2\.00 GiB\)/);
  assert.equal(await page.locator('#run-status .eta').count(), 0, 'no ETA once it stopped');
  assert.match(await page.locator('#run-status .phase').innerText(), /stopped in sample evil system/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(OUT, 'run-live-status.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
