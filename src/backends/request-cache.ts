/**
 * A disk cache of HTTP responses keyed by the request (endpoint + body + server), so a rerun of an
 * experiment against a real model costs nothing. SQLite (better-sqlite3) rather than one file per
 * request: many thousands of small entries, written concurrently by one process.
 *
 * Writes are gathered and committed together (every 64 responses, 50 ms after the first one waiting,
 * on close, and when the process exits): a commit per response cost 60–90 µs, a tenth of a whole
 * request against a local server. Caches opened on the same file in one process share the file and
 * the waiting writes, so a second model on the same cache sees every response the first one got. A
 * process killed by a signal loses at most the waiting responses, which the next run fetches again.
 */
import Database from 'better-sqlite3';
import { requestKey } from '../shared/keys.ts';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const BATCH = 64;
const DELAY_MS = 50;

/** One cache file as open in this process. */
class CacheFile {
  readonly db: Database.Database;
  // Prepared once: preparing a statement per request cost more than running it.
  private getStmt: Database.Statement<[string], string>;
  private setStmt: Database.Statement<[string, string, string]>;
  /** Responses not yet committed, as JSON text by key. */
  private pending = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  /** A commit that failed on the timer, thrown by the next call (so it is not lost on the event loop). */
  private failed?: Error;
  users = 0;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // A commit need not wait for the disk: WAL with synchronous=NORMAL survives a crash of the process,
    // and a power cut loses at most the last few cached responses (refetched on the next run).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response TEXT NOT NULL, created_at TEXT NOT NULL)');
    this.getStmt = this.db.prepare<[string], string>('SELECT response FROM responses WHERE key = ?').pluck();
    this.setStmt = this.db.prepare<[string, string, string]>('INSERT OR REPLACE INTO responses (key, response, created_at) VALUES (?, ?, ?)');
  }

  get(key: string): string | undefined {
    return this.pending.get(key) ?? this.getStmt.get(key);
  }

  set(key: string, json: string): void {
    this.throwFailure();
    this.pending.set(key, json);
    if (this.pending.size >= BATCH) return this.flush();
    if (!this.timer) {
      this.timer = setTimeout(() => {
        try {
          this.flush();
        } catch (e) {
          this.failed = e as Error;
        }
      }, DELAY_MS).unref();
      waiting.add(this);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', () => {
          for (const f of waiting)
            try {
              f.flush();
            } catch (e) {
              process.stderr.write(`${(e as Error).message}\n`);
            }
        });
      }
    }
  }

  /** Commit the waiting responses in one transaction. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    waiting.delete(this);
    if (this.pending.size === 0) return;
    const now = new Date().toISOString();
    try {
      this.db.transaction(() => {
        for (const [key, json] of this.pending) this.setStmt.run(key, json, now);
      })();
    } catch (e) {
      throw new Error(`request cache ${this.db.name}: storing ${this.pending.size} responses: ${(e as Error).message}`, { cause: e });
    }
    this.pending.clear();
  }

  throwFailure(): void {
    const e = this.failed;
    this.failed = undefined;
    if (e) throw e;
  }
}

/** Open cache files by absolute path (`:memory:` caches are never shared). */
const files = new Map<string, CacheFile>();
/** Files with writes waiting, committed when the process exits (one listener for all of them). */
const waiting = new Set<CacheFile>();
let exitHook = false;

export class RequestCache {
  private file: CacheFile;
  private readonly path: string;
  private closed = false;

  constructor(path: string) {
    this.path = path === ':memory:' ? path : resolve(path);
    const shared = this.path === ':memory:' ? undefined : files.get(this.path);
    this.file = shared ?? new CacheFile(this.path);
    if (!shared && this.path !== ':memory:') files.set(this.path, this.file);
    this.file.users++;
  }

  static key(request: unknown): string {
    return requestKey(request);
  }

  get<T>(key: string): T | undefined {
    const json = this.file.get(key);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  set(key: string, response: unknown): void {
    this.file.set(key, JSON.stringify(response));
  }

  /** Commit the waiting responses now. */
  flush(): void {
    this.file.flush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (--this.file.users > 0) return this.file.flush();
    if (files.get(this.path) === this.file) files.delete(this.path);
    try {
      this.file.throwFailure();
      this.file.flush();
    } finally {
      this.file.db.close();
    }
  }
}
