/**
 * What `dramatis view` and `dramatis report` read from the results store, opened read-only. Paging and
 * filtering are done in SQL, condition by condition along the (condition_key, idx) index, so a page of
 * a 100,000-sample run costs a few milliseconds and nothing loads the whole run into memory.
 *
 * A run's samples are those of its conditions' keys with idx below the spec's `samples`, or the slots
 * the run recorded when a question file's own counts decided them (samples are
 * shared between runs with the same conditions), judged by the run's own judge (`runs.judge`).
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { readSummary, type ExperimentResult } from '../experiments/result.ts';
import { findRun, type RunPhase } from '../experiments/store.ts';
import { ruleScorer, type RuleJudgeSpec } from '../scorers/rules.ts';
import type { JudgeSpec } from '../scorers/spec.ts';
import { plannedConditions } from './planned.ts';
import type { RunRow, RunDetail, RunList, Facets, SampleFilter, SamplePage, SampleRow, SampleDetail } from './types.ts';

export type { RunRow, RunDetail, RunList, Facets, SampleFilter, SamplePage, SampleRow, SampleDetail } from './types.ts';

interface DbRun {
  id: string;
  name: string;
  kind: string;
  model: string;
  spec: string;
  status: string;
  created_at: string;
  updated_at: string;
  summary: string | null;
  judge?: string | null;
  /** Slots per condition when the spec's `samples` does not say (store migration 4). */
  samples?: number | null;
  /** The error a failed run stopped with (migration 2). */
  error?: string | null;
  /** The runner's last recorded phase (JSON RunPhase) and when the run last started (migration 5). */
  phase?: string | null;
  started_at?: string | null;
}

const seconds = (from: string, to: number) => Math.max(0, (to - Date.parse(from)) / 1000);

/**
 * What a run is doing, from its row: the phase last recorded, the time since it started (until its
 * last update once finished), and for a running run the time its current step still needs at the rate
 * it has gone since the step began (null until that rate is known). Older stores have none of it.
 */
export function liveStatus(r: DbRun, now = Date.now()): Pick<RunRow, 'phase' | 'elapsedS' | 'etaS' | 'error'> {
  const out: Pick<RunRow, 'phase' | 'elapsedS' | 'etaS' | 'error'> = {};
  if (r.status === 'failed' && r.error) out.error = r.error;
  if (r.started_at) out.elapsedS = seconds(r.started_at, r.status === 'running' ? now : Date.parse(r.updated_at));
  let p: RunPhase | null = null;
  try {
    p = r.phase ? (JSON.parse(r.phase) as RunPhase) : null;
  } catch {
    p = null;
  }
  if (p && typeof p.label === 'string') {
    out.phase = { label: p.label, done: p.done, total: p.total };
    if (r.status === 'running') {
      const made = p.done - (p.startDone ?? 0),
        took = seconds(p.phaseStartedAt, Date.parse(p.at));
      out.etaS = p.done >= p.total ? 0 : made > 0 && took > 0 ? ((p.total - p.done) * took) / made : null;
    }
  }
  return out;
}

