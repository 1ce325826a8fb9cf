/**
 * `dramatis monitor FILE… [--run NAME]`: every transcript monitor on every transcript of the files (OpenAI
 * messages JSONL, Inspect .eval/.json logs, Petri transcripts; a folder stands for the files in it) and of
 * a stored run. A table per monitor (flagged count, rate with its 95% Wilson interval, the worst or first
 * examples with their explanation and evidence), or `--json`: one object per transcript per line.
 * Transcripts are read and judged one at a time; only the counts and the few examples shown are kept.
 *
 * `--judge MODEL` adds a second opinion (scorers/monitors/second-opinion.ts): an LLM rubric judge asked
 * each monitor's question of every transcript, in batches. The table then shows per monitor the judge's
 * flagged count and rate, the agreement between rules and judge over the transcripts both scored (rate,
 * interval, Cohen's kappa), the unscored count with its causes, and a few disagreements. With `--json`
 * each line gains a top-level `"judge": {NAME: {"flag", "year"?, "reason", "name"}}` beside `"monitors"`
 * (the rules' objects unchanged); an unscored verdict is `{"flag": null, "unscored": "unparseable" |
 * "failed", "reason", "raw"?, "name"}`. Without --judge the output is exactly what it was.
 */
import type { Command } from 'commander';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { MonitorVerdict, TranscriptMonitor } from '../scorers/monitors/types.ts';
import type { ReadOptions, ReadTranscript } from '../experiments/transcripts.ts';
import type { SecondOpinion } from '../scorers/monitors/second-opinion.ts';
import type { JudgeCliOptions } from './monitor-judge.ts';
import { wilson } from '../shared/stats.ts';
import { interval, pct, table } from '../shared/format.ts';
import { progressBar, type Progress } from './progress.ts';
import { DEFAULT_DB } from './run-command.ts';

const READABLE = new Set(['.jsonl', '.ndjson', '.json', '.eval']);
/** Inputs at least this large (bytes, or transcripts) show progress on stderr. */
const BIG_BYTES = 32 << 20;
const BIG_COUNT = 20_000;
/** Inputs at least this large (bytes in all) are judged on worker threads unless --jobs says otherwise. */
const PARALLEL_BYTES = 16 << 20;
/** Transcripts sent to a worker at a time. */
const BATCH = 256;

/** The monitors run on batches of transcripts: in this thread, or on `jobs` worker threads. */
interface Judge {
  run(batch: ReadTranscript[]): Promise<MonitorVerdict[][]>;
  close(): Promise<void>;
}

