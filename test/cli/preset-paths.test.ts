/**
 * A preset runs wherever dramatis is run from: every file it names is `preset:…` (beside the presets),
 * `world:…`, or a path the user gives; none is a path relative to the repository root, which breaks as
 * soon as the working directory is another (the date-belief preset did: `presets/data/…`, ENOENT).
 * Model ids are left out: the real-model presets name `gguf:models/real/…`, the file
 * scripts/fetch-smollm2.sh writes into the directory they are run from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESET_DIR, presetNames } from '../../src/cli/run-command.ts';

test('no preset names a data file relative to the repository root', () => {
  const bad: string[] = [];
  for (const name of presetNames()) {
    readFileSync(join(PRESET_DIR, `${name}.yaml`), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/(^|\s)#.*$/, '').replace(/\b(gguf|hf):\S+/g, '');
        if (/[:\[,{]\s*["']?(\.\.?\/|presets\/|models\/|runs\/)/.test(code)) bad.push(`${name}.yaml:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(bad, [], 'use preset:data/… for files that ship with the presets');
  assert.ok(presetNames().length > 10);
});
