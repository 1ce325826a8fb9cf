import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';
import { RequestCache } from '../../src/backends/request-cache.ts';

const CACHE = new URL('../../src/backends/request-cache.ts', import.meta.url).href;

test('request cache: a response is seen at once by every cache on the file, and kept on disk after close', () => {
  const dir = tempDir('dramatis-cache-');
  try {
    const path = join(dir, 'requests.db');
    const a = new RequestCache(path),
      b = new RequestCache(path);
    const keys = Array.from({ length: 70 }, (_, i) => RequestCache.key({ i }));
    keys.forEach((k, i) => a.set(k, { answer: i }));
    // 64 were committed together; the other 6 are still waiting, and both caches see all 70.
    assert.deepEqual(b.get(keys[69]), { answer: 69 });
    assert.deepEqual(a.get(keys[0]), { answer: 0 });
    assert.equal(a.get(RequestCache.key({ i: 70 })), undefined);
    a.close();
    b.set(keys[0], { answer: 'again' });
    b.close();
    const c = new RequestCache(path);
    assert.deepEqual(c.get(keys[69]), { answer: 69 });
    assert.deepEqual(c.get(keys[0]), { answer: 'again' });
    c.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('request cache: responses still waiting when the process exits are committed', () => {
  const dir = tempDir('dramatis-cache-');
  try {
    const path = join(dir, 'requests.db');
    // Never closed, exits within the 50 ms a write may wait.
    execFileSync(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { RequestCache } = await import(${JSON.stringify(CACHE)}); const c = new RequestCache(${JSON.stringify(path)}); c.set('k', { kept: true }); process.exit(0);`,
    ]);
    const c = new RequestCache(path);
    assert.deepEqual(c.get('k'), { kept: true });
    c.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
