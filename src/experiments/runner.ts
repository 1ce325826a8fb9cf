/**
 * The run lifecycle, whatever the kind: record the run (its id is a digest of the spec), hand the kind
 * its context, store the result as the run's summary (format-versioned), or mark the run failed with
 * its error. Dataset → solver → scorer, as in Inspect AI: each kind (kinds/) says what its dataset,
 * solver and scorers are; the sampling path, the store and the scorers are shared services.
 */
import { modelId } from '../backends/registry.ts';
import { runKey } from '../shared/keys.ts';
import { createContext, judgeScorer } from './context.ts';
import { kindOf } from './kinds/registry.ts';
import type { Kind } from './kind.ts';
import { loadSteering } from './conditions.ts';
import { loadDataset } from './datasets.ts';
import { loadQuestions, type Question } from './questions.ts';
import { samplePlan } from './sample-plan.ts';
import { RESULTS_FORMAT, type ExperimentResult, type RunHooks } from './result.ts';
import type { ExperimentSpec } from './spec.ts';
import type { CommonSpec } from './spec-parts.ts';
import type { RunPhase, Store } from './store.ts';

export type { ConditionResult, Effect, ExperimentResult, RateResult, RunHooks } from './result.ts';

/**
 * Every input file a spec names, read before anything is requested or stored: the conditions' datasets
 * and steering vectors, the questions, and what the kind itself names. A malformed line fails here,
 * named, and leaves no run row and no samples behind. Returns the questions (the judge reads them).
 */
export function preflight(spec: CommonSpec & { questions?: string }, kind: Kind): Question[] {
  const at = <T>(unit: string, check: () => T): T => {
    try {
      return check();
    } catch (e) {
      throw new Error(`${spec.name}, ${unit}: ${(e as Error).message}`, { cause: e });
    }
  };
  const questions = spec.questions ? at('questions', () => loadQuestions(spec.questions!)) : [];
  for (const c of spec.conditions) {
    if (c.finetune) at(`condition "${c.name}"`, () => loadDataset(c.finetune!.data, c.finetune!.examples, spec.seed));
    if (c.in_context) at(`condition "${c.name}"`, () => loadDataset(c.in_context!.data, undefined, spec.seed));
    for (const s of c.steer ?? []) at(`condition "${c.name}"`, () => loadSteering(s));
  }
  kind.preflight?.(spec);
  return questions;
}

export async function runExperiment(spec: ExperimentSpec | CommonSpec, store: Store, cacheDir: string, hooks: RunHooks = {}): Promise<ExperimentResult> {
  const kind = kindOf(spec.kind);
  const questions = preflight(spec, kind);
  const scorer = kind.judged ? await judgeScorer(spec.judge, cacheDir, hooks, questions) : undefined;
  // Any judge problem shows now, before the first sample is drawn (and paid for).
  if (scorer?.check && questions.length) {
    try {
      await scorer.check(questions);
    } catch (e) {
      throw new Error(`${spec.name}, judge: ${(e as Error).message}`, { cause: e });
    }
  }
  const runId = runKey(spec);
  // Without `samples`, the question file's own counts decide how many slots each condition has: recorded for the viewer.
  const slots = spec.samples === undefined && questions.length ? samplePlan(questions, undefined).slots.length : undefined;
  store.upsertRun({ id: runId, name: spec.name, kind: spec.kind, model: modelId(spec.model), spec, status: 'running', judge: scorer?.name, samples: slots });
  store.startRun(runId);
  // Every progress call also becomes the run's recorded phase (the viewer's live status).
  const recorded = phaseRecorder(store, runId, hooks);
  let unit = '';
  const failed: NonNullable<ExperimentResult['failed']> = [];
  const ctx = createContext({
    onFailed: (u, count, error) => failed.push({ unit: u, count, error }),
    spec: spec as CommonSpec,
    store,
    cacheDir,
    hooks: recorded,
    runId,
    scorer: scorer ?? noScorer(spec.kind),
    onUnit: (u) => {
      unit = u;
    },
  });
  let output;
  try {
    output = await kind.run(ctx);
  } catch (e) {
    const error = new Error(`${spec.name}${unit ? `, ${unit}` : ''}: ${(e as Error).message}`, { cause: e });
    store.finishRun(runId, 'failed', undefined, error.message);
    throw error;
  }
  const result: ExperimentResult = {
    format: RESULTS_FORMAT,
    name: spec.name,
    kind: spec.kind,
    model: modelId(spec.model),
    target: output.target,
    runId,
    conditions: output.conditions,
    effects: output.effects,
    reference: spec.reference,
    ...output.extra,
    ...(failed.length ? { failed } : {}),
  };
  store.finishRun(runId, 'done', result);
  return result;
}

/** Phases are written at most this often per run, except when the label changes or a step completes. */
export const PHASE_EVERY_MS = 500;

/**
 * The hooks with progress also recorded as the run's phase in the store (what the viewer's status
 * panel shows), throttled; the caller's own progress hook gets every call unchanged.
 */
export function phaseRecorder(store: Store, runId: string, hooks: RunHooks, now: () => number = Date.now): RunHooks {
  const started = new Map<string, { at: string; done: number }>();
  let last: { label: string; ms: number } | undefined;
  return {
    ...hooks,
    progress: (label, done, total) => {
      hooks.progress?.(label, done, total);
      const ms = now();
      const at = new Date(ms).toISOString();
      let first = started.get(label);
      if (!first) started.set(label, (first = { at, done }));
      if (last && last.label === label && done !== total && ms - last.ms < PHASE_EVERY_MS) return;
      last = { label, ms };
      const phase: RunPhase = { label, done, total, phaseStartedAt: first.at, startDone: first.done, at };
      try {
        store.setPhase(runId, phase);
      } catch {
        // The status is for show: a store busy or closed must not fail the run.
      }
    },
  };
}

/** Kinds that judge nothing get a scorer that says so if anything asks it. */
const noScorer = (kind: string) => ({
  name: `(${kind} judges nothing)`,
  score: async () => {
    throw new Error(`kind ${kind} has no judge`);
  },
});

/** The kind's printer for a result (what `dramatis run` prints). */
export const formatResult = (r: ExperimentResult): string => kindOf(r.kind).print(r);
