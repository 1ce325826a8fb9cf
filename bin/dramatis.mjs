#!/usr/bin/env node
// Entry point. `npm ci` bundles the command line into dist/cli/ (scripts/build.mjs, about 0.2 s to
// start); while that bundle is newer than every source it is what runs. Otherwise (no bundle, or src/
// edited since) the TypeScript sources run through tsx, so development never runs stale code.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freshBundle } from './fresh.mjs';

const bundle = process.env.DRAMATIS_NO_BUNDLE ? undefined : freshBundle(join(dirname(fileURLToPath(import.meta.url)), '..'));
if (bundle) {
  if (process.env.DRAMATIS_DEBUG) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle).href);
} else {
  // No bundle at all (npm ci --ignore-scripts, a copy without dist/): say why starts are slow, once per start.
  if (!process.env.DRAMATIS_NO_BUNDLE && !existsSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist/cli/built.json')))
    process.stderr.write('dramatis: no command-line bundle (dist/cli/), running from the TypeScript sources (a slower start); `npm run build` makes one\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
