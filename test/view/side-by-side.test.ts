/**
 * Side by side in real Chromium: two conditions of two runs paired by question and sample index, the
 * "labels differ" filter (counted against the store), Swap, and the compare page refusing to draw a
 * difference between runs that count different targets.
 */
import { test as nodeTest, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { fillStore, type Filled } from './fixture.ts';
import { skipBrowserTests } from './browser.ts';
import { serveView, openPage, type ServedView, type OpenPage } from './serve-view.ts';
import { tempDir } from '../helpers/tmp.ts';
import { pairSamples } from '../../src/view/client/side-by-side.ts';
import type { SampleRow } from '../../src/view/types.ts';

const OUT = resolve(import.meta.dirname, '../../test-output/view');
const skip = skipBrowserTests();
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { skip }, fn);
let filled: Filled, view: ServedView['view'], base: string, page: Page;
let served: ServedView, opened: OpenPage;
let pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  const dir = tempDir('dramatis-view-sbs-');
  filled = await fillStore(join(dir, 'runs.db'));
  served = await serveView(join(dir, 'runs.db'));
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

const all = (run: string, condition: string): SampleRow[] => view.samples(run, { condition }, 0, 100000).rows;

test('pairing: by question and sample index, samples on one side only kept apart', () => {
  const r = (q: string, idx: number, label: string): SampleRow => ({
    id: idx,
    condition: 'c',
    questionId: q,
    idx,
    paraphrase: '',
    answer: '',
    finishReason: 'stop',
    label,
    score: null,
  });
  const p = pairSamples([r('q1', 0, 'x'), r('q1', 1, 'y')], [r('q1', 1, 'z'), r('q2', 0, 'x')]);
  assert.deepEqual(
    p.map((x) => [x.key, x.a?.label ?? null, x.b?.label ?? null]),
    [
      ['q1#0', 'x', null],
      ['q1#1', 'y', 'z'],
      ['q2#0', null, 'x'],
    ],
  );
});

test('side by side: pairs, the labels-differ filter, swap', async () => {
  const a = `${filled.runs.a}~evil system`,
    b = `${filled.runs.b}~evil system`;
  const pairs = pairSamples(all(filled.runs.a, 'evil system'), all(filled.runs.b, 'evil system'));
  const both = pairs.filter((p) => p.a && p.b);
  const differ = both.filter((p) => p.a!.label !== p.b!.label);
  assert.ok(differ.length > 0 && differ.length < both.length, 'the fixture has pairs that agree and pairs that differ');
  await page.goto(`${base}/#/compare/samples?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  await page.waitForSelector('table.sbs');
  assert.equal(Number(await page.getAttribute('table.sbs', 'data-shown')), pairs.length);
  assert.equal(await page.locator('#n-differ').innerText(), String(differ.length));
  await page.check('#sbs-differ');
  await page.waitForFunction((n) => document.querySelector('table.sbs')?.getAttribute('data-shown') === String(n), differ.length);
  assert.equal(await page.locator('table.sbs tbody tr.differ').count(), differ.length);
  assert.match(await page.evaluate(() => location.hash), /differ=1/);
  // One row, checked against the store: A's answer left, B's right, each with its label.
  const first = differ[0];
  const cells = await page.locator(`tr[data-key="${first.key}"] td`).allInnerTexts();
  assert.ok(cells[0].startsWith(first.a!.label!) && cells[0].includes(first.a!.answer.slice(0, 20)));
  assert.ok(cells[1].startsWith(first.b!.label!) && cells[1].includes(first.b!.answer.slice(0, 20)));
  await page.screenshot({ path: join(OUT, 'side-by-side.png'), fullPage: false });
  await page.click('#swap');
  await page.waitForFunction((want) => new URLSearchParams(location.hash.split('?')[1]).get('a') === want, b);
  await page.waitForSelector(`tr[data-key="${first.key}"]`);
  const swapped = await page.locator(`tr[data-key="${first.key}"] td`).allInnerTexts();
  assert.ok(swapped[0].startsWith(first.b!.label!), 'after Swap, B is on the left');
});

test('compare: the run page names A − B; runs counting different targets get rates and no difference', async () => {
  const targetOf = (id: string) => view.run(id).summary!.target;
  const other = Object.values(filled.runs).find((id) => view.run(id).summary && targetOf(id) !== targetOf(filled.runs.a))!;
  assert.ok(other, 'the fixture has a run with another target');
  await page.goto(`${base}/#/compare?a=${filled.runs.a}&b=${filled.runs.b}`);
  await page.waitForSelector('svg[aria-label="differences"]');
  assert.match(await page.locator('table.compare thead').innerText(), /A − B/);
  assert.ok((await page.locator('a.side-by-side').count()) >= 1);
  await page.goto(`${base}/#/compare?a=${filled.runs.a}~assistant&b=${other}`);
  await page.waitForSelector('.banner');
  assert.match(await page.locator('.banner').first().innerText(), /count different things/);
  assert.equal(await page.locator('svg[aria-label="differences"]').count(), 0, 'no difference drawn');
  assert.doesNotMatch(await page.locator('main').innerText(), /A − B/);
  assert.deepEqual(pageErrors, []);
});
