/**
 * What an experiment returns, whatever its kind: conditions with a rate, its 95% interval and n, per
 * question, plus what each kind adds (effects, profiles, posteriors). This is also the `--json` shape.
 */
import { createHash } from 'node:crypto';
import type { Model } from '../backends/model.ts';
import type { ConditionSpec } from './spec.ts';
import { wilson } from './stats.ts';
import type { VectorsSummary } from './vectors-kind.ts';
import type { AuditSummary } from './audit-kind.ts';

export interface RateResult {
  rate: number;
  ci: [number, number];
  n: number;
  hits: number;
}

/** profile: what one question drew from the model. */
export interface QuestionProfile extends RateResult {
  id: string;
  n: number;
  /** Labels by count, most frequent first. */
  distribution: { label: string; count: number }[];
  entropyBits: number;
  modal: string;
  /** The most frequent answers, normalised (lower case, spaces collapsed): the filled-in details. */
  topAnswers: { answer: string; count: number }[];
}

export interface CurvePoint extends RateResult {
  step: number;
  steps: number;
  coherent: number;
  labels: Record<string, number>;
}

/** infer: how the posterior did. */
export interface InferSummary {
  library: string[];
  prior: number[];
  /** Mean posterior probability of the true author (texts with a known author). */
  meanTrueP: number | null;
  /** Mean posterior over all texts, by persona, most probable first. */
  meanPosterior: { name: string; p: number }[];
  examples: { text: string; truth?: string; top: string; p: number }[];
  /** With `describe`: the model's own descriptions of the authors, normalised and counted. */
  descriptions?: {
    overall: { answer: string; count: number }[];
    perText: { text: string; truth?: string; top: { answer: string; count: number }[] }[];
  };
}

export interface ConditionResult extends RateResult {
  name: string;
  role: ConditionSpec['role'];
  group: string;
  model: string;
  /** Share of answers the judge could read (label other than `incoherent`). */
  coherent: number;
  labels: Record<string, number>;
  questions: ({ id: string } & RateResult)[];
  examples: { question: string; answer: string; label: string }[];
  profile?: QuestionProfile[];
  /** generalize with `finetune.snapshots`: the rate along the fine-tune, ending with the final model. */
  curve?: CurvePoint[];
  infer?: InferSummary;
}

export interface Effect {
  condition: string;
  against: string;
  difference: number;
  ci: [number, number];
}

export interface ExperimentResult {
  name: string;
  kind: string;
  model: string;
  /** What `rate` counts: the target label (generalize), `modal answer` (profile), `true author top-1` (infer). */
  target: string;
  runId: string;
  conditions: ConditionResult[];
  effects: Effect[];
  reference?: string;
  /** kind vectors: the vector, its separation, monitoring, fine-tune shifts and the steering sweep. */
  vectors?: VectorsSummary;
  /** kind audit: per dataset, the traits and personas it pulls toward and its hardest-pulling examples. */
  audit?: AuditSummary;
}

export interface RunHooks {
  /** Progress of one named step (sampling a condition, fine-tuning, …). */
  progress?: (label: string, done: number, total: number) => void;
  log?: (message: string) => void;
  /** How model specs become models (default: the backend registry). Tests inject fakes here. */
  loadModel?: (spec: string) => Promise<Model>;
}

export const hash = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);

export function rateOf(labels: string[], target: string): RateResult {
  const hits = labels.filter((l) => l === target).length;
  return countRate(hits, labels.length);
}

export function countRate(hits: number, n: number): RateResult {
  return { rate: n ? hits / n : 0, ci: wilson(hits, n), n, hits };
}
