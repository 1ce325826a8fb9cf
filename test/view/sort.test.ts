/**
 * Sorting the sample list by a judge's score: through the API (every page in order, unscored last,
 * paging stable, a sample's position found under the sort) and in real Chromium (the sort menu).
 */
import { test as nodeTest, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { fillStore, type Filled } from './fixture.ts';
import { skipBrowserTests } from './browser.ts';
import { serveView, openPage, type ServedView } from './serve-view.ts';
import { tempDir } from '../helpers/tmp.ts';

let filled: Filled, view: ServedView['view'], base: string;
let served: ServedView;

before(async () => {
  const dir = tempDir('dramatis-view-sort-');
  filled = await fillStore(join(dir, 'runs.db'));
  served = await serveView(join(dir, 'runs.db'));
  ({ view, base } = served);
});
after(async () => {
  await served?.close();
  filled?.store.close();
});

const scoredRun = () => Object.values(filled.runs).find((id) => (view.facets(id).scoreJudges ?? []).length > 0)!;

nodeTest('the API sorts by any judge with scores, both ways, unscored last, paging stable', () => {
  const id = scoredRun();
  assert.ok(id, 'the fixture has a run with scores');
  const judges = view.facets(id).scoreJudges!;
  const all = view.samples(id, {}, 0, 100000);
  for (const judge of judges)
    for (const order of ['desc', 'asc'] as const) {
      const f = { sort: judge, order };
      const whole = view.samples(id, f, 0, 100000);
      assert.equal(whole.total, all.total, 'a sort filters nothing out');
      const s = whole.rows.map((r) => r.sortScore ?? null);
      const firstNull = s.indexOf(null);
      const scored = (firstNull < 0 ? s : s.slice(0, firstNull)) as number[];
      assert.ok(firstNull < 0 || s.slice(firstNull).every((x) => x === null), 'unscored last');
      for (let i = 1; i < scored.length; i++)
        assert.ok(order === 'desc' ? scored[i] <= scored[i - 1] : scored[i] >= scored[i - 1], `${judge} ${order} at ${i}`);
      const paged = [0, 1, 2, 3].flatMap((p) => view.samples(id, f, p * 37, 37).rows.map((r) => r.id));
      assert.deepEqual(
        paged,
        whole.rows.slice(0, 148).map((r) => r.id),
        'pages join up',
      );
      for (const k of [0, 5, Math.floor(whole.rows.length / 2), whole.rows.length - 1])
        assert.equal(view.position(id, f, whole.rows[k].id), k, `position of row ${k}`);
    }
  // Combined with a filter: a condition's samples only, still sorted.
  const cond = view.run(id).conditionList[0].name;
  const onlyOne = view.samples(id, { condition: cond, sort: judges[0] }, 0, 100000);
  assert.equal(onlyOne.total, view.samples(id, { condition: cond }, 0, 1).total);
  assert.ok(onlyOne.rows.every((r) => r.condition === cond));
});

nodeTest('the sort query parameter reaches the API; a bad order is refused', async () => {
  const id = scoredRun();
  const judge = view.facets(id).scoreJudges![0];
  const r = await fetch(`${base}/api/runs/${id}/samples?sort=${encodeURIComponent(judge)}&order=asc&limit=5`);
  const body = (await r.json()) as { rows: { sortScore: number | null }[] };
  assert.equal(body.rows.length, 5);
  assert.ok(body.rows.every((x) => 'sortScore' in x));
  assert.equal((await fetch(`${base}/api/runs/${id}/samples?sort=x&order=sideways`)).status, 400);
});

const skip = skipBrowserTests();
nodeTest('in the browser: the sort menu orders the list by the chosen score', { skip }, async () => {
  const id = scoredRun();
  const judge = view.facets(id).scoreJudges![0];
  const browser = await openPage();
  try {
    const page: Page = browser.page;
    await page.goto(`${base}/#/run/${id}/samples`);
    await page.waitForSelector('#f-sort');
    assert.equal(await page.getAttribute('#f-sort', 'aria-label'), 'sort by');
    await page.selectOption('#f-sort', `desc:${judge}`);
    await page.waitForFunction(() => /sort=/.test(location.hash) && document.querySelector('#vlist')?.getAttribute('data-state') === 'ready');
    const shown = (await page.locator('.srow .c-score').allInnerTexts())
      .slice(0, 10)
      .filter((x) => x !== '')
      .map(Number);
    const want = view
      .samples(id, { sort: judge }, 0, 10)
      .rows.map((r) => r.sortScore)
      .filter((x): x is number => x !== null);
    assert.ok(shown.length >= 3);
    for (let i = 1; i < shown.length; i++) assert.ok(shown[i] <= shown[i - 1] + 1e-9, 'high to low on screen');
    assert.ok(Math.abs(shown[0] - want[0]) < 1e-3 * Math.max(1, Math.abs(want[0])), 'the top row is the highest score');
  } finally {
    await browser.close();
  }
});
