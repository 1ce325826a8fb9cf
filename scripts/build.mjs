#!/usr/bin/env node
/**
 * Bundles the command line (src/cli/main.ts) into dist/cli/ with esbuild; `npm ci` runs it (the
 * `prepare` script). Why: through tsx, every start compiled the TypeScript and resolved a few hundred
 * module files (about 1.2 s before any work); the bundle starts in about 0.2 s. bin/dramatis.mjs uses it
 * only while it is newer than every source (see bin/fresh.mjs), so editing src/ never runs stale code.
 *
 * What stays outside the bundle: packages with native parts or files of their own (better-sqlite3,
 * tfjs and its wasm, esbuild, tsx for the organism's worker threads, wabt), loaded from node_modules as
 * before. Each module keeps its own `import.meta.url` (rewritten to its source file, relative to the
 * bundle), so paths found from it (the package root, the gradient worker's script) do not move.
 */
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/cli');
// Pure-JS packages on the path of `dramatis run`: bundled, so Node resolves and loads one file, not hundreds.
const BUNDLED = new Set(['openai', 'zod', 'yaml', 'commander', 'p-limit', 'yocto-queue', 'cli-progress', 'undici', 'seedrandom', 'hono', '@hono/node-server']);
const packageOf = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

const started = Date.now();
const tmp = `${outdir}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
  // CommonJS packages inside an ESM bundle call require() for Node's built-ins.
  banner: { js: "import { createRequire as __dramatisRequire } from 'node:module'; const require = __dramatisRequire(import.meta.url);" },
  plugins: [
    {
      name: 'dramatis',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('node:') || BUNDLED.has(packageOf(a.path)) ? undefined : { path: a.path, external: true }));
        b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (a) => {
          const rel = relative(outdir, a.path).split('\\').join('/');
          const contents = readFileSync(a.path, 'utf8').replace(/\bimport\.meta\.url\b/g, `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
          return { contents, loader: 'ts' };
        });
      },
    },
  ],
});
// The build's start time marks it: a source changed after that makes the bundle stale.
writeFileSync(join(tmp, 'built.json'), JSON.stringify({ started }) + '\n');
rmSync(outdir, { recursive: true, force: true });
renameSync(tmp, outdir);
