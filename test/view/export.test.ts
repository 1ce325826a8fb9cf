/**
 * Export: the CSV parses back (RFC 4180 quoting, awkward answers round-trip) with as many rows as the
 * filtered list counts, JSONL likewise; the HTTP download has attachment headers and the same bytes;
 * `dramatis export` writes the file and names an unknown run; in Chromium the Export link follows the
 * filter and its download matches the count on screen.
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fillStore, type Filled } from './fixture.ts';
import { skipBrowserTests } from './browser.ts';
import { serveView, openPage, type ServedView } from './serve-view.ts';
import { tempDir } from '../helpers/tmp.ts';
import { csvLine, exportLines, CSV_COLUMNS } from '../../src/view/export.ts';

let dir: string, filled: Filled, view: ServedView['view'], base: string;
let served: ServedView;
const ROOT = resolve(import.meta.dirname, '../..');

before(async () => {
  dir = tempDir('dramatis-view-export-');
  filled = await fillStore(join(dir, 'runs.db'));
  served = await serveView(join(dir, 'runs.db'));
  ({ view, base } = served);
});
after(async () => {
  await served?.close();
  filled?.store.close();
});

/** An RFC 4180 reader, independent of the writer: quoted fields, doubled quotes, CRLF inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [],
    field = '',
    quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((field += '"'), i++);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (row.push(field), (field = ''));
    else if (c === '\r' && text[i + 1] === '\n') {
      (row.push(field), rows.push(row), (row = []), (field = ''), i++);
    } else field += c;
  }
  if (field || row.length) (row.push(field), rows.push(row));
  return rows;
}

nodeTest('CSV fields with commas, quotes and newlines round-trip', () => {
  const awkward = ['plain', 'a, b', 'say "hi"', 'two\r\nlines', 'lf\nonly', '', 'ü ✓'];
  assert.deepEqual(parseCsv(csvLine(awkward)), [awkward]);
});

nodeTest('CSV and JSONL of a filtered list: as many rows as the list counts, in its order', () => {
  const id = filled.runs.a;
  const f = { condition: 'evil system', label: 'evil' };
  const listed = view.samples(id, f, 0, 100000);
  assert.ok(listed.total > 10);
  const csv = parseCsv([...exportLines(view, id, 'csv', f)].join(''));
  assert.deepEqual(csv[0], [...CSV_COLUMNS]);
  assert.equal(csv.length - 1, listed.total);
  assert.deepEqual(
    csv.slice(1).map((r) => Number(r[0])),
    listed.rows.map((r) => r.id),
  );
  assert.ok(csv.slice(1).every((r) => r[1] === 'evil system' && r[7] === 'evil'));
  const full = view.sample(id, listed.rows[0].id);
  assert.equal(csv[1][5], full.answer, 'the whole answer, not the list excerpt');
  const jsonl = [...exportLines(view, id, 'jsonl', f)].map((l) => JSON.parse(l));
  assert.equal(jsonl.length, listed.total);
  assert.equal(jsonl[0].answer, full.answer);
  assert.ok(Array.isArray(jsonl[0].judgments));
  // The batched read gives exactly what one read per sample gives, judgments included.
  const some = listed.rows.slice(0, 7).map((r) => r.id);
  assert.deepEqual(
    view.samplesInFull(id, some),
    some.map((x) => view.sample(id, x)),
  );
  assert.ok(view.samplesInFull(id, some).some((s) => s.judgments.length > 0));
  const json = JSON.parse([...exportLines(view, id, 'json')].join(''));
  assert.equal(json.summary.conditions.length, 3);
});

nodeTest('the HTTP export is a named attachment with the same bytes; a bad format is a 400', async () => {
  const id = filled.runs.a;
  const r = await fetch(`${base}/api/runs/${id}/export?format=csv&condition=${encodeURIComponent('evil system')}&label=evil`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type')!, /^text\/csv/);
  assert.equal(r.headers.get('content-disposition'), 'attachment; filename="em-small-samples.csv"');
  assert.equal(await r.text(), [...exportLines(view, id, 'csv', { condition: 'evil system', label: 'evil' })].join(''));
  assert.equal((await fetch(`${base}/api/runs/${id}/export?format=xml`)).status, 400);
  assert.equal((await fetch(`${base}/api/runs/nosuchrun/export?format=csv`)).status, 404);
});

nodeTest('dramatis export writes the file; an unknown run is named', () => {
  const out = join(dir, 'out.jsonl');
  const db = join(dir, 'runs.db');
  const ok = spawnSync(process.execPath, ['bin/dramatis.mjs', 'export', 'em-small', '--format', 'jsonl', '--label', 'evil', '--out', out, '--db', db], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr);
  const n = readFileSync(out, 'utf8').trim().split('\n').length;
  assert.equal(n, view.samples(filled.runs.a, { label: 'evil' }, 0, 1).total);
  assert.match(ok.stderr, new RegExp(`${n} samples to`));
  const bad = spawnSync(process.execPath, ['bin/dramatis.mjs', 'export', 'nosuchrun', '--db', db], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /no run "nosuchrun"/);
});

const skip = skipBrowserTests();
nodeTest('in the browser: Export CSV follows the filter; the download parses to the count shown', { skip }, async () => {
  const browser = await openPage();
  try {
    const page = browser.page;
    await page.goto(`${base}/#/run/${filled.runs.a}/samples`);
    await page.waitForSelector('#vlist[data-state="ready"]');
    await page.selectOption('#f-label', 'evil');
    await page.waitForFunction(() => /label=evil/.test(document.querySelector('#x-csv')?.getAttribute('href') ?? ''));
    await page.waitForSelector('#vlist[data-state="ready"]');
    const shown = Number(await page.getAttribute('#vlist', 'data-total'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#x-csv')]);
    const text = readFileSync((await download.path())!, 'utf8');
    assert.equal(parseCsv(text).length - 1, shown);
    assert.equal(download.suggestedFilename(), 'em-small-samples.csv');
  } finally {
    await browser.close();
  }
});

nodeTest("in the browser: every table has a CSV button; the run page's conditions table downloads as shown", { skip }, async () => {
  const browser = await openPage();
  try {
    const page = browser.page;
    await page.goto(`${base}/#/run/${filled.runs.a}`);
    await page.waitForSelector('#conditions table.data');
    assert.equal(await page.locator('button.export-table').count(), await page.locator('table.data').count());
    const rows = await page.locator('#conditions table.data tr').count();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#conditions button.export-table')]);
    const csv = parseCsv(readFileSync((await download.path())!, 'utf8'));
    assert.equal(csv.length, rows);
    assert.equal(csv[0][0], 'condition');
    assert.equal(csv[1][0], view.run(filled.runs.a).summary!.conditions[0].name);
  } finally {
    await browser.close();
  }
});
