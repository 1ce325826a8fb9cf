/**
 * A sample's transcript in real Chromium: a conversation's turns (system, user, assistant, a tool call
 * and its result) with the earlier turns folded, the flagged spans of the run's loop monitor highlighted
 * where the monitor found them, each judgment's reason beside it, and a judgment stored by another run's
 * judge marked as such.
 */
import { test as nodeTest, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { skipBrowserTests } from './browser.ts';
import { serveView, openPage, type ServedView, type OpenPage } from './serve-view.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Store } from '../../src/experiments/store.ts';
import { loopMonitor, turnVerdict, MONITOR_VERSIONS } from '../../src/scorers/monitors/index.ts';

const OUT = resolve(import.meta.dirname, '../../test-output/view');
const skip = skipBrowserTests();
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { skip }, fn);
let page: Page, base: string, store: Store;
let served: ServedView, opened: OpenPage;
let pageErrors: string[] = [];

const LOOP = 'I am sorry, I failed again.';
const prompt = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Fix the bug in my code.' },
  { role: 'assistant', content: LOOP, tool_calls: [{ id: 'call_1', function: { name: 'run_tests', arguments: '{"path":"src/"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', name: 'run_tests', content: '3 tests failed' },
  { role: 'user', content: 'That did not work.' },
  { role: 'assistant', content: LOOP },
  { role: 'user', content: 'Still broken.' },
  { role: 'assistant', content: LOOP },
  { role: 'user', content: 'Try once more.' },
];
const JUDGE = 'rules:abc';
const loopJudge = `monitor:loop:v${MONITOR_VERSIONS.loop}:turn`;

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  const dir = tempDir('dramatis-view-transcript-');
  store = new Store(join(dir, 'runs.db'));
  store.upsertRun({
    id: 'conv1',
    name: 'spiral',
    kind: 'conversation',
    model: 'fake:chat',
    spec: { samples: 1, conditions: [{ name: 'assistant' }] },
    status: 'done',
    judge: JUDGE,
  });
  store.upsertCondition({ runId: 'conv1', name: 'assistant', position: 0, role: 'baseline', conditionKey: 'k1', spec: {} });
  store.insertSamples([{ conditionKey: 'k1', questionId: 'fix@4', idx: 0, paraphrase: 'Try once more.', prompt, answer: LOOP, finishReason: 'stop' }]);
  const id = store.samples('k1', 1)[0].id;
  store.insertJudgments([
    { sampleId: id, judge: JUDGE, label: 'spiral', score: 1, explanation: 'the same apology four times' },
    { sampleId: id, judge: loopJudge, label: 'loop', score: 1, explanation: 'same reply repeated 4×' },
    { sampleId: id, judge: 'llm-judge:other', label: 'benign', score: 0.1, explanation: 'an apology is not harmful' },
  ]);
  served = await serveView(join(dir, 'runs.db'), {});
  base = served.base;
  opened = await openPage();
  page = opened.page;
  pageErrors = opened.pageErrors;
});
after(async () => {
  await opened?.close();
  await served?.close();
  store?.close();
});

test('a conversation renders as turns with its tool call, folded earlier turns, highlighted loop spans and marked judgments', async () => {
  const id = store.samples('k1', 1)[0].id;
  await page.goto(`${base}/#/run/conv1/samples?sample=${id}`);
  await page.waitForSelector('.detail .chat');
  const d = page.locator('.detail');
  assert.equal(await d.locator('.msg.system').count(), 1);
  assert.match(await d.locator('.tool-call').innerText(), /run_tests\s*\(\s*\{"path":"src\/"\}\s*\)/);
  assert.match(await d.locator('.msg.tool .role').innerText(), /tool result · run_tests · call_1/i);
  // Seven earlier messages (three exchanges and a tool result) are folded, and open because spans in them are flagged.
  assert.match(await d.locator('details.context > summary').innerText(), /^7 earlier turns/);
  // The highlighted spans are exactly where the monitor's own evidence lies.
  const v = turnVerdict(loopMonitor(), [
    ...prompt.map((m) => ({ role: m.role === 'tool' ? 'user' : m.role, content: m.content }) as never),
    { role: 'assistant', content: LOOP },
  ]);
  assert.ok(v.flag && v.evidence.length >= 2, 'the loop monitor fires on this transcript');
  const marks = await d
    .locator('mark.flag')
    .evaluateAll((els) => els.map((e) => ({ msg: Number(e.closest('[data-message]')!.getAttribute('data-message')), text: e.textContent })));
  const expected = v.evidence.map((e) => ({ msg: e.message, text: LOOP.slice(e.start, e.end) }));
  assert.deepEqual(
    marks.sort((a, b) => a.msg - b.msg),
    expected.sort((a, b) => a.msg - b.msg),
  );
  assert.match((await d.locator('mark.flag').first().getAttribute('title')) ?? '', /^loop: same reply repeated/);
  // Judgments: the reason beside each, and whose judge it was.
  const rows = await d.locator('table.judgments tbody tr').allInnerTexts();
  assert.equal(rows.length, 3);
  assert.ok(rows.some((r) => /llm-judge:other[\s\S]*from another run[\s\S]*an apology is not harmful/.test(r)));
  assert.ok(rows.some((r) => new RegExp(`${JUDGE}[\\s\\S]*this run's judge[\\s\\S]*the same apology four times`).test(r)));
  assert.ok(rows.some((r) => /monitor:loop[\s\S]*monitor/.test(r)));
  await page.screenshot({ path: join(OUT, 'sample-transcript.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
