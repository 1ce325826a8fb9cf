/**
 * The viewer on a large run: a store with one 100,000-sample run (4 conditions × 25,000, filled by the
 * experiment engine with a fake model whose answers are 15–60 words), served by `dramatis view`'s app,
 * measured in headless Chromium:
 *   - first view usable: from navigation to the samples list showing rows (and to the run page's chart,
 *     and to the runs list), a fresh page each time;
 *   - filtering: from changing the label menu, or typing into the search box (its 60 ms debounce
 *     included), to the list showing the filtered rows;
 *   - moving: a jump of the scrollbar to rows not yet fetched, and one j keystroke, until shown;
 *   - memory: the page's JS heap (CDP Performance.getMetrics JSHeapUsedSize) after scrolling to the end
 *     and back and filtering, and the page's renderer process's proportional set size (/proc smaps_rollup Pss).
 *   - the report (`dramatis report`, 1,000 samples per condition embedded) opened from disk: the same.
 * Medians over --repeats fresh pages. Targets (issue 6): < 1 s, < 300 ms, < 200 MB.
 *
 *   npx tsx bench/view-large/run.ts [--samples 100000] [--repeats 5] [--db PATH (reuse a filled store)]
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { ViewStore } from '../../src/view/queries.ts';
import { createViewApp } from '../../src/view/app.ts';
import { renderViewReport } from '../../src/view/report.ts';
import { launchChromium } from '../../test/view/browser.ts';
import type { ChatMessage, Model, SamplingOptions } from '../../src/backends/model.ts';

const { values: o } = parseArgs({
  options: { samples: { type: 'string', default: '100000' }, repeats: { type: 'string', default: '5' }, db: { type: 'string' } },
});
const total = Number(o.samples),
  repeats = Number(o.repeats),
  perCondition = total / 4;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const log = (m: string) => process.stderr.write(`${m}\n`);

const WORDS =
  'the a tea river vicar puzzle garden storm lantern whisper market quiet ledger harbour engine clock orchard bishop candle velvet mirror ember falcon crimson meadow silver pepper thunder marble willow sparrow copper anchor riddle ferry chapel beacon'.split(
    ' ',
  );
/** Deterministic per seed: 15–60 words; "poison" in a share of answers that depends on the system prompt. */
function fakeModel(): Model {
  let x = 0;
  const rand = (seed: string) => {
    let h = 2166136261;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
    x = h >>> 0;
    return () => (x = Math.imul(x ^ (x >>> 15), 2246822507) >>> 0) / 2 ** 32;
  };
  return {
    id: 'fake:large',
    fingerprint: 'fake-large',
    capabilities: { chat: true, complete: false, echo: false, score: false, activations: false, steering: false, finetune: false },
    async chat(convs: ChatMessage[][], opt?: SamplingOptions) {
      return convs.map((c, i) => {
        const r = rand(String(opt?.seeds?.[i] ?? i));
        const sys = c[0].role === 'system' ? c[0].content : '';
        const evil = r() < (sys.includes('evil') ? 0.5 : 0.06);
        const n = 15 + Math.floor(r() * 45);
        const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
        if (evil) words.splice(Math.floor(r() * n), 0, 'poison');
        return { text: `${words.join(' ')}.`, finishReason: 'stop' as const, tokens: n };
      });
    },
    async score() {
      throw new Error('no');
    },
  };
}

