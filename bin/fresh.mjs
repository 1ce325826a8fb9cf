// Is the command-line bundle (dist/cli/, built by scripts/build.mjs) current? It is when it was built
// after the last change to anything in src/, the dependencies (lock files) or the build script.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The bundle's entry under `root`, or undefined when there is none or a source changed since it was built. */
export function freshBundle(root) {
  let started;
  try {
    started = JSON.parse(readFileSync(join(root, 'dist/cli/built.json'), 'utf8')).started;
  } catch {
    return undefined;
  }
  if (typeof started !== 'number') return undefined;
  const inputs = [join(root, 'package.json'), join(root, 'package-lock.json'), join(root, 'node_modules/.package-lock.json'), join(root, 'scripts/build.mjs')];
  for (const e of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile()) inputs.push(join(e.parentPath ?? e.path, e.name));
  }
  for (const f of inputs) {
    let mtime;
    try {
      mtime = statSync(f).mtimeMs;
    } catch {
      continue;
    }
    if (mtime >= started) return undefined;
  }
  return join(root, 'dist/cli/main.js');
}
