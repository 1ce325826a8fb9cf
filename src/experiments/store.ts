/**
 * The results store (SQLite via better-sqlite3): runs, conditions, samples and judgments. Samples are
 * keyed by what determines them, the condition key (model, intervention, sampling, seed) plus question
 * and sample index, and written as each batch completes, so an interrupted run resumes without redoing
 * a sample and a rerun of the same spec is free.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StoredSample {
  id: number;
  conditionKey: string;
  questionId: string;
  idx: number;
  paraphrase: string;
  prompt: unknown;
  answer: string;
  finishReason: string;
}

export interface StoredJudgment {
  sampleId: number;
  judge: string;
  label: string;
  score: number | null;
  /** The scorer's reason, when it gave one. */
  explanation?: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,            -- hash of the parsed spec
  name TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL,
  spec TEXT NOT NULL, status TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, summary TEXT
);
CREATE TABLE IF NOT EXISTS conditions (
  run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, position INTEGER NOT NULL,
  role TEXT NOT NULL, condition_key TEXT NOT NULL, spec TEXT NOT NULL,
  PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS samples (
  id INTEGER PRIMARY KEY,
  condition_key TEXT NOT NULL, question_id TEXT NOT NULL, idx INTEGER NOT NULL,
  paraphrase TEXT NOT NULL, prompt TEXT NOT NULL, answer TEXT NOT NULL, finish_reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (condition_key, question_id, idx)
);
CREATE TABLE IF NOT EXISTS judgments (
  sample_id INTEGER NOT NULL REFERENCES samples(id), judge TEXT NOT NULL,
  label TEXT NOT NULL, score REAL, created_at TEXT NOT NULL,
  PRIMARY KEY (sample_id, judge)
);
`;

/**
 * Changes after the first schema, each applied once, in order (PRAGMA user_version counts those done).
 * 1: runs record the name of their judge (samples are shared between runs, judgments by judge), and
 *    indexes let the viewer page samples by condition and index and filter judgments by label.
 * 2: runs keep the error they failed with, judgments the scorer's explanation.
 * 3: samples whose request failed for good are recorded (with the error) apart from the answers.
 * 4: runs record their slots per condition where the spec's `samples` does not give them.
 * 5: runs record when they (last) started and their current phase, for the viewer's live status.
 */
const MIGRATIONS = [
  `ALTER TABLE runs ADD COLUMN judge TEXT;
   CREATE INDEX IF NOT EXISTS samples_by_condition_idx ON samples (condition_key, idx);
   CREATE INDEX IF NOT EXISTS judgments_by_judge_label ON judgments (judge, label);`,
  // 2: a failed run keeps its error; a judgment keeps the scorer's explanation.
  `ALTER TABLE runs ADD COLUMN error TEXT;
   ALTER TABLE judgments ADD COLUMN explanation TEXT;`,
  // 3: a sample whose request failed for good is kept with its error, never as an answer (a rerun retries it).
  `CREATE TABLE IF NOT EXISTS failures (
     condition_key TEXT NOT NULL, question_id TEXT NOT NULL, idx INTEGER NOT NULL, error TEXT NOT NULL, created_at TEXT NOT NULL,
     PRIMARY KEY (condition_key, question_id, idx));`,
  // 4: a run keeps how many slots each condition has when its spec does not say (a question file's own
  //    counts): the viewer reads a run's samples as idx below it.
  `ALTER TABLE runs ADD COLUMN samples INTEGER;`,
  // 5: when the run last started, and its current phase as JSON (a RunPhase): what the viewer's status panel reads.
  `ALTER TABLE runs ADD COLUMN phase TEXT;
   ALTER TABLE runs ADD COLUMN started_at TEXT;`,
];

/** A run's current step as the runner last recorded it (runs.phase, JSON). Times are ISO strings. */
export interface RunPhase {
  label: string;
  done: number;
  total: number;
  /** When this label was first reported in this run, and how many were done then (a resumed step starts above 0). */
  phaseStartedAt: string;
  startDone?: number;
  /** When this was recorded. */
  at: string;
}

/**
 * A run named the way `dramatis view`, `report` and `monitor --run` accept: its id, a prefix of it, or
 * its name (the latest run of that name). The id, or how many runs the prefix matched (0: none).
 */
export function findRun(db: Database.Database, ref: string): { id: string } | { matches: number } {
  const exact = db.prepare('SELECT id FROM runs WHERE id = ?').get(ref) as { id: string } | undefined;
  if (exact) return exact;
  const byPrefix = db.prepare("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\'").all(`${ref.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) as { id: string }[];
  if (byPrefix.length === 1) return byPrefix[0];
  const byName = db.prepare('SELECT id FROM runs WHERE name = ? ORDER BY updated_at DESC LIMIT 1').get(ref) as { id: string } | undefined;
  return byName ?? { matches: byPrefix.length };
}

