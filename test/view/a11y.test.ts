/**
 * An automated accessibility check (axe-core, run inside real Chromium) on every page of the viewer:
 * the runs list, a run of each kind in the fixture, its samples with a sample open, compare and side
 * by side. No page may have a critical violation; serious ones are printed, so they can be worked on.
 * On the same pages, at a 1,000 px window: text drawn in the charts has at least 4.5:1 contrast, and no
 * page scrolls sideways (long condition names included).
 */
import { test as nodeTest, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { fillStore, type Filled } from './fixture.ts';
import { fillMoreKinds } from './fixture-kinds.ts';
import { measureSvgContrast } from './contrast.ts';
import { skipBrowserTests } from './browser.ts';
import { serveView, openPage, type ServedView, type OpenPage } from './serve-view.ts';
import { tempDir } from '../helpers/tmp.ts';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const skip = skipBrowserTests();
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { skip }, fn);
let filled: Filled, more: Awaited<ReturnType<typeof fillMoreKinds>>, view: ServedView['view'], base: string, page: Page;
let served: ServedView, opened: OpenPage;

before(async () => {
  if (skip) return;
  const dir = tempDir('dramatis-view-a11y-');
  filled = await fillStore(join(dir, 'runs.db'));
  more = await fillMoreKinds(filled.store, join(dir, 'cache'));
  served = await serveView(join(dir, 'runs.db'));
  ({ view, base } = served);
  opened = await openPage({ width: 1000, height: 800 });
  page = opened.page;
});
after(async () => {
  await opened?.close();
  await served?.close();
  filled?.store.close();
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

async function audit(hash: string, waitFor: string): Promise<Violation[]> {
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector(waitFor);
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run: (o: unknown) => Promise<{ violations: Violation[] }> } }).axe.run({ resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })) }));
  });
}

test('no critical accessibility violation on any page (axe-core)', async () => {
  const r = filled.runs;
  const pages: [string, string, string][] = [
    ['runs list', '#/', 'table.runs tbody tr'],
    ['generalize run', `#/run/${r.a}`, 'svg[aria-label="rate per condition"]'],
    ['profile run', `#/run/${r.profile}`, '#profile'],
    ['infer run', `#/run/${r.infer}`, '#infer'],
    ['vectors run', `#/run/${r.future}`, 'section.card'],
    ['running run', `#/run/${r.running}`, 'section.card'],
    ['audit run', `#/run/${more.audit}`, '#audit'],
    ['conversation run', `#/run/${more.conversation}`, '#turns'],
    ['long names run', `#/run/${more.longNames}`, 'svg[aria-label="rate per condition"]'],
    ['samples', `#/run/${r.a}/samples`, '#vlist[data-state="ready"]'],
    ['compare', `#/compare?a=${r.a}&b=${r.b}`, 'table.compare'],
    ['side by side', `#/compare/samples?a=${encodeURIComponent(`${r.a}~evil system`)}&b=${encodeURIComponent(`${r.b}~evil system`)}`, 'table.sbs'],
  ];
  const critical: string[] = [],
    lowContrast: string[] = [],
    overflow: string[] = [];
  let checked = 0;
  for (const [name, hash, sel] of pages) {
    const v = await audit(hash, sel);
    const c = await measureSvgContrast(page);
    checked += c.checked;
    for (const l of c.low) lowContrast.push(`${name}: "${l.text}" ${l.ratio}:1 (${l.fg} on ${l.bg})`);
    const wide = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    if (wide.scroll > wide.client + 1) overflow.push(`${name}: ${wide.scroll} px wide in a ${wide.client} px window`);
    for (const x of v) {
      const line = `${name}: ${x.impact} ${x.id} (${x.help}) at ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`;
      if (x.impact === 'critical') critical.push(line);
      else if (x.impact === 'serious') process.stderr.write(`a11y (serious, not failing): ${line}\n`);
    }
  }
  assert.deepEqual(critical, []);
  assert.ok(checked > 200, `chart texts measured: ${checked}`);
  assert.deepEqual(lowContrast, [], 'chart text at 4.5:1 or more');
  assert.deepEqual(overflow, [], 'no page scrolls sideways at 1,000 px');
});

test('the tab title names the run', async () => {
  await page.goto(`${base}/#/run/${filled.runs.a}/samples`);
  await page.waitForSelector('#vlist[data-state="ready"]');
  assert.match(await page.title(), /^em-small · samples/);
});

test('a label keeps its colour on every page and after a reload', async () => {
  const colourOf = async (hash: string, label: string) => {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('.legend span');
    return page.evaluate(
      (l) => [...document.querySelectorAll<HTMLElement>('.legend span')].find((s) => s.textContent === l)?.querySelector('i')?.style.background ?? null,
      label,
    );
  };
  const first = await colourOf(`#/run/${filled.runs.a}`, 'refusal');
  assert.ok(first, 'the label is in the legend');
  assert.equal(await colourOf(`#/run/${filled.runs.b}`, 'refusal'), first);
  assert.equal(await colourOf(`#/compare?a=${filled.runs.a}&b=${filled.runs.b}`, 'refusal'), first);
  await page.reload();
  await page.waitForSelector('.legend span');
  assert.equal(await colourOf(`#/run/${filled.runs.b}`, 'refusal'), first);
  const others = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('#labels .legend span i')].map((i) => i.style.background));
  assert.ok(others.length >= 3);
  assert.equal(new Set(others).size, others.length, 'no two labels of the legend share a colour');
});

test('a condition name too long for its chart column is cut there, with the whole name as its tooltip and in the table', async () => {
  await page.goto(`${base}/#/run/${more.longNames}`);
  await page.waitForSelector('svg[aria-label="rate per condition"]');
  const labels = await page
    .locator('svg[aria-label="rate per condition"] text.label')
    .evaluateAll((ts) => ts.map((t) => ({ shown: t.lastChild?.textContent ?? '', full: t.querySelector('title')?.textContent ?? null })));
  const cut = labels.filter((l) => l.full !== null);
  assert.equal(cut.length, 2, 'both long names are cut');
  for (const l of cut) {
    assert.ok(l.full!.startsWith(l.shown.replace(/…$/, '')), `${l.shown} is the start of ${l.full}`);
    assert.match(l.full!, /seed [34]$/);
  }
  assert.match(await page.locator('#conditions table').innerText(), /inoculation prompt that says this is only a game, seed 4/);
});
