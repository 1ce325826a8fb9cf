/**
 * What an experiment returns, whatever its kind: conditions with a rate, its 95% interval and n, per
 * question, and the effects against baseline and control. Each kind adds its own fields (a profile per
 * condition, the persona vector, the audit) in its own module. This is the `--json` shape and the
 * summary the store keeps: a contract with the viewer and the reports, versioned by `format`.
 */
import type { Model } from '../backends/model.ts';
import type { ModelRef } from '../backends/registry.ts';
import { wilson } from '../shared/stats.ts';
import type { ConditionSpec } from './spec-parts.ts';

/**
 * The results format. 2: every summary carries `format` and its kind's fields as declared by the kind
 * (1, unversioned, had the same fields). Readers accept 1 and 2; a newer format is refused with a
 * message saying which version of dramatis wrote it.
 */
export const RESULTS_FORMAT = 2;

export interface RateResult {
  rate: number;
  ci: [number, number];
  n: number;
  hits: number;
}

export interface CurvePoint extends RateResult {
  step: number;
  steps: number;
  coherent: number;
  unscored?: number;
  labels: Record<string, number>;
}

export interface ConditionResult extends RateResult {
  name: string;
  role: ConditionSpec['role'];
  group: string;
  model: string;
  /** Share of the answers the judge scored that it could read (label other than `incoherent`; unscored ones left out). */
  coherent: number;
  /** Answers the judge gave no verdict on (counted apart from the coherent share). */
  unscored?: number;
  labels: Record<string, number>;
  questions: ({ id: string } & RateResult)[];
  examples: { question: string; answer: string; label: string }[];
  /** With `finetune.snapshots`: the rate along the fine-tune, ending with the final model. */
  curve?: CurvePoint[];
  /** With `sampling.stop_on_loop`: answers the live loop guard cut short (stored with finish reason `cut`). */
  cut?: number;
  /** With the spec's `monitors`: each monitor's share of flagged answers, and its labels (date: the years). */
  monitors?: Record<string, RateResult & { labels: Record<string, number> }>;
}

export interface Effect {
  condition: string;
  against: string;
  difference: number;
  ci: [number, number];
}

export interface ExperimentResult<C extends ConditionResult = ConditionResult> {
  format: number;
  name: string;
  kind: string;
  model: string;
  /** What `rate` counts: the target label (generalize), `modal answer` (profile), `true author (top-1)` (infer). */
  target: string;
  runId: string;
  conditions: C[];
  effects: Effect[];
  reference?: string;
  /** Samples whose requests failed for good (left out of every figure; a rerun retries them). */
  failed?: { unit: string; count: number; error: string | null }[];
}

export interface RunHooks {
  /** Progress of one named step (sampling a condition, fine-tuning, …). */
  progress?: (label: string, done: number, total: number) => void;
  log?: (message: string) => void;
  /** How model references become models (default: the backend registry). Tests inject fakes here. */
  loadModel?: (ref: ModelRef) => Promise<Model>;
}

export function rateOf(labels: string[], target: string): RateResult {
  const hits = labels.filter((l) => l === target).length;
  return countRate(hits, labels.length);
}

export function countRate(hits: number, n: number): RateResult {
  return { rate: n ? hits / n : 0, ci: wilson(hits, n), n, hits };
}

/** The label of an answer the judge gave no verdict on (no numeric tokens, no label among its top tokens). */
export const UNSCORED = 'unscored';

/**
 * How a condition's labels spread, and the share of the answers the judge scored that it could read
 * (anything but `incoherent`). Unscored answers are counted apart, not as coherent: a judge that
 * scored 2 of 17 answers must not print a coherent share of 88%.
 */
export function labelSummary(labels: string[]): { labels: Record<string, number>; coherent: number; unscored?: number } {
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  const unscored = counts[UNSCORED] ?? 0;
  const scored = labels.length - unscored;
  return {
    labels: counts,
    coherent: scored ? labels.filter((l) => l !== 'incoherent' && l !== UNSCORED).length / scored : 0,
    ...(unscored ? { unscored } : {}),
  };
}

/** A stored summary as the current format, or a clear error for one written by a newer dramatis. */
export function readSummary<R extends ExperimentResult>(raw: unknown): R {
  const r = raw as R;
  const format = r.format ?? 1;
  if (format > RESULTS_FORMAT)
    throw new Error(`this run's results are format ${format}; this dramatis reads up to format ${RESULTS_FORMAT} (upgrade dramatis to read it)`);
  return { ...r, format };
}
