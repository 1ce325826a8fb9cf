/**
 * Data references in specs: a path, or `shared:REL` for the published datasets kept beside the checkout
 * (`../shared/data`, or $DRAMATIS_SHARED_DATA), so presets can name them without copying them.
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../organism/paths.ts';

export function sharedDataDir(): string {
  return process.env.DRAMATIS_SHARED_DATA ?? join(PACKAGE_ROOT, '..', 'shared', 'data');
}

export function resolveDataRef(ref: string): string {
  return ref.startsWith('shared:') ? join(sharedDataDir(), ref.slice('shared:'.length)) : ref;
}
