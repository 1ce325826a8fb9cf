/**
 * What a kind's run is given: its parsed spec, the store, the cache folder, the hooks, and the shared
 * services every kind uses: loading models once per run, the spec's scorer, and naming what is being
 * worked on (for the error a failed run stores).
 */
import type { Model } from '../backends/model.ts';
import { loadModel, type ModelRef } from '../backends/registry.ts';
import type { Question, Scorer } from '../scorers/scorer.ts';
import { scorerFor, type JudgeSpec, type LlmJudgeSpec } from '../scorers/spec.ts';
import type { RunHooks } from './result.ts';
import type { Store } from './store.ts';
import type { CommonSpec } from './spec-parts.ts';

export interface RunContext<S = CommonSpec> {
  readonly spec: S;
  readonly store: Store;
  readonly cacheDir: string;
  readonly hooks: RunHooks;
  readonly runId: string;
  /** The spec's judge as a scorer (built once). */
  readonly scorer: Scorer;
  /** A model by reference, loaded once per run (the spec's own model when none is given). */
  model(ref?: ModelRef): Promise<Model>;
  /** Names the unit being worked on; a failure is reported against the last one named. */
  at(unit: string): void;
  /** Samples of `unit` whose requests failed for good this run (kept apart; the summary lists them; a rerun retries them). */
  failed(unit: string, count: number, error: string | null): void;
  progress(label: string): (done: number, total: number) => void;
}

/** Loads models through the hooks (tests) or the registry, with the spec's top-level options as defaults. */
export function modelLoader(
  spec: Pick<CommonSpec, 'base_url' | 'api_key_env' | 'concurrency'>,
  cacheDir: string,
  hooks: RunHooks,
): (ref: ModelRef) => Promise<Model> {
  return hooks.loadModel ?? ((ref) => loadModel(ref, { cacheDir, baseUrl: spec.base_url, apiKeyEnv: spec.api_key_env, concurrency: spec.concurrency }));
}

/** The spec's judge as a scorer; `questions` are the ones it will judge (a question file's own judges are read from them). */
export async function judgeScorer(judge: JudgeSpec, cacheDir: string, hooks: RunHooks, questions: Question[] = []): Promise<Scorer> {
  const load = (j: LlmJudgeSpec) => (hooks.loadModel ? hooks.loadModel(j.llm) : loadModel(j.llm, { cacheDir, baseUrl: j.base_url, apiKeyEnv: j.api_key_env }));
  return scorerFor(judge, load, questions);
}

export function createContext<S extends CommonSpec>(o: {
  spec: S;
  store: Store;
  cacheDir: string;
  hooks: RunHooks;
  runId: string;
  scorer: Scorer;
  onUnit: (u: string) => void;
  onFailed?: (unit: string, count: number, error: string | null) => void;
}): RunContext<S> {
  const load = modelLoader(o.spec, o.cacheDir, o.hooks);
  const models = new Map<string, Promise<Model>>();
  return {
    spec: o.spec,
    store: o.store,
    cacheDir: o.cacheDir,
    hooks: o.hooks,
    runId: o.runId,
    scorer: o.scorer,
    model(ref = o.spec.model) {
      const key = typeof ref === 'string' ? ref : JSON.stringify(ref);
      if (!models.has(key)) models.set(key, load(ref));
      return models.get(key)!;
    },
    at: o.onUnit,
    failed: (unit, count, error) => o.onFailed?.(unit, count, error),
    progress: (label) => (done, total) => o.hooks.progress?.(label, done, total),
  };
}
