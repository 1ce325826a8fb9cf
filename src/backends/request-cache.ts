/**
 * A disk cache of HTTP responses keyed by the request (endpoint + body + server), so a rerun of an
 * experiment against a real model costs nothing. SQLite (better-sqlite3) rather than one file per
 * request: many thousands of small entries, written concurrently by one process.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class RequestCache {
  private db: Database.Database;
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response TEXT NOT NULL, created_at TEXT NOT NULL)');
  }

  static key(request: unknown): string {
    return createHash('sha256').update(JSON.stringify(request)).digest('hex');
  }

  get<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT response FROM responses WHERE key = ?').get(key) as { response: string } | undefined;
    return row ? (JSON.parse(row.response) as T) : undefined;
  }

  set(key: string, response: unknown): void {
    this.db.prepare('INSERT OR REPLACE INTO responses (key, response, created_at) VALUES (?, ?, ?)').run(key, JSON.stringify(response), new Date().toISOString());
  }

  close(): void { this.db.close(); }
}
