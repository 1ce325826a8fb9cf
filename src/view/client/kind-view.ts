/**
 * How the viewer draws one kind: what its rate means, which generic sections apply, and the sections of
 * its own. Each kind's `view.ts` (src/experiments/kinds/<kind>/view.ts) exports one; kinds/views.ts
 * lists them. A kind with no view of its own is drawn with `defaultView`.
 */
import type { ConditionResult, ExperimentResult } from '../../experiments/result.ts';
import type { RunDetail } from '../types.ts';
import { html, type Html } from './html.ts';
import { routeHref } from './route.ts';

export interface KindViewContext {
  run: RunDetail;
  summary: ExperimentResult;
  samplesHref: (p?: Record<string, string | undefined>) => string;
  section: (title: string, body: Html | string, note?: string, id?: string) => Html;
}

export interface KindView {
  /** The label counted as a hit (coloured red, and the label sample links filter on). */
  target(s: ExperimentResult): string | undefined;
  /** What the rate measures, for the conditions section's title. */
  measure(s: ExperimentResult): string;
  /** Whether samples are answers to read (infer's are log-likelihoods of texts). */
  linksToSamples: boolean;
  /** The per-question section's title, or null to leave it out. */
  perQuestion: string | null;
  /** Whether the label mix is worth a chart. */
  labels: boolean;
  /** What the samples list calls its questions. */
  questionsNoun: string;
  /** Condition and result fields this kind draws itself (the rest appear under "other figures"). */
  conditionFields: string[];
  resultFields: string[];
  /** The conditions the generic rate, effect, question and label sections draw (default: all; vectors leaves out its sweep). */
  mainConditions?(s: ExperimentResult): ConditionResult[];
  /** The kind's own sections, after the generic ones. */
  sections?(c: KindViewContext): Html;
  /** Its own part of a comparison of two runs, conditions paired by name. */
  compare?(pairs: { label: string; a: ConditionResult; b: ConditionResult }[]): Html;
  /** A sample's detail when its stored answer is not text (e.g. infer's log-likelihoods). */
  sampleDetail?(s: { finishReason: string; paraphrase: string; answer: string; prompt: unknown; condition: string }, run: RunDetail): Html | undefined;
}

export const defaultView: KindView = {
  target: () => undefined,
  measure: (s) => s.target,
  linksToSamples: true,
  perQuestion: 'Per question',
  labels: true,
  questionsNoun: 'questions',
  conditionFields: [],
  resultFields: [],
};

export const samplesLink =
  (runId: string) =>
  (p: Record<string, string | undefined> = {}) =>
    routeHref(['run', runId, 'samples'], p);
export { html };
