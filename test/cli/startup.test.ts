import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('dramatis run loads no tfjs: nothing on its static import graph reaches @tensorflow (about 1 s to import)', async () => {
  const r = await build({
    entryPoints: ['src/cli/main.ts'],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    logLevel: 'silent',
    outdir: 'out',
  });
  const inputs = r.metafile.inputs;
  // Walk static imports only: main.ts loads the other commands, and the registry the organism backend, by dynamic import when asked for.
  const from = new Map<string, string | undefined>([['src/cli/main.ts', undefined]]);
  const queue = ['src/cli/main.ts'];
  const heavy: string[] = [];
  while (queue.length) {
    const file = queue.shift()!;
    for (const i of inputs[file]?.imports ?? []) {
      if (i.kind === 'dynamic-import' || from.has(i.path)) continue;
      from.set(i.path, file);
      if (i.path.startsWith('@tensorflow/')) heavy.push(i.path);
      else if (!i.external) queue.push(i.path);
    }
  }
  const chain = (f: string) => {
    const c: string[] = [];
    for (let x: string | undefined = f; x; x = from.get(x)) c.push(x);
    return c.join(' ← ');
  };
  assert.deepEqual(heavy.map(chain), []);
});
