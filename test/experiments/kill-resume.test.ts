/**
 * Issue 12's kill suite for the organism: `dramatis run old-birds` (two fine-tunes, sampling, judging)
 * killed with SIGKILL at several moments, resumed each time, ends with a store identical to an
 * uninterrupted run's: the same samples, answers and judgments, nothing lost or duplicated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/tmp.ts';

const BIN = join(import.meta.dirname, '../../bin/dramatis.mjs');
const args = (db: string) => ['run', 'old-birds', '-n', '16', '--db', db, '--report', join(db, '..', 'r.html')];

/** What a store holds, comparable across runs: every sample and judgment by slot (no ids, no times). */
function contents(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    const samples = d
      .prepare('SELECT condition_key, question_id, idx, paraphrase, answer, finish_reason FROM samples ORDER BY condition_key, question_id, idx')
      .all();
    const judgments = d
      .prepare(
        'SELECT s.condition_key, s.question_id, s.idx, j.judge, j.label, j.score FROM judgments j JOIN samples s ON s.id = j.sample_id ORDER BY 1, 2, 3, 4',
      )
      .all();
    const summary = (d.prepare("SELECT summary FROM runs WHERE status = 'done'").get() as { summary: string } | undefined)?.summary;
    return { samples, judgments, summary: summary && { ...JSON.parse(summary), runId: undefined } };
  } finally {
    d.close();
  }
}

test('SIGKILL during fine-tuning, sampling and judging, then resumes: the store ends identical to an uninterrupted run', async () => {
  const whole = join(tempDir('dramatis-kill-whole-'), 'runs.db');
  const straight = spawnSync(process.execPath, [BIN, ...args(whole)], { encoding: 'utf8' });
  assert.equal(straight.status, 0, straight.stderr);
  const killed = join(tempDir('dramatis-kill-'), 'runs.db');
  const kills: number[] = [];
  // Kill at growing delays (during the first fine-tune, the second, sampling), resuming after each.
  for (const ms of [1500, 4000, 7000, 10_000]) {
    const child = spawn(process.execPath, [BIN, ...args(killed)], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const code = await exited;
    clearTimeout(timer);
    if (code === 0) break; // it finished before this kill
    kills.push(ms);
  }
  const last = spawnSync(process.execPath, [BIN, ...args(killed)], { encoding: 'utf8' });
  assert.equal(last.status, 0, last.stderr);
  assert.ok(kills.length >= 1, `killed ${kills.length} times`);
  const a = contents(whole),
    b = contents(killed);
  assert.equal(b.samples.length, a.samples.length);
  assert.deepEqual(b.samples, a.samples, 'the same samples, answers included');
  assert.deepEqual(b.judgments, a.judgments, 'the same judgments');
  assert.deepEqual(b.summary, a.summary, 'the same figures');
  process.stderr.write(
    `kill suite: killed at ${kills.map((k) => `${k / 1000} s`).join(', ')}, resumed each time: ${b.samples.length} samples and ${b.judgments.length} judgments identical to the uninterrupted run\n`,
  );
});