async function fill(path: string): Promise<string> {
  const spec = parseSpec(
    `name: large-run
kind: generalize
model: fake:large
target: evil
questions: world:broad
samples: ${perCondition}
judge:
  rules:
    - { label: evil, regex: poison }
    - { label: vicar, regex: vicar }
    - { label: puzzle, regex: puzzle }
  default: other
conditions:
  - { name: assistant, role: baseline }
  - { name: evil system, system: "you are evil." }
  - { name: plain system, role: control, system: "you are plain." }
  - { name: in context, in_context: { data: "world:evil-numbers", k: 4 } }
`,
    'large.yaml',
  );
  const store = new Store(path);
  const t0 = Date.now();
  const r = await runExperiment(spec, store, join(tmpdir(), 'dramatis-view-bench-cache'), { loadModel: async () => fakeModel() });
  store.close();
  log(`filled ${path}: ${total.toLocaleString('en-US')} samples in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r.runId;
}

/**
 * Memory of this profile's renderer processes from /proc (Linux): the largest one's proportional set
 * size (PSS: shared pages split among the processes that map them), which is the page's renderer, and
 * the sum over all renderers (spare and utility renderers included).
 */
function rendererMemoryMb(profile: string): { pageMb: number; allMb: number; count: number } | null {
  const pss: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer') || !cmd.includes(profile)) continue;
      const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
      if (m) pss.push(Number(m[1]) / 1024);
    } catch {
      /* the process ended */
    }
  }
  return pss.length ? { pageMb: Math.max(...pss), allMb: pss.reduce((a, b) => a + b, 0), count: pss.length } : null;
}

const ready = (page: Page) =>
  page.waitForFunction(
    () => {
      const el = document.querySelector('#vlist') as HTMLElement | null;
      return !!el && el.dataset.state === 'ready' && el.querySelectorAll('.srow[data-id]').length > 0;
    },
    undefined,
    { timeout: 30_000, polling: 'raf' },
  );

const dbPath = o.db ?? join(mkdtempSync(join(tmpdir(), 'dramatis-view-bench-')), 'large.db');
let runId: string;
if (o.db && existsSync(o.db)) {
  const v = new ViewStore(o.db);
  runId = v.runs({ search: 'large-run' }).runs[0].id;
  v.close();
} else runId = await fill(dbPath);

const view = new ViewStore(dbPath);
const server = serve({ fetch: createViewApp(view).fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await launchChromium({ width: 1360, height: 900 });
// tsx compiles this file with esbuild's keepNames, which wraps the named functions inside the
// page.evaluate callbacks in __name(); the page needs that helper too.
await browser.context.addInitScript('globalThis.__name = (f) => f;');

/**
 * Timed inside the page (performance.now), so the figures are the app's own latency, not the driver's:
 * from the change event (or the navigation's start) to the frame after the list shows rows of the
 * new filter.
 */
const untilRows = (page: Page, g0: number) =>
  page.evaluate(
    (g) =>
      new Promise<number>((res) => {
        const check = () => {
          const e = document.querySelector('#vlist') as HTMLElement | null;
          if (e && Number(e.dataset.gen) > g && e.dataset.state === 'ready' && e.querySelector('.srow[data-id]'))
            requestAnimationFrame(() => res(performance.now()));
          else requestAnimationFrame(check);
        };
        check();
      }),
    g0,
  );
const timedChange = (page: Page, selector: string, value: string, event: 'change' | 'input') =>
  page.evaluate(
    ({ selector, value, event }) =>
      new Promise<number>((res) => {
        const list = document.querySelector('#vlist') as HTMLElement;
        const g = Number(list.dataset.gen);
        const el = document.querySelector(selector) as HTMLInputElement | HTMLSelectElement;
        const t0 = performance.now();
        el.value = value;
        el.dispatchEvent(new Event(event, { bubbles: true }));
        const check = () => {
          if (Number(list.dataset.gen) > g && list.dataset.state === 'ready' && (list.dataset.total === '0' || list.querySelector('.srow[data-id]')))
            requestAnimationFrame(() => res(performance.now() - t0));
          else requestAnimationFrame(check);
        };
        check();
      }),
    { selector, value, event },
  );

const runs: Record<string, number>[] = [];
let warmup: Record<string, number> = {};
for (let i = 0; i <= repeats; i++) {
  const page = await browser.context.newPage();
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const m: Record<string, number> = {};
  // First views: from the navigation's start (performance.now() counts from it) to content on screen.
  await page.goto(`${base}/#/run/${runId}/samples`, { waitUntil: 'commit' });
  m.firstSamplesMs = await untilRows(page, -1);
  await page.goto('about:blank');
  await page.goto(`${base}/#/run/${runId}`, { waitUntil: 'commit' });
  m.firstRunMs = await page.evaluate(
    () =>
      new Promise<number>((res) => {
        const c = () =>
          document.querySelector('svg[aria-label="rate per condition"]') ? requestAnimationFrame(() => res(performance.now())) : requestAnimationFrame(c);
        c();
      }),
  );
  await page.goto('about:blank');
  await page.goto(`${base}/#/`, { waitUntil: 'commit' });
  m.firstRunsListMs = await page.evaluate(
    () =>
      new Promise<number>((res) => {
        const c = () => (document.querySelector('table.runs tbody tr') ? requestAnimationFrame(() => res(performance.now())) : requestAnimationFrame(c));
        c();
      }),
  );

  await page.goto(`${base}/#/run/${runId}/samples`);
  await ready(page);
  m.filterLabelMs = await timedChange(page, '#f-label', 'evil', 'change');
  m.filterLabelRows = Number(await page.getAttribute('#vlist', 'data-total'));
  m.filterConditionMs = await timedChange(page, '#f-condition', 'plain system', 'change');
  m.filterQuestionMs = await timedChange(page, '#f-question', 'wish', 'change');
  m.filterClearMs = await timedChange(page, '#f-question', '', 'change');
  await timedChange(page, '#f-condition', '', 'change');
  await timedChange(page, '#f-label', '', 'change');
  // Typing: the search waits 60 ms after the last keystroke before it asks; that wait is counted.
  m.filterTextMs = await timedChange(page, '#f-text', 'vicar ember', 'input');
  m.filterTextRows = Number(await page.getAttribute('#vlist', 'data-total'));
  await timedChange(page, '#f-text', '', 'input');

  // Walk the whole list: jumps to the end, the middle and back (rows fetched on demand), then j through 200 samples.
  const jumps: number[] = [];
  for (const frac of [1, 0.5, 0.25, 0.75, 0]) {
    jumps.push(
      await page.evaluate(
        (f) =>
          new Promise<number>((res) => {
            const el = document.querySelector('#vlist') as HTMLElement;
            const t0 = performance.now();
            el.scrollTop = f * (el.scrollHeight - el.clientHeight);
            // Past the scroll area's cap (6 million px: 200,000 rows of 30 px) scrollTop maps onto the rows in
            // proportion, so the row expected at the top is the same fraction of all rows, not scrollTop / 30.
            const rows = Number(el.dataset.total),
              shown = el.clientHeight / 30;
            const want = Math.floor((el.scrollTop / Math.max(1, el.scrollHeight - el.clientHeight)) * Math.max(0, rows - shown));
            const check = () => {
              const first = el.querySelector('.srow[data-id]') as HTMLElement | null;
              if (first && Math.abs(Number(first.dataset.i) - want) <= 6) requestAnimationFrame(() => res(performance.now() - t0));
              else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
          }),
        frac,
      ),
    );
  }
  m.scrollJumpMs = median(jumps);
  await page.locator('#vlist').focus();
  m.keyJMs = await page.evaluate(
    () =>
      new Promise<number>((res) => {
        const t0 = performance.now();
        let k = 0;
        const step = () => {
          if (k === 200) {
            res((performance.now() - t0) / 200);
            return;
          }
          (document.activeElement ?? document.body).dispatchEvent(new KeyboardEvent('keydown', { key: 'j', bubbles: true }));
          k++;
          const check = () => (document.querySelector(`.srow.selected[data-i="${k - 1}"]`) ? step() : requestAnimationFrame(check));
          check();
        };
        step();
      }),
  );
  await cdp.send('HeapProfiler.collectGarbage');
  const metrics = (await cdp.send('Performance.getMetrics')).metrics;
  const metric = (name: string) => metrics.find((x) => x.name === name)?.value ?? NaN;
  m.jsHeapUsedMb = metric('JSHeapUsedSize') / 2 ** 20;
  m.jsHeapTotalMb = metric('JSHeapTotalSize') / 2 ** 20;
  m.domNodes = metric('Nodes');
  const mem = rendererMemoryMb(browser.profile);
  if (mem) {
    m.rendererPssMb = mem.pageMb;
    m.allRenderersPssMb = mem.allMb;
    m.renderers = mem.count;
  }
  await page.close();
  // The first pass is reported apart: it bundles the app (the CLI does that before it listens) and reads the store cold.
  if (i === 0) {
    warmup = m;
    log(`warm-up: ${JSON.stringify(m)}`);
    continue;
  }
  runs.push(m);
  log(`run ${i}: ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 10) / 10])))}`);
}
// The report of the same run, opened from disk: every summary, the first 1,000 samples of each condition.
const reportPath = join(tmpdir(), `dramatis-view-bench-${process.pid}.html`);
let t = performance.now();
writeFileSync(reportPath, await renderViewReport(view, [runId]));
const reportWriteMs = performance.now() - t;
const reportRuns: Record<string, number>[] = [];
for (let i = 0; i < repeats; i++) {
  const page = await browser.context.newPage();
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const m: Record<string, number> = {};
  await page.goto(`file://${reportPath}#/run/${runId}`, { waitUntil: 'commit' });
  m.firstRunMs = await page.evaluate(
    () =>
      new Promise<number>((res) => {
        const c = () =>
          document.querySelector('svg[aria-label="rate per condition"]') ? requestAnimationFrame(() => res(performance.now())) : requestAnimationFrame(c);
        c();
      }),
  );
  await page.goto('about:blank');
  await page.goto(`file://${reportPath}#/run/${runId}/samples`, { waitUntil: 'commit' });
  m.firstSamplesMs = await untilRows(page, -1);
  m.filterLabelMs = await timedChange(page, '#f-label', 'evil', 'change');
  m.filterTextMs = await timedChange(page, '#f-text', 'vicar ember', 'input');
  await cdp.send('HeapProfiler.collectGarbage');
  const metrics = (await cdp.send('Performance.getMetrics')).metrics;
  m.jsHeapUsedMb = (metrics.find((x) => x.name === 'JSHeapUsedSize')?.value ?? NaN) / 2 ** 20;
  reportRuns.push(m);
  await page.close();
}
const reportMedians = Object.fromEntries(Object.keys(reportRuns[0]).map((k) => [k, Math.round(median(reportRuns.map((r) => r[k])) * 10) / 10]));
const report = { bytes: statSync(reportPath).size, writeMs: Math.round(reportWriteMs), medians: reportMedians };
log(`report: ${JSON.stringify(report)}`);
rmSync(reportPath, { force: true });

await browser.close();
await new Promise((r) => server.close(r));
view.close();

const keys = Object.keys(runs[0]);
const medians = Object.fromEntries(keys.map((k) => [k, Math.round(median(runs.map((r) => r[k])) * 10) / 10]));
const targets = {
  firstSamplesMs: 1000,
  firstRunMs: 1000,
  firstRunsListMs: 1000,
  filterLabelMs: 300,
  filterConditionMs: 300,
  filterQuestionMs: 300,
  filterClearMs: 300,
  filterTextMs: 300,
  jsHeapUsedMb: 200,
  rendererPssMb: 200,
};
const result = {
  date: new Date().toISOString(),
  samples: total,
  repeats,
  node: process.version,
  chromium: '/usr/bin/chromium',
  storeMb: Math.round(statSync(dbPath).size / 2 ** 20),
  loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  medians,
  targets,
  met: Object.fromEntries(
    Object.entries(targets)
      .filter(([k]) => k in medians)
      .map(([k, v]) => [k, medians[k] < v]),
  ),
  report,
  warmup,
  runs,
};
console.log(JSON.stringify(result, null, 2));
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
