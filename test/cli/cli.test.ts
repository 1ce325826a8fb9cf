import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '../../bin/dramatis.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('organism info --json reports the shipped checkpoints with their provenance', () => {
  for (const model of ['base', 'assistant']) {
    const info = JSON.parse(execFileSync(process.execPath, [BIN, 'organism', 'info', model, '--json'], { encoding: 'utf8' }));
    assert.ok(info.parameters > 100_000 && info.parameters <= 2_000_000, `${model}: ${info.parameters} parameters`);
    assert.match(info.provenance.command, /^dramatis organism (pretrain|posttrain)/);
    assert.equal(typeof info.provenance.seed, 'number');
  }
});

test('bad input gets one clear line naming the file and line, and exit code 1', () => {
  const dir = tempDir('dramatis-cli-');
  try {
    const f = join(dir, 'broken.jsonl');
    writeFileSync(f, '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"ok."}]}\n{not json\n');
    const r = run('organism', 'finetune', '--data', f, '--out', join(dir, 'out'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /broken\.jsonl:2: not valid JSON/);
    assert.ok(r.stderr.split('\n').filter(Boolean).length <= 2, `short error, got:\n${r.stderr}`);
    const unknown = run('organism', 'info', 'no-such-model');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown organism "no-such-model"/);
    const badNum = run('organism', 'probe', '-n', 'many');
    assert.notEqual(badNum.status, 0);
    assert.match(badNum.stderr, /--samples: expected an integer, got "many"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dramatis run writes the viewer's report beside the database, never over report.html in the current folder", async () => {
  const { existsSync, readFileSync } = await import('node:fs');
  const dir = tempDir('dramatis-run-report-'),
    cwd = tempDir('dramatis-run-cwd-');
  const r = spawnSync(process.execPath, [BIN, 'run', 'spillover-identity', '-n', '4', '--db', join(dir, 'runs.db')], { encoding: 'utf8', cwd });
  assert.equal(r.status, 0, r.stderr);
  const report = join(dir, 'reports', 'spillover-identity.html');
  assert.ok(existsSync(report), `report at ${report}`);
  assert.match(readFileSync(report, 'utf8'), /spillover-identity/);
  assert.ok(r.stdout.includes(report), 'the printed path is the report');
  assert.equal(existsSync(join(cwd, 'report.html')), false);
  const chosen = join(dir, 'mine.html');
  assert.equal(
    spawnSync(process.execPath, [BIN, 'run', 'spillover-identity', '-n', '4', '--db', join(dir, 'runs.db'), '--report', chosen], { encoding: 'utf8', cwd })
      .status,
    0,
  );
  assert.ok(existsSync(chosen));
});
