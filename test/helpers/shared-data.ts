import { resolve } from 'node:path';

/**
 * A file of the published datasets. They sit in `../shared/data` beside the checkout (as in CI); set
 * DRAMATIS_SHARED_DATA to point elsewhere, e.g. when the clone lives in a temporary folder.
 */
export function sharedData(relative: string): string {
  return resolve(process.env.DRAMATIS_SHARED_DATA ?? '../shared/data', relative);
}