function rulesPool(jobs: number, monitors: TranscriptMonitor[]): Judge {
  if (jobs <= 1) return { run: async (batch) => batch.map((t) => monitors.map((m) => m.check(t))), close: async () => {} };
  // Each worker runs the TypeScript sources through tsx, as the organism's worker threads do.
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = new URL('./monitor-worker.ts', import.meta.url).href;
  const pending = new Map<number, { resolve: (r: MonitorVerdict[][]) => void; reject: (e: Error) => void }>();
  const fail = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const workers = Array.from({ length: jobs }, () => {
    const w = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`, {
      eval: true,
      workerData: { names: monitors.map((m) => m.name) },
    });
    w.on('message', (m: { id: number; results?: MonitorVerdict[][]; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(`monitor worker: ${m.error}`));
      else p?.resolve(m.results!);
    });
    w.on('error', (e) => fail(new Error(`monitor worker crashed: ${e.message}`)));
    return w;
  });
  let next = 0;
  return {
    run: (batch) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        workers[id % jobs].postMessage({ id, batch });
      }),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** The files named: a folder stands for its transcript files (.jsonl, .json, .eval), in name order. */
export function expandInputs(paths: string[]): string[] {
  return paths.flatMap((p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new Error(`${p}: no such file`);
    }
    if (!st.isDirectory()) return [p];
    const files = readdirSync(p)
      .filter((f) => READABLE.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(p, f));
    if (files.length === 0) throw new Error(`${p}: a folder with no transcript files (.jsonl, .json, .eval)`);
    return files;
  });
}

/** What one transcript's line says about one monitor: the verdict, with `year` always there for date and `score` for distress. */
function verdictJson(name: string, v: MonitorVerdict): Record<string, unknown> {
  const { flag, score, explanation, evidence, ...detail } = v;
  // The shape: distress always has a score, date always a year (null when none).
  const shown = score ?? (name === 'distress' ? (flag ? 1 : 0) : undefined);
  return { flag, ...(shown !== undefined ? { score: shown } : {}), ...(name === 'date' ? { year: v.year ?? null } : {}), ...detail, explanation, evidence };
}

interface Example {
  id: string;
  source: string;
  verdict: MonitorVerdict;
  order: number;
}

/** Per monitor: how many flagged, the examples to show (the highest scores, else the first flagged), the years. */
class Tally {
  flagged = 0;
  examples: Example[] = [];
  years = new Map<number, number>();
  constructor(
    readonly monitor: TranscriptMonitor,
    readonly keep: number,
  ) {}

  add(id: string, source: string, v: MonitorVerdict, order: number): void {
    if (!v.flag) return;
    this.flagged++;
    if (typeof v.year === 'number') this.years.set(v.year, (this.years.get(v.year) ?? 0) + 1);
    if (this.keep === 0) return;
    const scored = typeof v.score === 'number';
    if (!scored) {
      if (this.examples.length < this.keep) this.examples.push({ id, source, verdict: v, order });
      return;
    }
    // Keep the `keep` highest scores (earlier first among equals): a short sorted list.
    const ex = { id, source, verdict: v, order };
    const worse = (a: Example, b: Example) => (b.verdict.score ?? 0) - (a.verdict.score ?? 0) || a.order - b.order;
    if (this.examples.length < this.keep) {
      this.examples.push(ex);
      this.examples.sort(worse);
    } else if (worse(ex, this.examples[this.examples.length - 1]) < 0) {
      this.examples[this.examples.length - 1] = ex;
      this.examples.sort(worse);
    }
  }
}

const oneLine = (s: string, max: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

/** The summary for people: the table, then each monitor's examples. */
export function formatMonitorSummary(tallies: Tally[], n: number, sources: string[], multipleSources: boolean): string {
  const out: string[] = [];
  const from = sources.length <= 3 ? sources.join(', ') : `${sources.length} sources (${sources.slice(0, 2).join(', ')}, …)`;
  out.push(`${n} transcript${n === 1 ? '' : 's'} from ${from}`, '');
  const years = (t: Tally) =>
    [...t.years.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .map(([y, c]) => `${y} ×${c}`)
      .join(', ');
  const withYears = tallies.some((t) => t.years.size > 0);
  out.push(
    table(
      tallies.map((t) => [
        t.monitor.name,
        `${t.flagged}/${n}`,
        n ? pct(t.flagged / n) : '-',
        n ? interval(wilson(t.flagged, n)) : '-',
        ...(withYears ? [years(t)] : []),
      ]),
      ['monitor', 'flagged', 'rate', '95% interval', ...(withYears ? ['years'] : [])],
    ),
  );
  for (const t of tallies) {
    if (t.examples.length === 0) continue;
    const scored = t.examples.some((e) => typeof e.verdict.score === 'number');
    out.push('', `${t.monitor.name}: ${scored ? 'the highest scores' : 'the first flagged'}, ${t.examples.length} of ${t.flagged}`);
    for (const e of t.examples) {
      const name = multipleSources ? `${e.source}: ${e.id}` : e.id;
      const score = typeof e.verdict.score === 'number' ? ` (score ${e.verdict.score.toFixed(2)})` : '';
      out.push(`  ${name}${score}: ${oneLine(e.verdict.explanation, 160)}`);
      const ev = e.verdict.evidence[0];
      if (ev) out.push(`    message ${ev.message}, characters ${ev.start}–${ev.end}: "${oneLine(ev.text, 140)}"`);
    }
  }
  return out.join('\n');
}

/** Lines to stdout, written in large pieces and waiting when the pipe is full. */
function lineWriter() {
  let buf: string[] = [];
  let size = 0;
  const flush = async () => {
    if (size === 0) return;
    const text = buf.join('');
    buf = [];
    size = 0;
    if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  };
  return {
    async line(s: string) {
      buf.push(s, '\n');
      size += s.length + 1;
      if (size >= 1 << 20) await flush();
    },
    flush,
  };
}

/** A progress bar made only once the input turns out big. */
function lazyProgress(label: string): ReadOptions['onProgress'] & { stop(): void } {
  let bar: Progress | undefined;
  let off = false;
  const f = ((done: number, total: number, unit: 'bytes' | 'transcripts') => {
    if (off) return;
    if (!bar) {
      if (unit === 'bytes' ? total < BIG_BYTES : total < BIG_COUNT) {
        off = true;
        return;
      }
      bar = unit === 'bytes' ? progressBar(`${label} (MB)`, Math.ceil(total / 2 ** 20)) : progressBar(label, total);
    }
    bar.update(unit === 'bytes' ? Math.floor(done / 2 ** 20) : done);
  }) as ReadOptions['onProgress'] & { stop(): void };
  f.stop = () => bar?.stop();
  return f;
}

type MonitorOptions = { run?: string; db: string; monitors?: string; worst: number; jobs?: number; json?: boolean; list?: boolean } & Partial<JudgeCliOptions>;

/** A commander parser for a whole number in [min, max]. */
const wholeNumber = (flag: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`option ${flag}: expected a whole number from ${min} to ${max}, got "${v}"`);
  return n;
};

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description(
      'run the transcript monitors (loop, distress, date, eval_awareness) on transcripts: OpenAI messages JSONL, Inspect .eval/.json logs, Petri transcripts, or a stored run',
    )
    .argument('[files...]', 'transcript files (a folder: the .jsonl, .json and .eval files in it)')
    .option('--run <name>', 'also monitor a stored run: each sample, prompt then answer (run id, id prefix or name)')
    .option('--db <file>', "results database for --run (with --judge, its folder's cache/ keeps the judge's answers)", DEFAULT_DB)
    .option('--monitors <list>', 'comma-separated monitors to run (default: all)')
    .option(
      '--worst <n>',
      'examples shown per monitor (the highest scores, else the first flagged)',
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`option --worst: expected a whole number, at least 0, got "${v}"`);
        return n;
      },
      3,
    )
    .option(
      '--jobs <n>',
      `worker threads judging at once (default: ${availableParallelism()}, this machine's cores, for inputs over 16 MB; else 1, in this thread)`,
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`option --jobs: expected a whole number from 1 to 64, got "${v}"`);
        return n;
      },
    )
    .option(
      '--json',
      'one JSON object per transcript per line on stdout: {"id", "source", "monitors": {NAME: verdict}}; with --judge also "judge": {NAME: {"flag", "year" (date), "reason", "name"}}, an unscored one {"flag": null, "unscored": "unparseable"|"failed", "reason", "raw" (the answer, if any), "name"}',
    )
    .option(
      '--judge <model>',
      "a second opinion: an LLM rubric judge asked each monitor's question of every transcript (openai:MODEL, gguf:PATH, …); the table adds its rate, the agreement with the rules (rate, Cohen's kappa), the unscored and a few disagreements",
    )
    .option('--judge-base-url <url>', "the judge's OpenAI-compatible server (default $OPENAI_BASE_URL, else OpenAI's)")
    .option('--judge-api-key-env <var>', "the environment variable holding the judge's key")
    .option('--judge-monitors <list>', 'comma-separated monitors the judge is asked about (default: all those run)')
    .option('--judge-concurrency <n>', "the judge's requests in flight at once (openai: backends; default 16)", wholeNumber('--judge-concurrency', 1, 1024))
    .option(
      '--judge-max-chars <n>',
      'characters of each transcript the judge sees at most, cut to head and tail (default 8000)',
      wholeNumber('--judge-max-chars', 500, 1_000_000),
    )
    .option('--list', 'list the monitors and exit')
    .action(async (files: string[], o: MonitorOptions) => {
      const { transcriptMonitors, monitorByName } = await import('../scorers/monitors/index.ts');
      if (o.list) {
        for (const m of transcriptMonitors()) console.log(`${m.name.padEnd(16)} ${m.description}`);
        return;
      }
      const monitors = o.monitors
        ? [
            ...new Set(
              o.monitors
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
            ),
          ].map(monitorByName)
        : transcriptMonitors();
      if (monitors.length === 0) throw new Error('--monitors: name at least one monitor');
      if (!o.judge && (o.judgeMonitors || o.judgeBaseUrl || o.judgeApiKeyEnv || o.judgeConcurrency || o.judgeMaxChars))
        throw new Error('the --judge-… options need --judge MODEL');
      const inputs = expandInputs(files);
      if (inputs.length === 0 && !o.run) throw new Error('name transcript files, or a stored run with --run');
      const { transcriptsOf, runTranscripts } = await import('../experiments/transcripts.ts');
      const sources: { label: string; read: (p: ReadOptions['onProgress']) => AsyncIterable<ReadTranscript> | Iterable<ReadTranscript> }[] = [
        ...inputs.map((f) => ({ label: f, read: (p: ReadOptions['onProgress']) => transcriptsOf(f, { onProgress: p }) })),
        ...(o.run ? [{ label: `run ${o.run}`, read: (p: ReadOptions['onProgress']) => runTranscripts(o.db, o.run!, { onProgress: p }) }] : []),
      ];
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(0);
        throw e;
      });
      const out = lineWriter();
      const tallies = monitors.map((m) => new Tally(m, o.worst));
      // The second opinion: loaded once the inputs are known to exist, so a typo in a path costs no model load.
      const judge = o.judge
        ? await (
            await import('./monitor-judge.ts')
          ).openJudge(
            o as JudgeCliOptions,
            monitors.map((m) => m.name),
            join(resolve(o.db, '..'), 'cache'),
            o.worst,
          )
        : undefined;
      // Large inputs on as many threads as cores: on this project's 2-core machine, idle, 20,000
      // transcripts took 12.9 s on two workers against 22.4 s in one thread (each worker starts tsx, about
      // a second; cores busy with other work gain nothing: 18.3 s against 14.4 s for 15,000).
      const bytes = inputs.reduce((a, f) => a + statSync(f).size, 0) + (o.run ? (statSync(o.db, { throwIfNoEntry: false })?.size ?? 0) : 0);
      const jobs = o.jobs ?? (bytes >= PARALLEL_BYTES ? availableParallelism() : 1);
      const pool = rulesPool(jobs, monitors);
      const inFlight = 2 * jobs;
      let n = 0;
      // Batches are judged in order of reading and their results taken in the same order, a few in flight.
      const queue: { source: string; batch: ReadTranscript[]; results: Promise<MonitorVerdict[][]>; opinions?: Promise<SecondOpinion[][]> }[] = [];
      const take = async () => {
        const { source, batch, results, opinions: asked } = queue.shift()!;
        const verdicts = await results;
        const opinions = asked && (await asked);
        for (let b = 0; b < batch.length; b++) {
          const t = batch[b];
          const json: Record<string, unknown> = {};
          for (let i = 0; i < monitors.length; i++) {
            tallies[i].add(t.id, source, verdicts[b][i], n);
            if (o.json) json[monitors[i].name] = verdictJson(monitors[i].name, verdicts[b][i]);
          }
          const second = opinions && judge?.record(t.id, source, verdicts[b], opinions[b]);
          n++;
          if (o.json) await out.line(JSON.stringify({ id: t.id, source, monitors: json, ...(second ? { judge: second } : {}) }));
        }
      };
      const send = async (source: string, batch: ReadTranscript[]) => {
        queue.push({ source, batch, results: pool.run(batch), ...(judge ? { opinions: judge.run(batch) } : {}) });
        // A rejected batch is awaited in turn; until then it must not count as unhandled.
        queue[queue.length - 1].results.catch(() => {});
        while (queue.length >= inFlight) await take();
      };
      try {
        for (const s of sources) {
          const progress = lazyProgress(`monitor ${s.label.startsWith('run ') ? s.label : basename(s.label)}`);
          try {
            let batch: ReadTranscript[] = [];
            for await (const t of s.read(progress)) {
              batch.push(t);
              if (batch.length === BATCH) {
                await send(s.label, batch);
                batch = [];
              }
            }
            if (batch.length) await send(s.label, batch);
            while (queue.length) await take();
          } finally {
            progress.stop();
          }
        }
      } finally {
        await pool.close();
        await judge?.close();
      }
      await out.flush();
      if (!o.json)
        console.log(
          formatMonitorSummary(
            tallies,
            n,
            sources.map((s) => s.label),
            sources.length > 1,
          ),
        );
      if (judge && !o.json) console.log(`\n${judge.summary(sources.length > 1)}`);
      // Under --json the lines carry each unscored verdict's cause; stderr says that there were some.
      if (judge && o.json) for (const line of judge.unscoredLines()) process.stderr.write(`${line}\n`);
    });
}