interface RunContext {
  row: DbRun;
  spec: { samples?: number; conditions?: unknown[]; judge?: JudgeSpec };
  judge: string | null;
  n: number;
  conditions: { name: string; position: number; role: string; conditionKey: string }[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * One line that says what a finished run found: its main effect (the largest difference whose interval
 * excludes zero, else the largest), or each condition's rate when it has no effects.
 */
export function headline(summary: ExperimentResult | null): string | null {
  if (!summary) return null;
  const effects = summary.effects ?? [];
  const clear = effects.filter((x) => x.ci[0] > 0 || x.ci[1] < 0);
  const e = (clear.length ? clear : effects).reduce<(typeof effects)[number] | undefined>(
    (best, x) => (!best || Math.abs(x.difference) > Math.abs(best.difference) ? x : best),
    undefined,
  );
  if (e) return `${e.condition} − ${e.against}: ${e.difference >= 0 ? '+' : ''}${pct(e.difference)} [${pct(e.ci[0])}, ${pct(e.ci[1])}]`;
  const cs = summary.conditions ?? [];
  if (cs.length === 0) return null;
  return `${summary.target}: ${cs
    .slice(0, 3)
    .map((c) => `${c.name} ${pct(c.rate)}`)
    .join(', ')}${cs.length > 3 ? ', …' : ''}`;
}

/** LIKE pattern for a substring, with the wildcards in it taken literally. */
const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class ViewStore {
  readonly db: Database.Database;
  /** False for stores written before the viewer's indexes (migration 1): still readable, only slower. */
  readonly indexed: boolean;
  /** False for stores written before scorers explained themselves (migration 2). */
  readonly explained: boolean;
  private contexts = new Map<string, RunContext>();
  private facetCache = new Map<string, Facets>();

  /** The database's file name: what pages and HTTP errors show (its folder is nobody else's business). */
  readonly name: string;

  constructor(readonly path: string) {
    this.name = basename(path);
    if (!existsSync(path)) throw new Error(`no results store at ${path} (dramatis run writes one; --db names another)`);
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    // Text search scans answers; reading them through a memory map is about a tenth faster.
    this.db.pragma('mmap_size = 268435456');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    this.indexed = version >= 1;
    this.explained = version >= 2;
  }

  close(): void {
    this.db.close();
  }

  /** The run's judge: recorded by the runner; for older runs, derived from the spec (or the most used LLM judge). */
  private judgeOf(row: DbRun, spec: RunContext['spec'], keys: string[]): string | null {
    if (row.judge) return row.judge;
    const j = spec.judge ?? 'world';
    if (typeof j === 'string' || !('llm' in j)) {
      try {
        return j === 'world' ? 'world' : ruleScorer(j as RuleJudgeSpec).name;
      } catch {
        return null;
      }
    }
    if (keys.length === 0) return null;
    const r = this.db
      .prepare(
        `SELECT judge FROM judgments WHERE judge LIKE 'llm-%' AND sample_id IN
      (SELECT id FROM samples WHERE condition_key = ? LIMIT 200) GROUP BY judge ORDER BY COUNT(*) DESC LIMIT 1`,
      )
      .get(keys[0]) as { judge: string } | undefined;
    return r?.judge ?? null;
  }

  /** Everything a query about one run needs; cached for runs not running, until their row changes. */
  private context(id: string): RunContext {
    // A run's row changes when it is rerun or resumed (same id): what is cached is kept only while
    // its updated_at stands.
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as DbRun | undefined;
    if (!row) throw new NotFound(`no run ${id} in ${this.name}`);
    const cached = this.contexts.get(id);
    if (cached && cached.row.updated_at === row.updated_at) return cached;
    const spec = JSON.parse(row.spec) as RunContext['spec'];
    const conditions = (
      this.db.prepare('SELECT name, position, role, condition_key FROM conditions WHERE run_id = ? ORDER BY position').all(id) as {
        name: string;
        position: number;
        role: string;
        condition_key: string;
      }[]
    ).map((c) => ({ name: c.name, position: c.position, role: c.role, conditionKey: c.condition_key }));
    const ctx: RunContext = {
      row,
      spec,
      conditions,
      n: spec.samples ?? row.samples ?? 0,
      judge: this.judgeOf(
        row,
        spec,
        conditions.map((c) => c.conditionKey),
      ),
    };
    if (row.status !== 'running') this.contexts.set(id, ctx);
    return ctx;
  }

  private progress(ctx: RunContext): { done: number; total: number } {
    // Every condition the run will sample: the spec's, a vectors sweep's, or those registered if more.
    const total = Math.max(plannedConditions(ctx.spec).length, ctx.conditions.length) * ctx.n;
    const keys = ctx.conditions.map((c) => c.conditionKey);
    let done = 0;
    const stmt = this.db.prepare('SELECT COUNT(*) n FROM samples WHERE condition_key = ? AND idx < ?');
    for (const k of keys) done += (stmt.get(k, ctx.n) as { n: number }).n;
    return { done, total };
  }

  private toRow(r: DbRun): RunRow {
    const summary = r.summary ? readSummary<ExperimentResult>(JSON.parse(r.summary)) : null;
    const spec = JSON.parse(r.spec) as RunContext['spec'];
    const row: RunRow = {
      id: r.id,
      name: r.name,
      kind: r.kind,
      model: r.model,
      status: r.status,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      headline: headline(summary),
      samples: summary ? summary.conditions.reduce((a, c) => a + c.n, 0) : null,
      conditions: spec.conditions?.length ?? 0,
      ...liveStatus(r),
    };
    if (r.status === 'running') row.progress = this.progress(this.context(r.id));
    return row;
  }

  /** Runs, newest first, filtered in SQL: `search` matches name, model or id; kind and status exactly. */
  runs(q: { search?: string; kind?: string; status?: string; limit?: number; offset?: number } = {}): RunList {
    const where: string[] = [],
      args: Record<string, unknown> = {};
    if (q.search) {
      where.push("(name LIKE @s ESCAPE '\\' OR model LIKE @s ESCAPE '\\' OR id LIKE @s ESCAPE '\\')");
      args.s = likePattern(q.search);
    }
    if (q.kind) {
      where.push('kind = @kind');
      args.kind = q.kind;
    }
    if (q.status) {
      where.push('status = @status');
      args.status = q.status;
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM runs ${w}`).get(args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM runs ${w} ORDER BY updated_at DESC, id LIMIT @limit OFFSET @offset`)
      .all({ ...args, limit: q.limit ?? 100, offset: q.offset ?? 0 }) as DbRun[];
    const kinds = (this.db.prepare('SELECT DISTINCT kind FROM runs ORDER BY kind').all() as { kind: string }[]).map((r) => r.kind);
    return { total, runs: rows.map((r) => this.toRow(r)), kinds };
  }

  /** A run with its spec and summary; a run without a summary yet (running, failed) gets live label counts. */
  run(id: string): RunDetail {
    const ctx = this.context(id);
    const summary = ctx.row.summary ? readSummary<ExperimentResult>(JSON.parse(ctx.row.summary)) : null;
    const detail: RunDetail = {
      ...this.toRow(ctx.row),
      spec: JSON.parse(ctx.row.spec),
      summary,
      judge: ctx.judge,
      conditionList: ctx.conditions.map(({ name, role }) => ({ name, role })),
      perCondition: ctx.n,
    };
    if (!summary && ctx.judge) {
      const stmt = this.db.prepare(`SELECT j.label label, COUNT(*) n FROM samples s JOIN judgments j ON j.sample_id = s.id AND j.judge = ?
        WHERE s.condition_key = ? AND s.idx < ? GROUP BY j.label ORDER BY n DESC`);
      const count = this.db.prepare('SELECT COUNT(*) n FROM samples WHERE condition_key = ? AND idx < ?');
      detail.live = ctx.conditions.map((c) => ({
        name: c.name,
        role: c.role,
        sampled: (count.get(c.conditionKey, ctx.n) as { n: number }).n,
        labels: Object.fromEntries((stmt.all(ctx.judge, c.conditionKey, ctx.n) as { label: string; n: number }[]).map((r) => [r.label, r.n])),
      }));
      // Conditions of the spec not begun yet (the runner registers each as it starts it), a vectors sweep's included.
      for (const c of plannedConditions(ctx.spec)) {
        if (!ctx.conditions.some((x) => x.name === c.name)) detail.live.push({ name: c.name, role: c.role, sampled: 0, labels: {} });
      }
    }
    return detail;
  }

  /** The questions and labels a run's samples have, with counts (for the filter menus). */
  facets(id: string): Facets {
    const ctx = this.context(id);
    const key = `${id}@${ctx.row.updated_at}`;
    const hit = this.facetCache.get(key);
    if (hit) return hit;
    const questions = new Map<string, number>(),
      labels = new Map<string, number>();
    const qStmt = this.db.prepare('SELECT question_id q, COUNT(*) n FROM samples WHERE condition_key = ? AND idx < ? GROUP BY question_id');
    const lStmt = ctx.judge
      ? this.db.prepare(`SELECT j.label l, COUNT(*) n FROM samples s JOIN judgments j ON j.sample_id = s.id AND j.judge = ?
      WHERE s.condition_key = ? AND s.idx < ? GROUP BY j.label`)
      : null;
    for (const c of ctx.conditions) {
      for (const r of qStmt.all(c.conditionKey, ctx.n) as { q: string; n: number }[]) questions.set(r.q, (questions.get(r.q) ?? 0) + r.n);
      for (const r of (lStmt?.all(ctx.judge, c.conditionKey, ctx.n) ?? []) as { l: string; n: number }[]) labels.set(r.l, (labels.get(r.l) ?? 0) + r.n);
    }
    const facets: Facets = {
      questions: [...questions].map(([id, n]) => ({ id, n })).sort((a, b) => a.id.localeCompare(b.id)),
      labels: [...labels].map(([id, n]) => ({ id, n })).sort((a, b) => b.n - a.n),
      hasScores: ctx.judge ? this.db.prepare(`SELECT 1 FROM judgments WHERE judge = ? AND score IS NOT NULL LIMIT 1`).get(ctx.judge) !== undefined : false,
      scoreJudges: this.scoreJudges(ctx),
    };
    if (ctx.row.status !== 'running') this.facetCache.set(key, facets);
    return facets;
  }

  /**
   * The FROM and WHERE of a filter within one condition (bound parameters only). Judgments are joined
   * only when the filter reads them (an unfiltered count then walks the samples index alone), and
   * inner-joined when it does, so SQLite may start from the (judge, label) index.
   */
  private fromSql(f: SampleFilter, forRows: boolean): string {
    const needs = f.label !== undefined || f.scoreMin !== undefined || f.scoreMax !== undefined;
    if (needs) return 'samples s JOIN judgments j ON j.sample_id = s.id AND j.judge = @judge';
    return forRows ? 'samples s LEFT JOIN judgments j ON j.sample_id = s.id AND j.judge = @judge' : 'samples s';
  }

  private filterSql(f: SampleFilter): { sql: string; args: Record<string, unknown> } {
    const where = ['s.condition_key = @key', 's.idx < @n'],
      args: Record<string, unknown> = {};
    if (f.question) {
      where.push('s.question_id = @question');
      args.question = f.question;
    }
    if (f.label) {
      where.push('j.label = @label');
      args.label = f.label;
    }
    if (f.scoreMin !== undefined) {
      where.push('j.score >= @min');
      args.min = f.scoreMin;
    }
    if (f.scoreMax !== undefined) {
      where.push('j.score <= @max');
      args.max = f.scoreMax;
    }
    if (f.text) {
      where.push("(s.answer LIKE @text ESCAPE '\\' OR s.paraphrase LIKE @text ESCAPE '\\')");
      args.text = likePattern(f.text);
    }
    return { sql: where.join(' AND '), args };
  }

  private conditionsOf(ctx: RunContext, f: SampleFilter) {
    if (!f.condition) return ctx.conditions;
    const c = ctx.conditions.filter((x) => x.name === f.condition);
    if (c.length === 0)
      throw new BadRequest(`run ${ctx.row.id} has no condition "${f.condition}" (it has ${ctx.conditions.map((x) => `"${x.name}"`).join(', ')})`);
    return c;
  }

  private counts(ctx: RunContext, f: SampleFilter) {
    const { sql, args } = this.filterSql(f);
    const from = this.fromSql(f, false);
    const stmt = this.db.prepare(`SELECT COUNT(*) n FROM ${from} WHERE ${sql}`);
    const judge = from.includes('@judge') ? { judge: ctx.judge } : {};
    return this.conditionsOf(ctx, f).map((c) => ({ c, n: (stmt.get({ ...args, ...judge, key: c.conditionKey, n: ctx.n }) as { n: number }).n }));
  }

  /**
   * One page of a run's samples matching a filter, in condition order then index order. The global
   * offset is mapped onto the conditions by their filtered counts, so each condition's query walks
   * its own index and no query sorts the whole run.
   */
  samples(id: string, f: SampleFilter, offset = 0, limit = 100): SamplePage {
    const ctx = this.context(id);
    if (f.sort) return this.sortedSamples(ctx, f, offset, limit);
    const counts = this.counts(ctx, f);
    const total = counts.reduce((a, x) => a + x.n, 0);
    const { sql, args } = this.filterSql(f);
    const stmt = this.db
      .prepare(`SELECT s.id, s.question_id, s.idx, substr(s.paraphrase, 1, 300) paraphrase, substr(s.answer, 1, 400) answer, s.finish_reason, j.label, j.score
      FROM ${this.fromSql(f, true)} WHERE ${sql} ORDER BY s.idx, s.id LIMIT @limit OFFSET @offset`);
    const rows: SampleRow[] = [];
    let skip = offset;
    for (const { c, n } of counts) {
      if (rows.length >= limit) break;
      if (skip >= n) {
        skip -= n;
        continue;
      }
      const got = stmt.all({ ...args, judge: ctx.judge, key: c.conditionKey, n: ctx.n, limit: limit - rows.length, offset: skip }) as Record<string, unknown>[];
      skip = 0;
      for (const r of got) rows.push(sampleRow(r, c.name));
    }
    return { total, offset, rows };
  }

  /** Where a sample sits in the filtered list (so a shared link can resume j/k navigation there), or null. */
  position(id: string, f: SampleFilter, sampleId: number): number | null {
    const ctx = this.context(id);
    if (f.sort) return this.sortedPosition(ctx, f, sampleId);
    const s = this.db.prepare('SELECT condition_key, idx FROM samples WHERE id = ?').get(sampleId) as { condition_key: string; idx: number } | undefined;
    if (!s) return null;
    const { sql, args } = this.filterSql(f);
    const from = this.fromSql(f, true);
    // The list's order within a condition is (idx, id): a conversation stores every turn under its conversation's idx.
    const inCond = this.db.prepare(`SELECT COUNT(*) n FROM ${from} WHERE ${sql} AND (s.idx < @before OR (s.idx = @before AND s.id < @id))`);
    const matches = this.db.prepare(`SELECT COUNT(*) n FROM ${from} WHERE ${sql} AND s.id = @id`);
    let before = 0;
    for (const { c, n } of this.counts(ctx, f)) {
      if (c.conditionKey === s.condition_key) {
        const a = { ...args, judge: ctx.judge, key: c.conditionKey, n: ctx.n };
        if ((matches.get({ ...a, id: sampleId }) as { n: number }).n === 0) return null;
        return before + (inCond.get({ ...a, before: s.idx, id: sampleId }) as { n: number }).n;
      }
      before += n;
    }
    return null;
  }

  /** One sample in full: the prompt as sent, the whole answer and every judgment any judge gave it. */
  sample(runId: string, sampleId: number): SampleDetail {
    return this.samplesInFull(runId, [sampleId])[0];
  }

  /**
   * Several samples of a run in full, in the order asked: two queries for the lot (the samples, then
   * all their judgments), where `sample` per id would cost two each (an export pages through a million).
   */
  samplesInFull(runId: string, sampleIds: number[]): SampleDetail[] {
    if (!sampleIds.length) return [];
    const ctx = this.context(runId);
    const ids = JSON.stringify(sampleIds);
    const rows = this.db
      .prepare(
        `SELECT s.*, j.label, j.score FROM samples s LEFT JOIN judgments j ON j.sample_id = s.id AND j.judge = ? WHERE s.id IN (SELECT value FROM json_each(?))`,
      )
      .all(ctx.judge, ids) as Record<string, unknown>[];
    const judged = new Map<number, SampleDetail['judgments']>();
    for (const j of this.db
      .prepare(
        `SELECT sample_id, judge, label, score, ${this.explained ? 'explanation' : 'NULL'} explanation FROM judgments WHERE sample_id IN (SELECT value FROM json_each(?)) ORDER BY sample_id, judge`,
      )
      .all(ids) as ({ sample_id: number } & SampleDetail['judgments'][number])[]) {
      const { sample_id, ...rest } = j;
      const list = judged.get(sample_id) ?? [];
      list.push(rest);
      judged.set(sample_id, list);
    }
    const byId = new Map<number, SampleDetail>();
    for (const r of rows) {
      const cond = ctx.conditions.find((c) => c.conditionKey === r.condition_key);
      if (!cond || (r.idx as number) >= ctx.n) continue;
      const id = r.id as number;
      byId.set(id, {
        ...sampleRow(r, cond.name),
        answer: r.answer as string,
        prompt: JSON.parse(r.prompt as string),
        createdAt: r.created_at as string,
        judgments: judged.get(id) ?? [],
      });
    }
    return sampleIds.map((id) => {
      const s = byId.get(id);
      if (!s) throw new NotFound(`run ${runId} has no sample ${id}`);
      return s;
    });
  }

  /** Up to `perCondition` samples of each condition, in full (for the self-contained report). */
  sampleBundle(runId: string, perCondition: number): { rows: SampleDetail[]; total: number } {
    const ctx = this.context(runId);
    const stmt = this.db.prepare(`SELECT s.*, j.label, j.score FROM samples s LEFT JOIN judgments j ON j.sample_id = s.id AND j.judge = ?
      WHERE s.condition_key = ? AND s.idx < ? ORDER BY s.idx, s.id LIMIT ?`);
    const rows: SampleDetail[] = [];
    for (const c of ctx.conditions) {
      for (const r of stmt.all(ctx.judge, c.conditionKey, ctx.n, perCondition) as Record<string, unknown>[]) {
        rows.push({
          ...sampleRow(r, c.name),
          answer: r.answer as string,
          prompt: JSON.parse(r.prompt as string),
          createdAt: r.created_at as string,
          judgments: [],
        });
      }
    }
    return { rows, total: this.counts(ctx, {}).reduce((a, x) => a + x.n, 0) };
  }

  /**
   * The judges that gave numeric scores to this run's samples (the run's judge, its monitors, vector
   * projections): read from the first samples of each condition, which every judge of a run scores.
   */
  private scoreJudges(ctx: RunContext): string[] {
    const stmt = this.db.prepare(`SELECT DISTINCT j.judge FROM judgments j WHERE j.score IS NOT NULL AND j.sample_id IN
      (SELECT id FROM samples WHERE condition_key = ? AND idx < ? ORDER BY idx LIMIT 50)`);
    const out = new Set<string>();
    for (const c of ctx.conditions) for (const r of stmt.all(c.conditionKey, ctx.n) as { judge: string }[]) out.add(r.judge);
    return [...out].sort((a, b) => (a === ctx.judge ? -1 : b === ctx.judge ? 1 : a.localeCompare(b)));
  }

  /**
   * Under a sort, one query over every condition of the filter (a sort is global, so it cannot walk
   * the conditions one after another): ordered by the sort judge's score, unscored last, then by id so
   * the order is total and paging is stable. The filter's own judge join stays the run's judge.
   */
  private sortedSql(ctx: RunContext, f: SampleFilter): { from: string; where: string; args: Record<string, unknown>; names: Map<string, string> } {
    const conds = this.conditionsOf(ctx, f);
    const { sql, args } = this.filterSql(f);
    const keys = conds.map((c, i) => [`k${i}`, c.conditionKey] as const);
    const where = sql.replace('s.condition_key = @key', `s.condition_key IN (${keys.map(([k]) => `@${k}`).join(', ')})`);
    const from = `${this.fromSql(f, true)} LEFT JOIN judgments o ON o.sample_id = s.id AND o.judge = @sortJudge`;
    return {
      from,
      where,
      args: { ...args, ...Object.fromEntries(keys), judge: ctx.judge, n: ctx.n, sortJudge: f.sort },
      names: new Map(conds.map((c) => [c.conditionKey, c.name])),
    };
  }

  private sortedSamples(ctx: RunContext, f: SampleFilter, offset: number, limit: number): SamplePage {
    const q = this.sortedSql(ctx, f);
    const dir = f.order === 'asc' ? 'ASC' : 'DESC';
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM ${q.from} WHERE ${q.where}`).get(q.args) as { n: number }).n;
    const rows = this.db
      .prepare(
        `SELECT s.id, s.condition_key, s.question_id, s.idx, substr(s.paraphrase, 1, 300) paraphrase, substr(s.answer, 1, 400) answer, s.finish_reason, j.label, j.score, o.score sort_score
      FROM ${q.from} WHERE ${q.where} ORDER BY o.score IS NULL, o.score ${dir}, s.id LIMIT @limit OFFSET @offset`,
      )
      .all({ ...q.args, limit, offset }) as Record<string, unknown>[];
    return {
      total,
      offset,
      rows: rows.map((r) => ({ ...sampleRow(r, q.names.get(r.condition_key as string)!), sortScore: (r.sort_score as number | null) ?? null })),
    };
  }

  private sortedPosition(ctx: RunContext, f: SampleFilter, sampleId: number): number | null {
    const q = this.sortedSql(ctx, f);
    const me = this.db.prepare(`SELECT o.score score FROM ${q.from} WHERE ${q.where} AND s.id = @id`).get({ ...q.args, id: sampleId }) as
      { score: number | null } | undefined;
    if (!me) return null;
    const cmp = f.order === 'asc' ? '<' : '>';
    // Rows before it: scored ones that sort ahead of it (or all scored ones when it has none), then equal scores with a smaller id.
    const before =
      me.score === null
        ? `(o.score IS NOT NULL OR (o.score IS NULL AND s.id < @id))`
        : `(o.score IS NOT NULL AND (o.score ${cmp} @score OR (o.score = @score AND s.id < @id)))`;
    return (
      this.db.prepare(`SELECT COUNT(*) n FROM ${q.from} WHERE ${q.where} AND ${before}`).get({ ...q.args, id: sampleId, score: me.score }) as { n: number }
    ).n;
  }

  /** A run named by id, id prefix or name (the latest run of that name). */
  resolveRun(ref: string): string {
    const found = findRun(this.db, ref);
    if ('id' in found) return found.id;
    throw new NotFound(
      found.matches > 1 ? `"${ref}" names ${found.matches} runs; give more of the id` : `no run "${ref}" in ${this.name} (by id, id prefix or name)`,
    );
  }
}

function sampleRow(r: Record<string, unknown>, condition: string): SampleRow {
  return {
    id: r.id as number,
    condition,
    questionId: r.question_id as string,
    idx: r.idx as number,
    paraphrase: r.paraphrase as string,
    answer: r.answer as string,
    finishReason: r.finish_reason as string,
    label: (r.label as string | null) ?? null,
    score: (r.score as number | null) ?? null,
  };
}

export class NotFound extends Error {}
export class BadRequest extends Error {}
