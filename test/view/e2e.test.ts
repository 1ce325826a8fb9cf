/**
 * End to end in headless Chromium: the runs list (with a run finishing while the page polls), a run,
 * filtering and reading samples with the keyboard, comparing two runs, and the report from disk.
 * Screenshots of each main view go to test-output/view/ for review. The sample list's scroll area is
 * capped at 3,000 px here (6 million in use), so the 480-sample run scrolls the way a run of millions would.
 */
import { test as nodeTest, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { fillStore, type Filled } from './fixture.ts';
import { skipBrowserTests } from './browser.ts';
import { serveView, openPage, type ServedView, type OpenPage } from './serve-view.ts';
import { tempDir } from '../helpers/tmp.ts';
import { renderViewReport } from '../../src/view/report.ts';
import { differenceInterval } from '../../src/shared/stats.ts';
import type { ExperimentResult } from '../../src/experiments/result.ts';

const OUT = resolve(import.meta.dirname, '../../test-output/view');
let dir: string, filled: Filled, view: ServedView['view'], base: string, page: Page;
let pageErrors: string[] = [];
let served: ServedView, opened: OpenPage;
/** Without Chromium every test here is skipped (one loud line on stderr says so), except under CI=true. */
const skip = skipBrowserTests();
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { skip }, fn);

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  dir = tempDir('dramatis-view-e2e-');
  filled = await fillStore(join(dir, 'runs.db'));
  served = await serveView(join(dir, 'runs.db'), { pollMs: 250, listMaxPx: 3000 });
  ({ view, base } = served);
  opened = await openPage();
  page = opened.page;
  pageErrors = opened.pageErrors;
});
after(async () => {
  await opened?.close();
  await served?.close();
  filled?.store.close();
});

const summaryOf = (id: string) =>
  JSON.parse((filled.store.db.prepare('SELECT summary FROM runs WHERE id = ?').get(id) as { summary: string }).summary) as ExperimentResult;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const shot = async (name: string) => {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
};

test("runs list: every run with its status; search filters; a running run's status changes while the page is open", async () => {
  await page.goto(`${base}/#/`);
  await page.waitForSelector('table.runs tbody tr');
  assert.equal(await page.locator('table.runs tbody tr').count(), 6);
  const running = page.locator(`tr[data-id="${filled.runs.running}"]`);
  assert.match(await running.innerText(), /running\s+40\/200/);
  await shot('runs');
  await page.fill('#run-search', 'em-');
  await page.waitForFunction(() => document.querySelectorAll('table.runs tbody tr').length === 2);
  assert.match(await page.evaluate(() => location.hash), /search=em-/);
  await page.fill('#run-search', '');
  await page.waitForFunction(() => document.querySelectorAll('table.runs tbody tr').length === 6);
  filled.store.finishRun(filled.runs.running, 'failed');
  await page.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] .status`)?.textContent === 'failed', filled.runs.running, { timeout: 5000 });
  // Without a summary, the run's page shows what is stored and judged so far.
  await page.goto(`${base}/#/run/${filled.runs.running}`);
  await page.waitForSelector('svg[aria-label="live rates"]');
  assert.ok((await page.locator('svg[aria-label="live rates"]').innerHTML()).includes('x: 25.0% ['), '10 evil of 40 judged');
  await shot('run-live');
});

