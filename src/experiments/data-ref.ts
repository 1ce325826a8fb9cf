/**
 * Data references in specs: a path, `shared:REL` for the published datasets kept beside the checkout
 * (`../shared/data`, or $DRAMATIS_SHARED_DATA), so presets can name them without copying them, or
 * `preset:REL` for files that ship with the presets (found wherever dramatis is run from).
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../shared/paths.ts';

export function sharedDataDir(): string {
  return process.env.DRAMATIS_SHARED_DATA ?? join(PACKAGE_ROOT, '..', 'shared', 'data');
}

export function resolveDataRef(ref: string): string {
  if (ref.startsWith('shared:')) return join(sharedDataDir(), ref.slice('shared:'.length));
  if (ref.startsWith('preset:')) return join(PACKAGE_ROOT, 'presets', ref.slice('preset:'.length));
  return ref;
}
