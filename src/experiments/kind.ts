/**
 * What an experiment kind is: its spec schema, how it runs (with the engine's shared services), and
 * how its result is printed. The kinds registry (kinds/registry.ts) lists them; the viewer draws each
 * kind through the kinds' view modules (kinds/views.ts). Nothing outside the kinds branches on `kind`.
 */
import type { z } from 'zod';
import type { RunContext } from './context.ts';
import type { ConditionResult, Effect, ExperimentResult } from './result.ts';

/** What a kind's run returns; the runner adds the run's name, model, id and format. */
export interface KindOutput<C extends ConditionResult = ConditionResult> {
  target: string;
  conditions: C[];
  effects: Effect[];
  /** The kind's own fields (e.g. `vectors`, `audit`), stored and printed with the rest. */
  extra?: Record<string, unknown>;
}

export interface Kind<S extends { kind: string } = { kind: string }, R extends ExperimentResult = ExperimentResult> {
  readonly kind: S['kind'];
  /** One line, for `dramatis kinds` and errors. */
  readonly description: string;
  readonly schema: z.ZodType<S>;
  /** Whether the spec's judge scores this kind's samples (the run records its name). */
  readonly judged: boolean;
  /** What one unit of work is called in errors: `condition "x"` or `dataset "x"`. */
  readonly unit: string;
  run(ctx: RunContext<S>): Promise<KindOutput>;
  /**
   * Read every input file the spec names that only this kind knows of (the engine checks the
   * conditions' datasets, steering vectors and questions), so a bad line fails the run before the first
   * request: throw with the file and line, and the unit it belongs to (`dataset "x"`).
   */
  preflight?(spec: S): void;
  /** The result for people, as the CLI prints it. */
  print(result: R): string;
}

/** Declares a kind with its types checked against each other. */
export const defineKind = <S extends { kind: string }, R extends ExperimentResult = ExperimentResult>(k: Kind<S, R>): Kind<S, R> => k;
