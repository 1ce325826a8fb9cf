/**
 * The second opinion's side of `dramatis monitor --judge MODEL`: loading the judge, running it batch
 * after batch with progress on stderr, each transcript's `"judge"` object for --json, and the agreement
 * table with its disagreements and unscored causes (see scorers/monitors/second-opinion.ts).
 */
import type { ChatModel } from '../backends/model.ts';
import type { MonitorVerdict, Transcript } from '../scorers/monitors/types.ts';
import { Agreement, JUDGED_MONITORS, secondOpinions, type SecondOpinion } from '../scorers/monitors/second-opinion.ts';
import { wilson } from '../shared/stats.ts';
import { interval, pct, table } from '../shared/format.ts';

export interface JudgeCliOptions {
  judge: string;
  judgeBaseUrl?: string;
  judgeApiKeyEnv?: string;
  judgeMonitors?: string;
  judgeConcurrency?: number;
  judgeMaxChars?: number;
}

/** The monitors to judge: --judge-monitors (each among those run), else all those run. */
export function judgedMonitors(list: string | undefined, run: string[]): string[] {
  if (list === undefined) return run;
  const names = [
    ...new Set(
      list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0) throw new Error('--judge-monitors: name at least one monitor');
  for (const n of names) {
    if (!JUDGED_MONITORS.includes(n)) throw new Error(`--judge-monitors: unknown monitor "${n}": the monitors are ${JUDGED_MONITORS.join(', ')}`);
    if (!run.includes(n)) throw new Error(`--judge-monitors: ${n} is not among the monitors run (--monitors ${run.join(',')})`);
  }
  // In the order the monitors are run (and printed).
  return run.filter((n) => names.includes(n));
}

export async function loadJudge(o: JudgeCliOptions, cacheDir: string): Promise<ChatModel> {
  const { loadModel } = await import('../backends/registry.ts');
  const { requireCapability } = await import('../backends/model.ts');
  const model = await loadModel(o.judge, { cacheDir, baseUrl: o.judgeBaseUrl, apiKeyEnv: o.judgeApiKeyEnv, concurrency: o.judgeConcurrency });
  return requireCapability(model, 'chat', "the monitors' judge (--judge)");
}

/** Judged requests so far, on stderr: nothing for a short run, then a line at most every 5 s. */
function judgeProgress(label: string) {
  const start = Date.now();
  let last = start;
  let asked = 0,
    before = 0,
    said = -1;
  const say = (done: number) => {
    if (done === said) return;
    process.stderr.write(`${label}: ${done}/${asked} requests answered so far, ${((Date.now() - start) / 1000).toFixed(0)} s\n`);
    said = done;
  };
  return {
    begin(n: number) {
      asked += n;
    },
    update(done: number) {
      const now = Date.now();
      if (now - last < 5000) return;
      last = now;
      say(before + done);
    },
    end(n: number) {
      before += n;
    },
    stop() {
      if (said >= 0) say(before);
    },
  };
}

/**
 * The judge run on one batch after another (one call at a time: the backend keeps its own requests in
 * flight, and a local model is not asked twice at once). `run` never rejects (secondOpinions does not).
 */
export function judgeRunner(model: ChatModel, monitors: string[], maxChars: number | undefined) {
  const progress = judgeProgress(`monitor judge ${model.id}`);
  let chain: Promise<unknown> = Promise.resolve();
  return {
    run(batch: Transcript[]): Promise<SecondOpinion[][]> {
      const p = chain.then(async () => {
        const n = batch.length * monitors.length;
        progress.begin(n);
        try {
          return await secondOpinions(batch, { model, monitors, maxChars, onProgress: (done) => progress.update(done) });
        } finally {
          progress.end(n);
        }
      });
      chain = p;
      return p;
    },
    stop: () => progress.stop(),
  };
}

/** The judge as the command uses it: asked batch after batch, each transcript's opinions recorded against the rules' verdicts. */
export interface OpenJudge {
  model: ChatModel;
  run(batch: Transcript[]): Promise<SecondOpinion[][]>;
  /** Counts one transcript (`verdicts`: the rules', one per monitor run, in `runNames` order); gives its `"judge"` object for --json. */
  record(id: string, source: string, verdicts: MonitorVerdict[], opinions: SecondOpinion[]): Record<string, unknown>;
  /** The table, disagreements and unscored causes, for the summary. */
  summary(multipleSources: boolean): string;
  /** One line per monitor with unscored verdicts (for stderr under --json). */
  unscoredLines(): string[];
  close(): Promise<void>;
}

/** Loads the judge and validates what it is asked about; `runNames`: the monitors run, in order. */
export async function openJudge(o: JudgeCliOptions, runNames: string[], cacheDir: string, keep: number): Promise<OpenJudge> {
  const judged = judgedMonitors(o.judgeMonitors, runNames);
  const at = judged.map((name) => runNames.indexOf(name));
  const model = await loadJudge(o, cacheDir);
  const runner = judgeRunner(model, judged, o.judgeMaxChars);
  const agreements = judged.map((name) => new Agreement(name, keep));
  return {
    model,
    run: runner.run,
    record(id, source, verdicts, opinions) {
      const json: Record<string, unknown> = {};
      judged.forEach((name, j) => {
        agreements[j].add(id, source, verdicts[at[j]], opinions[j]);
        json[name] = opinionJson(name, opinions[j]);
      });
      return json;
    },
    summary: (multipleSources) => formatJudgeSummary(agreements, model.id, multipleSources),
    unscoredLines: () =>
      agreements.filter((a) => a.unscored > 0).map((a) => `monitor judge: ${a.monitor}: ${a.unscored} of ${a.n} unscored: ${unscoredCauses(a)}`),
    async close() {
      runner.stop();
      // A local judge (gguf:) holds a llama.cpp context, which would keep the process alive.
      await (model as { dispose?: () => Promise<void> }).dispose?.();
    },
  };
}

/** One transcript's judge verdicts for --json: `{flag, year?, reason, name}`, or the unscored shape. */
export function opinionJson(monitor: string, o: SecondOpinion): Record<string, unknown> {
  if (o.flag === null) return { flag: null, unscored: o.unscored, reason: o.reason, ...(o.raw !== undefined ? { raw: o.raw } : {}), name: o.judge };
  return { flag: o.flag, ...(monitor === 'date' ? { year: o.year ?? null } : {}), reason: o.reason, name: o.judge };
}

const oneLine = (s: string, max: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

/** Why some verdicts are unscored, in a line: how many unparseable (one answer shown), how many failed (each error, with its count). */
export function unscoredCauses(a: Agreement): string {
  const parts: string[] = [];
  if (a.unparseable) parts.push(`${a.unparseable} unparseable${a.badAnswers.length ? ` (e.g. "${oneLine(a.badAnswers[0], 100)}")` : ''}`);
  if (a.failed) {
    const errors = [...a.errors.entries()].sort((x, y) => y[1] - x[1]);
    const shown = errors
      .slice(0, 3)
      .map(([e, c]) => `${oneLine(e, 160)}${c > 1 ? ` ×${c}` : ''}`)
      .join('; ');
    parts.push(`${a.failed} failed (${shown}${errors.length > 3 ? `; ${errors.length - 3} other errors` : ''})`);
  }
  return parts.join(', ');
}

/** The judge's part of the summary: its table, then each monitor's disagreements and unscored causes. */
export function formatJudgeSummary(agreements: Agreement[], modelId: string, multipleSources: boolean): string {
  const out: string[] = [`second opinion: ${modelId} (an LLM rubric judge; agreement over the transcripts both scored)`];
  out.push(
    table(
      agreements.map((a) => {
        const k = a.kappa;
        return [
          a.monitor,
          `${a.flagged}/${a.scored}`,
          a.scored ? pct(a.flagged / a.scored) : '-',
          a.scored ? interval(wilson(a.flagged, a.scored)) : '-',
          `${a.agree}/${a.scored}`,
          a.scored ? pct(a.agree / a.scored) : '-',
          a.scored ? interval(wilson(a.agree, a.scored)) : '-',
          k === null ? '-' : k.toFixed(2),
          String(a.unscored),
        ];
      }),
      ['monitor', 'judge flagged', 'rate', '95% interval', 'agree', 'rate', '95% interval', 'kappa', 'unscored'],
    ),
  );
  for (const a of agreements) {
    const differ = a.scored - a.agree;
    if (differ > 0) {
      out.push(
        '',
        `${a.monitor}: rules and judge disagree on ${differ} of ${a.scored}${a.disagreements.length < differ ? `, the first ${a.disagreements.length}` : ''}`,
      );
      for (const d of a.disagreements) {
        out.push(`  ${multipleSources ? `${d.source}: ${d.id}` : d.id}: rules ${d.rules}, judge ${d.judge}`);
        out.push(`    rules: ${oneLine(d.explanation, 160)}`);
        out.push(`    judge: ${oneLine(d.reason, 160)}`);
      }
    }
    if (a.unscored > 0) out.push('', `${a.monitor}: ${a.unscored} of ${a.n} unscored by the judge: ${unscoredCauses(a)}`);
  }
  return out.join('\n');
}
