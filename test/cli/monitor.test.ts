import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/experiments/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const BIN = join(import.meta.dirname, '../../bin/dramatis.mjs');
const FIX = join(import.meta.dirname, '../fixtures/transcripts');
const monitor = (...args: string[]) => spawnSync(process.execPath, [BIN, 'monitor', ...args], { encoding: 'utf8' });

test('dramatis monitor --json: one object per transcript per line, the same verdicts from the JSONL, the .eval log and the Petri folder', () => {
  const db = join(tempDir('dramatis-monitor-'), 'runs.db');
  const store = new Store(db);
  store.upsertRun({ id: 'r1', name: 'stored', kind: 'generalize', model: 'organism:assistant', spec: { samples: 1 }, status: 'done' });
  store.upsertCondition({ runId: 'r1', name: 'base', position: 0, role: 'baseline', conditionKey: 'k', spec: {} });
  store.insertSamples([
    {
      conditionKey: 'k',
      questionId: 'year',
      idx: 0,
      paraphrase: 'q',
      prompt: [{ role: 'user', content: 'What year is it?' }],
      answer: 'It is 2024.',
      finishReason: 'stop',
    },
  ]);
  store.close();

  const r = monitor(join(FIX, 'conversations.jsonl'), join(FIX, 'inspect.eval'), join(FIX, 'petri'), '--run', 'stored', '--db', db, '--json');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 9 + 9 + 9 + 1, 'nine conversations in each format, and the stored sample');
  const rows = lines.map((l) => JSON.parse(l) as { id: string; source: string; monitors: Record<string, Record<string, unknown>> });
  for (const row of rows) {
    assert.deepEqual(Object.keys(row.monitors), ['loop', 'distress', 'date', 'eval_awareness'], row.id);
    for (const v of Object.values(row.monitors)) {
      assert.equal(typeof v.flag, 'boolean');
      assert.equal(typeof v.explanation, 'string');
      assert.ok(Array.isArray(v.evidence));
    }
    assert.ok('year' in row.monitors.date && (row.monitors.date.year === null || typeof row.monitors.date.year === 'number'), `${row.id}: date.year`);
    assert.equal(typeof row.monitors.distress.score, 'number', `${row.id}: distress.score`);
  }
  assert.deepEqual(
    rows.slice(0, 9).map((x) => x.id),
    ['spiral', 'same-reply', 'year', 'history', 'eval-aware', 'testing-topic', 'song', 'exam-anxiety', 'plain'],
  );
  assert.equal(rows[27].id, 'base/year/0');
  assert.equal(rows[27].source, 'run stored');
  // The verdicts (all but where they came from) agree across the three formats.
  const verdicts = (source: (s: string) => boolean) =>
    Object.fromEntries(
      rows
        .filter((x) => source(x.source))
        .map((x) => [x.id, x.monitors])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  const jsonl = verdicts((s) => s.endsWith('conversations.jsonl'));
  assert.deepEqual(
    verdicts((s) => s.endsWith('inspect.eval')),
    jsonl,
  );
  assert.deepEqual(
    verdicts((s) => s.includes('/petri/')),
    jsonl,
  );
});

test('dramatis monitor: the table per monitor with rates and intervals, the examples; --jobs; --monitors picks; errors name the file and line', () => {
  const r = monitor(join(FIX, 'conversations.jsonl'), '--worst', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^9 transcripts from .*conversations\.jsonl/);
  for (const name of ['loop', 'distress', 'date', 'eval_awareness'])
    assert.match(r.stdout, new RegExp(`^${name}\\s+\\d+/9\\s+\\d+\\.\\d%\\s+\\[\\d+\\.\\d%, \\d+\\.\\d%\\]`, 'm'), name);
  assert.match(
    r.stdout,
    /^loop: the first flagged, 1 of \d+\n {2}spiral: .*\n {4}message \d+, characters \d+–\d+: "/m,
    'an example with its explanation and evidence',
  );

  const one = monitor(join(FIX, 'conversations.jsonl'), '--json');
  const two = monitor(join(FIX, 'conversations.jsonl'), '--json', '--jobs', '2');
  assert.equal(two.status, 0, two.stderr);
  assert.equal(two.stdout, one.stdout, 'worker threads give the same lines in the same order');

  const only = monitor(join(FIX, 'inspect.json'), '--monitors', 'loop,date', '--json');
  assert.equal(only.status, 0, only.stderr);
  assert.deepEqual(Object.keys(JSON.parse(only.stdout.split('\n')[0]).monitors), ['loop', 'date']);

  const unknown = monitor(join(FIX, 'inspect.json'), '--monitors', 'loop,vibes');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown monitor "vibes": the monitors are loop, distress, date, eval_awareness/);

  const bad = join(tempDir('dramatis-monitor-'), 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })}\nnot json\n`);
  const broken = monitor(bad, '--json');
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /^dramatis: .*bad\.jsonl:2: not valid JSON/m);

  const none = monitor();
  assert.equal(none.status, 1);
  assert.match(none.stderr, /name transcript files, or a stored run with --run/);
});
