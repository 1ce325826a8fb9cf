/**
 * Temporary folders for tests, removed when the test file's process exits (node --test runs each file in
 * its own process), whether its tests passed or failed, and after every `after` hook that might still
 * close a database inside one. Prefer this to mkdtempSync in tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the system temp dir, named `prefix` + random characters (a prefix like 'dramatis-cache-'). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