export class Store {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // Commits do not wait for the disk: with WAL, NORMAL keeps every batch through a crash of the process
    // (a power cut may drop the last batches, which a rerun samples again), and a run at concurrency 1
    // does not stall on an fsync after every batch.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    const version = this.db.pragma('user_version', { simple: true }) as number;
    this.db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
  }

  close(): void {
    this.db.close();
  }

  /** `samples`: the slots per condition, when the spec's `samples` does not say (a question file's own counts). */
  upsertRun(r: { id: string; name: string; kind: string; model: string; spec: unknown; status: string; judge?: string; samples?: number }): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO runs (id, name, kind, model, spec, status, created_at, updated_at, judge, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, judge = coalesce(excluded.judge, judge),
        samples = coalesce(excluded.samples, samples)`,
      )
      .run(r.id, r.name, r.kind, r.model, JSON.stringify(r.spec), r.status, now, now, r.judge ?? null, r.samples ?? null);
  }

  /** A run (re)starts now: its start time is recorded and its last phase forgotten. */
  startRun(id: string): void {
    this.db.prepare('UPDATE runs SET started_at = ?, phase = NULL WHERE id = ?').run(new Date().toISOString(), id);
  }

  /** Record a run's current phase (the runner throttles how often). */
  setPhase(runId: string, phase: RunPhase): void {
    this.db.prepare('UPDATE runs SET phase = ? WHERE id = ?').run(JSON.stringify(phase), runId);
  }

  finishRun(id: string, status: string, summary?: unknown, error?: string): void {
    this.db
      .prepare('UPDATE runs SET status = ?, updated_at = ?, summary = ?, error = ? WHERE id = ?')
      .run(status, new Date().toISOString(), summary === undefined ? null : JSON.stringify(summary), error ?? null, id);
  }

  upsertCondition(c: { runId: string; name: string; position: number; role: string; conditionKey: string; spec: unknown }): void {
    this.db
      .prepare(
        `INSERT INTO conditions (run_id, name, position, role, condition_key, spec) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(run_id, name) DO UPDATE SET position = excluded.position, role = excluded.role, condition_key = excluded.condition_key, spec = excluded.spec`,
      )
      .run(c.runId, c.name, c.position, c.role, c.conditionKey, JSON.stringify(c.spec));
  }

  /** Keys "questionId#idx" of the samples already stored for a condition. */
  storedSlots(conditionKey: string): Set<string> {
    const rows = this.db.prepare('SELECT question_id, idx FROM samples WHERE condition_key = ?').all(conditionKey) as { question_id: string; idx: number }[];
    return new Set(rows.map((r) => `${r.question_id}#${r.idx}`));
  }

  /** Insert a batch of samples in one transaction (so a batch is stored whole or not at all); an answered slot is no longer failed. */
  insertSamples(samples: Omit<StoredSample, 'id'>[], failed: { conditionKey: string; questionId: string; idx: number; error: string }[] = []): void {
    const stmt = this.db.prepare(`INSERT OR IGNORE INTO samples (condition_key, question_id, idx, paraphrase, prompt, answer, finish_reason, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    const clear = this.db.prepare('DELETE FROM failures WHERE condition_key = ? AND question_id = ? AND idx = ?');
    const fail = this.db.prepare('INSERT OR REPLACE INTO failures (condition_key, question_id, idx, error, created_at) VALUES (?, ?, ?, ?, ?)');
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const s of samples) {
        stmt.run(s.conditionKey, s.questionId, s.idx, s.paraphrase, JSON.stringify(s.prompt), s.answer, s.finishReason, now);
        clear.run(s.conditionKey, s.questionId, s.idx);
      }
      for (const f of failed) fail.run(f.conditionKey, f.questionId, f.idx, f.error, now);
    })();
  }

  /** The slots of a condition whose request failed for good, with the first error. */
  /** How many samples of a condition failed for good, one of their errors, and the questions they belong to. */
  failures(conditionKey: string): { count: number; error: string | null; questions: string[] } {
    const r = this.db.prepare('SELECT COUNT(*) n, MIN(error) e FROM failures WHERE condition_key = ?').get(conditionKey) as { n: number; e: string | null };
    const questions = (
      this.db.prepare('SELECT DISTINCT question_id q FROM failures WHERE condition_key = ? ORDER BY q').all(conditionKey) as { q: string }[]
    ).map((x) => x.q);
    return { count: r.n, error: r.e, questions };
  }

  samples(conditionKey: string, maxIdx: number): StoredSample[] {
    const rows = this.db.prepare('SELECT * FROM samples WHERE condition_key = ? AND idx < ? ORDER BY idx').all(conditionKey, maxIdx) as Record<
      string,
      unknown
    >[];
    return rows.map((r) => ({
      id: r.id as number,
      conditionKey: r.condition_key as string,
      questionId: r.question_id as string,
      idx: r.idx as number,
      paraphrase: r.paraphrase as string,
      prompt: JSON.parse(r.prompt as string),
      answer: r.answer as string,
      finishReason: r.finish_reason as string,
    }));
  }

  judgments(sampleIds: number[], judge: string): Map<number, StoredJudgment> {
    const out = new Map<number, StoredJudgment>();
    const stmt = this.db.prepare('SELECT sample_id, label, score, explanation FROM judgments WHERE sample_id = ? AND judge = ?');
    for (const id of sampleIds) {
      const r = stmt.get(id, judge) as { sample_id: number; label: string; score: number | null; explanation: string | null } | undefined;
      if (r) out.set(id, { sampleId: r.sample_id, judge, label: r.label, score: r.score, explanation: r.explanation });
    }
    return out;
  }

  insertJudgments(js: StoredJudgment[]): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO judgments (sample_id, judge, label, score, created_at, explanation) VALUES (?, ?, ?, ?, ?, ?)');
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const j of js) stmt.run(j.sampleId, j.judge, j.label, j.score, now, j.explanation ?? null);
    })();
  }
}
