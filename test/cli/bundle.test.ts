import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript beside the entry point, no declarations
import { freshBundle } from '../../bin/fresh.mjs';

test('the CLI bundle runs only while it is newer than every source, lock file and the build script', () => {
  const root = tempDir('dramatis-bundle-');
  try {
    const at = (file: string, seconds: number) => {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), '');
      utimesSync(join(root, file), seconds, seconds);
    };
    for (const f of ['package.json', 'package-lock.json', 'scripts/build.mjs', 'src/cli/main.ts', 'src/organism/deep/x.ts']) at(f, 1000);
    assert.equal(freshBundle(root), undefined, 'no bundle built');
    mkdirSync(join(root, 'dist/cli'), { recursive: true });
    writeFileSync(join(root, 'dist/cli/built.json'), JSON.stringify({ started: 2000 * 1000 }));
    assert.equal(freshBundle(root), join(root, 'dist/cli/main.js'));
    at('src/organism/deep/x.ts', 3000);
    assert.equal(freshBundle(root), undefined, 'a source edited after the build');
    at('src/organism/deep/x.ts', 1000);
    at('node_modules/.package-lock.json', 3000);
    assert.equal(freshBundle(root), undefined, 'dependencies installed after the build');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
