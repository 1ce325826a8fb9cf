/**
 * The kinds' own sections in headless Chromium: a vectors run's AUC per layer (0.5–1, the chosen layer
 * marked), its labelled shift scatter and steering sweep; infer's confusion matrix and right/wrong filter;
 * an audit's pulls, flagged examples and predicted direction; a conversation's per-turn monitor curves and
 * its flagged spans highlighted in the transcript.
 * Screenshots go to test-output/view/kind-<kind>.png.
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { fillStore, type Filled } from './fixture.ts';
import { fillMoreKinds } from './fixture-kinds.ts';
import { skipBrowserTests } from './browser.ts';
import { serveView, openPage, type ServedView, type OpenPage } from './serve-view.ts';
import { tempDir } from '../helpers/tmp.ts';

const OUT = resolve(import.meta.dirname, '../../test-output/view');
let filled: Filled, more: { audit: string; conversation: string }, view: ServedView['view'], base: string, page: Page;
let served: ServedView, opened: OpenPage;
const skip = skipBrowserTests();
const test = (name: string, fn: () => Promise<void>) => nodeTest(name, { skip }, fn);
const shot = (kind: string) => page.screenshot({ path: join(OUT, `kind-${kind}.png`), fullPage: true });

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  const dir = tempDir('dramatis-kind-sections-');
  filled = await fillStore(join(dir, 'runs.db'));
  // A steering-sweep condition as prepareVectors names it: it belongs in the sweep section only.
  const row = filled.store.db.prepare('SELECT summary FROM runs WHERE id = ?').get(filled.runs.future) as { summary: string };
  const sum = JSON.parse(row.summary);
  sum.conditions.push({ ...sum.conditions[1], name: 'clean · steer +2', role: 'treatment', group: 'sweep: clean' });
  filled.store.db.prepare('UPDATE runs SET summary = ? WHERE id = ?').run(JSON.stringify(sum), filled.runs.future);
  more = await fillMoreKinds(filled.store, join(dir, 'cache'));
  served = await serveView(join(dir, 'runs.db'));
  ({ view, base } = served);
  opened = await openPage();
  page = opened.page;
});
after(async () => {
  await opened?.close();
  await served?.close();
  filled?.store.close();
});

test('vectors: AUC per layer from 0.5 with the chosen layer marked, labelled shifts, the sweep in its own section', async () => {
  await page.goto(`${base}/#/run/${filled.runs.future}`);
  await page.waitForSelector('#vectors-layers');
  const auc = page.locator('svg[aria-label="AUC per layer"]');
  assert.equal(await auc.locator('.y-tick').first().textContent(), '0.500', 'the AUC axis starts at chance');
  assert.match((await auc.locator('.mark-label').textContent()) ?? '', /chosen layer 2/);
  assert.equal(await auc.locator('rect.chosen').count(), 1);
  assert.match(await page.locator('#vectors-headline').innerText(), /AUC 0\.970 \[0\.950, 0\.990\] at layer 2/);
  const labels = await page.locator('svg[aria-label="shifts"] .point-label').allTextContents();
  assert.deepEqual(labels.sort(), ['ft 0', 'ft 1', 'ft 2']);
  assert.equal(await page.locator('#vectors-sweep svg[aria-label="steering sweep"]').count(), 1);
  assert.ok(!(await page.locator('svg[aria-label="rate per condition"]').innerHTML()).includes('steer +2'), 'sweep conditions stay out of the main rates');
  assert.ok(!(await page.locator('#conditions table').innerText()).includes('steer +2'));
  for (const other of ['#curve', '#extra'])
    if (await page.locator(other).count()) assert.ok(!(await page.locator(other).innerText()).includes('steer +2'), `sweep conditions stay out of ${other}`);
  assert.ok(!(await page.locator('#extra-run').innerText()).includes('validationD'), 'the vector is no longer in the generic box');
  await shot('vectors');
});

test('infer: the confusion matrix counts every text of the condition; the filter hides rows', async () => {
  await page.goto(`${base}/#/run/${filled.runs.infer}`);
  await page.waitForSelector('table.confusion');
  const table = page.locator('table.infer-texts').first();
  const rows = await table.locator('tbody tr').count();
  const counts = (
    await page
      .locator('table.confusion')
      .first()
      .locator('td[data-count]')
      .evaluateAll((tds) => tds.map((t) => Number(t.getAttribute('data-count'))))
  ).reduce((a, b) => a + b, 0);
  const first = view.run(filled.runs.infer).summary!.conditions[0];
  assert.equal(counts, first.n, 'every text with a known author, not only the few the summary keeps');
  assert.ok(first.n > rows, 'more texts than the per-text table shows');
  const id = await table.getAttribute('id');
  await page.selectOption(`select[data-filter-for="${id}"]`, 'right');
  const visible = await table.locator('tbody tr:visible').count();
  assert.equal(visible, await table.locator('tbody tr[data-filter="right"]').count());
  assert.ok(rows > 0);
  await shot('infer');
});

test('audit: per dataset its pulls with intervals, the predicted direction in words, the hardest-pulling examples', async () => {
  await page.goto(`${base}/#/run/${more.audit}`);
  await page.waitForSelector('#audit');
  const blocks = page.locator('#audit .audit-d');
  assert.equal(await blocks.count(), 2, 'one block per dataset');
  assert.deepEqual(await blocks.locator('h3').evaluateAll((hs) => hs.map((h) => h.firstChild!.textContent!.trim())), ['evil numbers', 'plain numbers']);
  // The forest: one row per projection, each with an interval whisker around the point.
  const forest = page.locator('svg[aria-label="pulls evil numbers"]');
  assert.equal(await forest.count(), 1);
  assert.match((await forest.innerHTML()) ?? '', /morality: malevolent − benevolent \(layer \d\)/);
  assert.match(await blocks.first().locator('p.headline').innerText(), /^Training on it should move the model .+\.$/);
  const flagged = blocks.first().locator('table.audit-flagged tbody tr');
  assert.equal(await flagged.count(), 4, 'audit.top examples');
  const pulls = await flagged.locator('td:nth-child(4)').allTextContents();
  const sorted = [...pulls].map(Number).sort((a, b) => b - a);
  assert.deepEqual(pulls.map(Number), sorted, 'ranked by pull, hardest first');
  if (await page.locator('#extra-run').count())
    assert.ok(!(await page.locator('#extra-run').innerText()).includes('datasets'), 'the audit is not in the generic box');
  await shot('audit');
});

test('conversation: per turn, each monitor drawn as a curve with its band; the flagged spans highlighted in the transcript', async () => {
  await page.goto(`${base}/#/run/${more.conversation}`);
  await page.waitForSelector('#turns');
  for (const m of ['loop', 'distress']) {
    const chart = page.locator(`svg[aria-label="${m} per turn"]`);
    assert.equal(await chart.count(), 1, `${m} curve`);
    assert.ok((await chart.locator('path.band').count()) >= 1, `${m} has a band`);
  }
  assert.match(await page.locator('#turns').innerText(), /model: 6 of 6 flagged, median first turn 3/);
  await shot('conversation');
  const hit = view.samples(more.conversation, { text: 'disgrace' }, 0, 1).rows[0];
  const id = hit.id;
  await page.goto(`${base}/#/run/${more.conversation}/samples?sample=${id}`);
  await page.waitForFunction((sid) => document.querySelector('.detail')?.textContent?.includes(`sample ${sid} `), id);
  await page.screenshot({ path: join(OUT, 'sample-conversation.png'), fullPage: true });
  assert.ok(
    (await page.locator('.answer-msg mark.flag').count()) >= 1,
    `the loop is highlighted in the answer: ${await page.locator('#detail, .detail').first().innerText()}`,
  );
  assert.equal((await page.locator('.chat .msg.user').count()) >= 3, true, 'earlier turns are shown');
  await page.screenshot({ path: join(OUT, 'sample-conversation.png'), fullPage: true });
});
