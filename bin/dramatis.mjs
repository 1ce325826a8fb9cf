#!/usr/bin/env node
// Entry point. `npm ci` bundles the command line into dist/cli/ (scripts/build.mjs, about 0.2 s to
// start); while that bundle is newer than every source it is what runs. Otherwise (no bundle, or src/
// edited since) the TypeScript sources run through tsx, so development never runs stale code.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundle's entry if it was built after the last change to src/, the dependencies or the build script. */
function freshBundle() {
  let started;
  try {
    started = JSON.parse(readFileSync(join(root, 'dist/cli/built.json'), 'utf8')).started;
  } catch {
    return undefined;
  }
  const inputs = [join(root, 'package.json'), join(root, 'package-lock.json'), join(root, 'node_modules/.package-lock.json'), join(root, 'scripts/build.mjs')];
  for (const e of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile()) inputs.push(join(e.parentPath ?? e.path, e.name));
  }
  for (const f of inputs) {
    let mtime;
    try { mtime = statSync(f).mtimeMs; } catch { continue; }
    if (mtime >= started) return undefined;
  }
  return join(root, 'dist/cli/main.js');
}

const bundle = process.env.DRAMATIS_NO_BUNDLE ? undefined : freshBundle();
if (bundle) {
  if (process.env.DRAMATIS_DEBUG) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
