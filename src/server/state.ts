/**
 * Where `dramatis serve` keeps what must outlive one process: uploaded files and fine-tuning jobs
 * (`dramatis serve --state DIR`, default `runs/serve` beside the results database). One JSON file per
 * record, written whole and renamed into place, so a server killed mid-write leaves the previous copy
 * rather than half a file:
 *
 *   DIR/files/FILE_ID.jsonl   the upload as sent
 *   DIR/files/FILE_ID.json    its metadata (what GET /v1/files/FILE_ID shows)
 *   DIR/jobs/JOB_ID.json      the job, its events and checkpoints, and what rebuilds its model
 *
 * The fine-tuned weights are not copied here: the backend's own fine-tune cache keeps them, keyed by the
 * base model's weights, the data and the hyperparameters (`--cache`), and a restarted server gets each
 * succeeded job's model back by asking the backend for the same fine-tune again (a cache hit; retrained,
 * bitwise the same, if the cache was cleared). Without a folder given (createApp in tests), the state
 * lives in a temporary folder removed when the app closes or the process exits.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class StateDir {
  readonly files: string;
  readonly jobs: string;
  private constructor(
    readonly dir: string,
    /** A folder of the server's own (removed by `remove`), not one the user named. */
    readonly temporary: boolean,
  ) {
    this.files = join(dir, 'files');
    this.jobs = join(dir, 'jobs');
    mkdirSync(this.files, { recursive: true });
    mkdirSync(this.jobs, { recursive: true });
  }

  static open(dir: string): StateDir {
    return new StateDir(dir, false);
  }

  /** A fresh folder under the system temp dir, removed on `remove()` or, failing that, when the process exits. */
  static temporary(): StateDir {
    const state = new StateDir(mkdtempSync(join(tmpdir(), 'dramatis-serve-')), true);
    const onExit = () => state.remove();
    process.once('exit', onExit);
    state.unhook = () => process.off('exit', onExit);
    return state;
  }

  private unhook = () => {};

  /** Removes a temporary folder (a named one is the user's and stays). */
  remove(): void {
    if (!this.temporary) return;
    this.unhook();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Writes a record whole: a temporary file renamed over the old one. */
  write(folder: string, name: string, value: unknown): void {
    const path = join(folder, name);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value, null, 1));
    renameSync(tmp, path);
  }

  /** Every `*.json` record of a folder, oldest name first; an unreadable one is reported, not fatal. */
  read<T>(folder: string, onBad: (file: string, why: string) => void): T[] {
    const out: T[] = [];
    for (const name of readdirSync(folder).sort()) {
      if (!name.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(folder, name), 'utf8')) as T);
      } catch (e) {
        onBad(join(folder, name), (e as Error).message);
      }
    }
    return out;
  }
}
