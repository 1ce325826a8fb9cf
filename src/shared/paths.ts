/** Where the package lives (the shipped checkpoints and presets are found from it). No tfjs here: light to import. */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A path as stored in files that ship or travel (a checkpoint's provenance): relative to the package
 * when it lies inside it, so `organism info` does not print the paths of the machine that trained it.
 */
export function packageRelative(path: string): string {
  const rel = relative(PACKAGE_ROOT, resolve(path));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(path);
}