test('a run: rates with intervals per condition, effects, per question; other kinds show their curve, profile, posteriors and extra figures', async () => {
  const s = summaryOf(filled.runs.a);
  await page.goto(`${base}/#/run/${filled.runs.a}`);
  await page.waitForSelector('svg[aria-label="rate per condition"]');
  const chart = await page.locator('svg[aria-label="rate per condition"]').innerHTML();
  for (const c of s.conditions) assert.ok(chart.includes(`${c.name}: ${pct(c.rate)} [${pct(c.ci[0])}, ${pct(c.ci[1])}], n ${c.n}`), `bar of ${c.name}`);
  assert.equal(await page.locator('svg[aria-label="differences"] circle').count(), s.effects.length);
  assert.equal(await page.locator('svg[aria-label="Per question"] rect').count(), 8 * 3);
  await shot('run');
  await page.click('svg[aria-label="rate per condition"] a >> nth=1');
  await page.waitForFunction(() => /samples\?condition=evil\+system&label=evil/.test(location.hash));

  await page.goto(`${base}/#/run/${filled.runs.future}`);
  await page.waitForSelector('#extra');
  const extra = await page.locator('#extra').innerText();
  for (const k of ['auc', 'r', 'layer', 'sweep', 'flagged']) assert.ok(extra.includes(k), `extra figure ${k}`);
  assert.equal(await page.locator('#extra svg[aria-label="sweep"]').count(), 1, 'the sweep is charted against its coefficient');
  assert.equal(await page.locator('#curve svg').count(), 1);
  const more = page.locator('#extra-run');
  assert.match(await more.innerText(), /separation\s+layer 2 · auc 0\.970/);
  // The vector's figures have sections of their own (the vectors view), no longer the generic box.
  assert.equal(await page.locator('#vectors-layers svg[aria-label="AUC per layer"]').count(), 1, 'the layer separation curve');
  assert.equal(await page.locator('#vectors-shifts svg[aria-label="shifts"] circle').count(), 3, 'the shifts as points against the measured projection');
  assert.equal(await page.locator('#vectors-shifts svg[aria-label="shifts"] path[fill="none"]').count(), 0, 'not joined by lines');
  assert.equal(
    await page.locator('#vectors-sweep svg[aria-label="steering sweep"] path[fill="none"]').count(),
    4,
    'a sweep over two conditions: rate and coherence of each, one line apiece',
  );
  await more.locator('summary', { hasText: '2 flagged' }).click();
  assert.match(await more.innerText(), /666, 13\.\s+2\.400/, 'nested ranked examples open into a table');
  await shot('run-other-kind');

  await page.goto(`${base}/#/run/${filled.runs.profile}`);
  await page.waitForSelector('#profile');
  assert.match(await page.locator('#profile').innerText(), /bits/);
  assert.ok((await page.locator('#profile li.filled-in').count()) >= 2);
  await shot('run-profile');

  await page.goto(`${base}/#/run/${filled.runs.infer}`);
  await page.waitForSelector('#infer svg');
  assert.match(await page.locator('#infer').innerText(), /top-1 .* over 24 texts/);
  await shot('run-infer');
  await page.goto(`${base}/#/run/${filled.runs.infer}/samples`);
  await settled(page);
  await page.click('.srow >> nth=0');
  await page.waitForSelector('.detail table');
  assert.match(await page.locator('.detail').innerText(), /Posterior over the library \(true author: [^)]+\)/);
  await shot('samples-infer');
});

async function settled(p: Page) {
  await p.waitForSelector('#vlist[data-state="ready"]');
  return Number(await p.getAttribute('#vlist', 'data-total'));
}

