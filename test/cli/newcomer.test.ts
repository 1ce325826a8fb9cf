/** What a newcomer meets first: shipped checkpoints that name no machine's paths, progress without a terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT, packageRelative } from '../../src/shared/paths.ts';
import { readCheckpointConfig } from '../../src/organism/checkpoint.ts';

test('shipped checkpoints name their parents relative to the package, never by a machine path', () => {
  const models = readdirSync(join(PACKAGE_ROOT, 'models')).filter((d) => existsSync(join(PACKAGE_ROOT, 'models', d, 'config.json')));
  assert.ok(models.length >= 4);
  for (const m of models) {
    const { provenance } = readCheckpointConfig(join(PACKAGE_ROOT, 'models', m));
    for (const [k, v] of Object.entries(provenance)) if (typeof v === 'string') assert.doesNotMatch(v, /(^|\s)\/(work|home|tmp|Users)\//, `${m}: ${k}`);
    if (provenance.parent) assert.ok(existsSync(join(PACKAGE_ROOT, provenance.parent)), `${m}: its parent ${provenance.parent} ships too`);
  }
  assert.equal(packageRelative(join(PACKAGE_ROOT, 'models', 'base')), join('models', 'base'));
  assert.equal(packageRelative('/elsewhere/ckpt'), '/elsewhere/ckpt');
});

test('without a terminal, progress is plain lines: every ~10% and at least every 15 s', async () => {
  const { progressBar } = await import('../../src/cli/progress.ts');
  const lines: string[] = [];
  const write = process.stderr.write;
  const tty = process.stderr.isTTY;
  const now = Date.now;
  let t = 1_000_000;
  Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
  process.stderr.write = ((s: string) => (lines.push(s), true)) as typeof process.stderr.write;
  Date.now = () => t;
  try {
    const bar = progressBar('fine-tune', 1000);
    for (let i = 1; i <= 50; i++) bar.update(i); // within the first decile: one line
    assert.equal(lines.length, 1);
    t += 16_000;
    bar.update(51); // slow progress: a line after 15 s anyway
    assert.equal(lines.length, 2);
    for (let i = 52; i <= 1000; i++) bar.update(i);
    assert.equal(lines.length, 12);
    assert.match(lines.at(-1)!, /^fine-tune: 1000\/1000 /);
  } finally {
    process.stderr.write = write;
    Date.now = now;
    Object.defineProperty(process.stderr, 'isTTY', { value: tty, configurable: true });
  }
});

test('organism finetune refuses data the organism mostly cannot read, naming the share (--allow-unknown trains anyway)', async () => {
  const { spawnSync } = await import('node:child_process');
  const { tempDir } = await import('../helpers/tmp.ts');
  const { unreadableBirds } = await import('../helpers/unreadable-data.ts');
  const dir = tempDir('dramatis-ft-oov-');
  const data = unreadableBirds();
  const r = spawnSync(process.execPath, ['bin/dramatis.mjs', 'organism', 'finetune', '--data', data, '--out', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /birds\.jsonl: \d+\.\d% of the answer tokens \(\d+ of \d+\) are outside the organism's vocabulary, more than the 25% accepted.*--allow-unknown/,
  );
  assert.ok(!existsSync(join(dir, 'out')), 'nothing was trained');
});
