/**
 * The shapes the viewer's JSON API returns, shared by the server (queries.ts), the report and the
 * browser app (client/), which imports only these types.
 */
import type { ExperimentResult } from '../experiments/result.ts';

export interface RunRow {
  id: string;
  name: string;
  kind: string;
  model: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  /** What the run found, in one line (null until it has a summary). */
  headline: string | null;
  /** Samples over all conditions (from the summary). */
  samples: number | null;
  conditions: number;
  /** Running runs: samples stored so far against the spec's conditions × samples. */
  progress?: { done: number; total: number };
  /** The step the runner last reported (sample <condition>, fine-tune <condition>, …) with its own counts. */
  phase?: { label: string; done: number; total: number };
  /** Seconds since the run (last) started; once finished, the time it ran. */
  elapsedS?: number;
  /** Running runs: seconds the current step still needs at its rate so far (null while unknown). */
  etaS?: number | null;
  /** Failed runs: the error they stopped with. */
  error?: string;
}

export interface RunList {
  total: number;
  runs: RunRow[];
  kinds: string[];
}

export interface RunDetail extends RunRow {
  spec: Record<string, unknown>;
  summary: ExperimentResult | null;
  judge: string | null;
  conditionList: { name: string; role: string }[];
  /** Without a summary: per condition, the samples stored and the labels judged so far. */
  live?: { name: string; role: string; sampled: number; labels: Record<string, number> }[];
  /** Samples each condition is to have (the spec's `samples`, or the slots a question file's counts gave). */
  perCondition?: number;
}

export interface Facets {
  questions: { id: string; n: number }[];
  labels: { id: string; n: number }[];
  hasScores: boolean;
  /** Judges with numeric scores on this run's samples (what the list can be sorted by). */
  scoreJudges?: string[];
}

export interface SampleFilter {
  condition?: string;
  question?: string;
  label?: string;
  scoreMin?: number;
  scoreMax?: number;
  /** Substring of the answer or the question asked (case-insensitive for ASCII). */
  text?: string;
  /**
   * Order by a judge's score (the run's judge, a monitor, a projection `monitor:…:prompt`) instead of
   * condition and index; samples it did not score come last. `order`: desc (default) or asc.
   */
  sort?: string;
  order?: 'asc' | 'desc';
}

export interface SampleRow {
  id: number;
  condition: string;
  questionId: string;
  idx: number;
  paraphrase: string;
  /** In lists, the first 400 characters. */
  answer: string;
  finishReason: string;
  label: string | null;
  score: number | null;
  /** Under a sort by another judge's score: that score. */
  sortScore?: number | null;
}

export interface SamplePage {
  total: number;
  offset: number;
  rows: SampleRow[];
}

export interface SampleDetail extends SampleRow {
  prompt: unknown;
  createdAt: string;
  judgments: { judge: string; label: string; score: number | null; explanation: string | null }[];
}