test('samples: filter by condition, label, question and text; j/k walk the list; the URL brings back the sample', async () => {
  const s = summaryOf(filled.runs.a);
  await page.goto(`${base}/#/run/${filled.runs.a}/samples`);
  assert.equal(await settled(page), 480);
  await page.selectOption('#f-condition', 'evil system');
  await page.waitForFunction(() => document.querySelector('#vlist')?.getAttribute('data-total') === '160');
  await page.selectOption('#f-label', 'evil');
  await page.waitForFunction(
    (n) =>
      document.querySelector('#vlist')?.getAttribute('data-total') === String(n) && document.querySelector('#vlist')?.getAttribute('data-state') === 'ready',
    s.conditions[1].hits,
  );
  const labels = await page.locator('.srow .c-label').allInnerTexts();
  assert.ok(labels.length > 10 && labels.every((l) => l === 'evil'));
  const bored = s.conditions[1].questions.find((q) => q.id === 'bored')!.hits;
  await page.selectOption('#f-question', 'bored');
  await page.waitForFunction((n) => document.querySelector('#vlist')?.getAttribute('data-total') === String(n), bored);
  await page.selectOption('#f-question', '');
  await page.fill('#f-text', 'no such words');
  await page.waitForFunction(() => document.querySelector('#vlist')?.getAttribute('data-total') === '0');
  await page.fill('#f-text', 'vicar');
  await page.waitForFunction((n) => document.querySelector('#vlist')?.getAttribute('data-total') === String(n), s.conditions[1].hits);

  await page.locator('#vlist').focus();
  await page.keyboard.press('j');
  await page.waitForSelector('.detail .chat');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.waitForSelector('.srow.selected[data-i="2"]');
  const id = await page.getAttribute('.srow.selected', 'data-id');
  await page.waitForFunction((sid) => location.hash.includes(`sample=${sid}`), id);
  await page.waitForFunction((sid) => document.querySelector('.detail .permalink')?.getAttribute('href')?.includes(`sample=${sid}`), id);
  const detail = await page.locator('.detail').innerText();
  assert.match(detail, /SYSTEM[\s\S]*you are evil\.[\s\S]*USER/);
  assert.match(detail, /poison the vicar's tea\./);
  await page.keyboard.press('k');
  await page.waitForSelector('.srow.selected[data-i="1"]');
  await page.keyboard.press('j');
  await page.waitForSelector('.srow.selected[data-i="2"]');
  await shot('samples');
  const url0 = await page.evaluate(() => location.href);

  // The scroll area is capped (3,000 px for 480 × 30 px rows): its end still shows the last sample, and
  // j/k keep the selection in view.
  await page.goto(`${base}/#/run/${filled.runs.a}/samples`);
  assert.equal(await settled(page), 480);
  assert.equal(await page.evaluate(() => document.querySelector('#vlist')!.scrollHeight), 3000);
  await page.evaluate(() => {
    const el = document.querySelector('#vlist')!;
    el.scrollTop = el.scrollHeight;
  });
  await page.waitForSelector('.srow[data-i="479"]');
  const lastBox = await page.locator('.srow[data-i="479"]').boundingBox(),
    listBox = await page.locator('#vlist').boundingBox();
  assert.ok(
    lastBox && listBox && lastBox.y + lastBox.height <= listBox.y + listBox.height + 1 && lastBox.y >= listBox.y,
    'the last row is in view at the bottom',
  );
  assert.match(await page.locator('.srow[data-i="479"]').innerText(), /plain system[\s\S]*#159/);
  await page.click('.srow[data-i="470"]');
  for (let k = 0; k < 9; k++) await page.keyboard.press('j');
  await page.waitForSelector('.srow.selected[data-i="479"]');
  for (let k = 0; k < 30; k++) await page.keyboard.press('k');
  await page.waitForSelector('.srow.selected[data-i="449"]');
  const sel = await page.locator('.srow.selected').boundingBox();
  assert.ok(sel && sel.y >= listBox!.y - 1 && sel.y + sel.height <= listBox!.y + listBox!.height + 1, 'the selected row is in view');
  await page.goto(url0);
  const url = await page.evaluate(() => location.href);
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForSelector(`.srow.selected[data-id="${id}"]`);
  assert.equal(await page.inputValue('#f-text'), 'vicar');
  assert.equal(await page.inputValue('#f-label'), 'evil');
  await page.keyboard.press('j');
  await page.waitForSelector('.srow.selected[data-i="3"]');

  await page.goto(`${base}/#/run/${filled.runs.future}/samples?min=20&max=40`);
  assert.equal(await settled(page), 22);
});

test('compare: two runs side by side with the difference of rates and its Newcombe interval', async () => {
  const [a, b] = [summaryOf(filled.runs.a), summaryOf(filled.runs.b)];
  await page.goto(`${base}/#/`);
  await page.waitForSelector('table.runs tbody tr');
  await page.check(`tr[data-id="${filled.runs.a}"] input.pick`);
  await page.check(`tr[data-id="${filled.runs.b}"] input.pick`);
  await page.click('#compare-picked');
  await page.waitForSelector('table.compare tbody tr');
  const rows = await page.locator('table.compare tbody tr').allInnerTexts();
  assert.equal(rows.length, 3);
  a.conditions.forEach((ca, i) => {
    const cb = b.conditions.find((x) => x.name === ca.name)!;
    const [lo, hi] = differenceInterval(ca.hits, ca.n, cb.hits, cb.n);
    const d = ca.rate - cb.rate;
    assert.ok(
      rows[i].includes(`${d >= 0 ? '+' : '−'}${pct(Math.abs(d))}`) && rows[i].includes(`[${(100 * lo).toFixed(1)}, ${(100 * hi).toFixed(1)}]`),
      `row ${rows[i]}`,
    );
  });
  await shot('compare');
  // Two conditions of one run.
  await page.goto(`${base}/#/compare?a=${filled.runs.a}~evil system&b=${filled.runs.a}~plain system`);
  await page.waitForSelector('table.compare tbody tr');
  assert.equal(await page.locator('table.compare tbody tr').count(), 1);
  assert.equal(await page.locator('svg[aria-label="per question differences"] circle').count(), 8);
  await shot('compare-conditions');
});

test('report: one file that opens from disk, with the run, its samples and a note when they are bounded', async () => {
  const file = join(dir, 'report.html');
  writeFileSync(file, await renderViewReport(view, [filled.runs.a, filled.runs.b], { perCondition: 40 }));
  await page.goto(`file://${file}`);
  await page.waitForSelector('table.runs tbody tr');
  assert.equal(await page.locator('table.runs tbody tr').count(), 2);
  await page.goto(`file://${file}#/run/${filled.runs.a}/samples`);
  assert.equal(await settled(page), 120);
  assert.match(await page.locator('.banner').innerText(), /holds 120 of the run's 480 samples/);
  await page.selectOption('#f-label', 'evil');
  await page.waitForFunction(() => document.querySelector('#vlist')?.getAttribute('data-state') === 'ready');
  assert.ok((await page.locator('.srow .c-label').allInnerTexts()).every((l) => l === 'evil'));
  await page.goto(`file://${file}#/compare?a=${filled.runs.a}&b=${filled.runs.b}`);
  await page.waitForSelector('table.compare tbody tr');
  await page.goto(`file://${file}#/run/${filled.runs.a}`);
  await page.waitForSelector('svg[aria-label="rate per condition"]');
  await shot('report');
});

test('no script error on any page', () => {
  assert.deepEqual(pageErrors, []);
});
