/**
 * The `vectors` kind: extract a persona vector on the spec's model, then run the conditions as
 * generalize does, and add what the vector tells about them:
 * - monitor: each sample's projection at the last prompt token and over its reply (stored as judgments
 *   named `monitor:…`), and how well the prompt projection predicts the judged trait;
 * - fine-tune shifts: how far each fine-tune moves the projection, against the rate it produced, and the
 *   shift the audit predicted from the data before training;
 * - steering sweep: conditions re-run with coefficient × vector added (rate and coherence per coefficient);
 * - preventative steering: fine-tunes trained with the vector added (`finetune.preventative`).
 */
import { z } from 'zod';
import type { Model, SteeringVector } from '../../../backends/model.ts';
import { projectionMonitors } from '../../../scorers/monitor.ts';
import type { Scorer } from '../../../scorers/scorer.ts';
import type { Chat } from '../../../shared/chat.ts';
import { signed, pct, interval, table } from '../../../shared/format.ts';
import { dataKey, monitorJudgeName } from '../../../shared/keys.ts';
import { unit } from '../../../shared/linalg.ts';
import { pearson } from '../../../shared/stats.ts';
import { announceQuestions, effectsOf, rateCondition } from '../../conditions.ts';
import type { RunContext } from '../../context.ts';
import { auditExamples, projectionPulls, storedOwnAnswers } from '../../data-audit.ts';
import { loadDataset } from '../../datasets.ts';
import { defineKind } from '../../kind.ts';
import { WORLD_TRAITS, isWorldTrait, systemPromptContrastChats, vectorFor, type PersonaVector } from '../../persona-vector.ts';
import { loadQuestions } from '../../questions.ts';
import type { ConditionResult, ExperimentResult, RunHooks } from '../../result.ts';
import { contrastSchema, kindSpec, questionsField, monitorsField, targetField, type CommonSpec, type ConditionSpec } from '../../spec-parts.ts';
import { printRates, printReference, rateResult } from '../generalize/index.ts';

export const vectorsSchema = z
  .object({
    contrast: contrastSchema.default({ trait: 'morality', positive: 'malevolent', negative: 'benevolent' }),
    /**
     * `world`: answers of world personas with and without the trait (ground truth, judge-confirmed); or
     * the persona-vectors recipe: the model's own answers under system prompts that elicit the trait and
     * prompts that suppress it, to `questions` (default: the spec's), `samples` per prompt and question,
     * each kept only when the spec's judge labels it the contrast's positive (or negative) value.
     */
    contexts: z
      .union([
        z.literal('world'),
        z
          .object({
            system_prompts: z.object({ positive: z.array(z.string().min(1)).min(1), negative: z.array(z.string().min(1)).min(1) }).strict(),
            questions: z.string().min(1).optional(),
            samples: z.number().int().positive().default(10),
          })
          .strict(),
      ])
      .default('world'),
    /**
     * Where the held-out AUC is read: the world's documents, or the judge-confirmed answers to every
     * other question of the system-prompt contexts (the default for a trait the world does not have,
     * i.e. on a real model). With `contexts`, the extraction uses the remaining questions only.
     */
    held_out_from: z.enum(['world', 'contexts']).optional(),
    /** Answers per side for extraction, and held-out documents per side for the AUC. */
    examples: z.number().int().min(10).default(300),
    held_out: z.number().int().min(5).default(200),
    /** Monitor: store each sample's projection (last prompt token and reply) and correlate it with the judged trait. */
    monitor: z.boolean().default(true),
    /** Steering sweep: these conditions, each with coefficient × vector added at the vector's layer. */
    sweep: z
      .object({
        conditions: z.array(z.string().min(1)).min(1),
        coefficients: z.array(z.number()).min(1),
      })
      .strict()
      .optional(),
    /** Predict each fine-tune's shift before training: the projection difference of its data (the audit). */
    predict: z.boolean().default(true),
  })
  .strict();

export const vectorsSpecSchema = kindSpec('vectors', {
  target: targetField,
  questions: questionsField,
  monitors: monitorsField,
  vectors: vectorsSchema,
}).superRefine((spec, ctx) => {
  const v = spec.vectors;
  if (!isWorldTrait(v.contrast.trait) && v.contexts === 'world')
    ctx.addIssue({
      code: 'custom',
      path: ['vectors', 'contrast', 'trait'],
      message: `"${v.contrast.trait}" is not one of the world's traits (${WORLD_TRAITS.join(', ')}); a trait of your own needs contexts.system_prompts`,
    });
  if (v.held_out_from === 'contexts' && v.contexts === 'world')
    ctx.addIssue({ code: 'custom', path: ['vectors', 'held_out_from'], message: 'held_out_from: contexts needs system-prompt contexts' });
  if (v.held_out_from === 'world' && !isWorldTrait(v.contrast.trait))
    ctx.addIssue({ code: 'custom', path: ['vectors', 'held_out_from'], message: `the world has no documents for trait "${v.contrast.trait}"` });
  for (const name of spec.vectors.sweep?.conditions ?? []) {
    if (!spec.conditions.some((c) => c.name === name))
      ctx.addIssue({ code: 'custom', path: ['vectors', 'sweep', 'conditions'], message: `no condition named "${name}"` });
  }
});
type VectorsOptions = z.infer<typeof vectorsSchema>;
export type VectorsSpec = CommonSpec & { target: string; questions: string; vectors: VectorsOptions };

export interface SweepPoint {
  condition: string;
  coefficient: number;
  rate: number;
  ci: [number, number];
  n: number;
  coherent: number;
}

export interface ShiftPoint {
  condition: string;
  data: string;
  /** Mean prompt projection of the fine-tuned model minus the baseline's, on the questions. */
  projectionShift: number;
  /** The audit's projection difference of the fine-tune's data on the baseline model (before training). */
  predictedShift: number | null;
  rate: number;
  ci: [number, number];
  preventative?: number;
}

export interface Correlation {
  r: number;
  ci: [number, number] | null;
  n: number;
}

export interface VectorsSummary {
  trait: string;
  positive: string;
  negative: string;
  contexts: PersonaVector['contexts'];
  layer: number;
  auc: number;
  ci: [number, number];
  layers: PersonaVector['layers'];
  file: string;
  examples: PersonaVector['examples'];
  heldOut: PersonaVector['heldOut'];
  norm: number;
  monitor?: {
    /** Across samples: prompt projection against the judged hit (point-biserial r). */
    samples: Correlation;
    /** Across condition × question cells: mean prompt projection against the rate. */
    cells: Correlation;
    /** Across samples: reply projection against the judged hit. */
    replies: Correlation;
  };
  shifts?: ShiftPoint[];
  /** Across fine-tunes (not preventative): measured projection shift against the rate. */
  shiftR?: Correlation;
  /** Across fine-tunes: the predicted shift (before training) against the rate. */
  predictedR?: Correlation;
  sweep?: SweepPoint[];
}

export const SWEEP_GROUP = 'sweep: ';

/** Where the held-out AUC comes from: as the spec says, else the world for a world trait, else the contexts. */
function heldOutFrom(v: VectorsOptions): 'world' | 'contexts' {
  return v.held_out_from ?? (isWorldTrait(v.contrast.trait) ? 'world' : 'contexts');
}

/** The extracted vector and the conditions to run: the spec's, plus one per sweep coefficient. */
export async function prepareVectors(
  spec: VectorsSpec,
  model: Model,
  judge: Scorer,
  cacheDir: string,
  hooks: RunHooks,
): Promise<{ vector: PersonaVector; file: string; conditions: ConditionSpec[] }> {
  const v = spec.vectors;
  hooks.log?.(`persona vector ${v.contrast.trait} (${v.contrast.positive} − ${v.contrast.negative}) on ${model.id} (cached after the first run)`);
  const sp = v.contexts === 'world' ? undefined : v.contexts;
  const { vector, file } = await vectorFor(model, v.contrast, {
    examples: v.examples,
    heldOut: v.held_out,
    seed: spec.seed,
    cacheDir,
    onProgress: hooks.progress,
    systemPrompts: sp && {
      // The held-out source joins the key only when it is not the world's (so stored vectors keep their keys).
      key: { sp, judge: judge.name, sampling: spec.sampling, ...(heldOutFrom(v) === 'contexts' ? { heldOutFrom: 'contexts' } : {}) },
      contexts: () =>
        systemPromptContrastChats(model, v.contrast, {
          positive: sp.system_prompts.positive,
          negative: sp.system_prompts.negative,
          questions: loadQuestions(sp.questions ?? spec.questions),
          perPrompt: sp.samples,
          judge,
          seed: spec.seed,
          temperature: spec.sampling.temperature,
          maxTokens: spec.sampling.max_tokens,
          holdOutQuestions: heldOutFrom(v) === 'contexts',
          onProgress: hooks.progress,
        }),
    },
  });
  const sweep: ConditionSpec[] = [];
  for (const name of v.sweep?.conditions ?? []) {
    const base = spec.conditions.find((c) => c.name === name)!;
    for (const k of v.sweep!.coefficients) {
      if (k === 0) continue; // the condition itself
      sweep.push({
        ...base,
        name: `${name} · steer ${k > 0 ? '+' : ''}${k}`,
        role: 'treatment',
        group: `${SWEEP_GROUP}${name}`,
        steer: [...(base.steer ?? []), { vector: file, layer: vector.layer, coefficient: k }],
      });
    }
  }
  return { vector, file, conditions: [...spec.conditions, ...sweep] };
}

/** Preventative steering for a fine-tune: the vector at its layer, times the condition's coefficient. */
export function preventativeSteering(cond: ConditionSpec, vector: PersonaVector | undefined): SteeringVector[] | undefined {
  const k = cond.finetune?.preventative;
  if (k === undefined || !vector) return undefined;
  return [{ layer: vector.layer, vector: Array.from(vector.vectors[vector.layer]), coefficient: k }];
}

/** The judgment names of a vector's monitors. */
export const monitorNames = (vector: PersonaVector) => {
  const v = {
    fingerprint: vector.fingerprint,
    trait: vector.trait,
    positive: vector.positive,
    negative: vector.negative,
    layer: vector.layer,
    norms: vector.layers.map((l) => l.norm),
  };
  return { prompt: monitorJudgeName(v, 'prompt'), reply: monitorJudgeName(v, 'reply') };
};

/** What one condition contributes to the summary: its samples' projections and hits. */
export interface MonitoredCondition {
  cond: ConditionSpec;
  result: ConditionResult;
  points: { question: string; prompt: number; reply: number | null; hit: boolean }[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The audit's prediction for a fine-tune: mean projection of its data's answers minus the model's own. */
export async function predictedShift(
  store: RunContext['store'],
  model: Model,
  data: { ref: string; examples?: number; chats: Chat[] },
  vector: PersonaVector,
  spec: CommonSpec,
  progress?: (d: number, t: number) => void,
): Promise<number> {
  const examples = auditExamples(data.chats, data.ref);
  const own = await storedOwnAnswers(store, model, spec, dataKey({ data: data.ref, examples: data.examples, seed: spec.seed }), examples);
  return mean((await projectionPulls(model, examples, own.answers, vector, progress)).pull);
}

export function summariseVectors(
  v: VectorsOptions,
  vector: PersonaVector,
  file: string,
  monitored: MonitoredCondition[],
  predicted: Map<string, number>,
): VectorsSummary {
  const chosen = vector.layers[vector.layer];
  const out: VectorsSummary = {
    trait: vector.trait,
    positive: vector.positive,
    negative: vector.negative,
    contexts: vector.contexts,
    layer: vector.layer,
    auc: chosen.auc,
    ci: chosen.ci,
    layers: vector.layers,
    file,
    examples: vector.examples,
    heldOut: vector.heldOut,
    norm: chosen.norm,
  };
  const plain = monitored.filter((m) => !m.cond.group.startsWith(SWEEP_GROUP));
  if (v.monitor && plain.length > 0) {
    const pts = plain.flatMap((m) => m.points);
    const withReply = pts.filter((p) => p.reply !== null);
    const cells = plain.flatMap((m) =>
      m.result.questions.map((q) => ({ x: mean(m.points.filter((p) => p.question === q.id).map((p) => p.prompt)), y: q.rate })),
    );
    out.monitor = {
      samples: pearson(
        pts.map((p) => p.prompt),
        pts.map((p) => (p.hit ? 1 : 0)),
      ),
      cells: pearson(
        cells.map((c) => c.x),
        cells.map((c) => c.y),
      ),
      replies: pearson(
        withReply.map((p) => p.reply!),
        withReply.map((p) => (p.hit ? 1 : 0)),
      ),
    };
    const baseline = plain.find((m) => m.cond.role === 'baseline');
    if (baseline) {
      const base = mean(baseline.points.map((p) => p.prompt));
      out.shifts = plain
        .filter((m) => m.cond.finetune)
        .map((m) => ({
          condition: m.cond.name,
          data: m.cond.finetune!.data,
          projectionShift: mean(m.points.map((p) => p.prompt)) - base,
          predictedShift: predicted.get(m.cond.name) ?? null,
          rate: m.result.rate,
          ci: m.result.ci,
          ...(m.cond.finetune!.preventative !== undefined ? { preventative: m.cond.finetune!.preventative } : {}),
        }));
      const fts = out.shifts.filter((s) => s.preventative === undefined);
      // A correlation needs at least three fine-tunes to mean anything.
      if (fts.length >= 3)
        out.shiftR = pearson(
          fts.map((s) => s.projectionShift),
          fts.map((s) => s.rate),
        );
      const withPrediction = fts.filter((s) => s.predictedShift !== null);
      if (withPrediction.length >= 3)
        out.predictedR = pearson(
          withPrediction.map((s) => s.predictedShift!),
          withPrediction.map((s) => s.rate),
        );
    }
  }
  if (v.sweep) {
    out.sweep = v.sweep.conditions.flatMap((name) =>
      v.sweep!.coefficients.map((k) => {
        const r = monitored.find((m) =>
          k === 0
            ? m.cond.name === name && !m.cond.group.startsWith(SWEEP_GROUP)
            : m.cond.group === `${SWEEP_GROUP}${name}` && m.cond.steer?.at(-1)?.coefficient === k,
        )?.result;
        if (!r) throw new Error(`sweep: no result for ${name} at coefficient ${k}`);
        return { condition: name, coefficient: k, rate: r.rate, ci: r.ci, n: r.n, coherent: r.coherent };
      }),
    );
  }
  return out;
}

export type VectorsResult = ExperimentResult & { vectors: VectorsSummary };

const isSweep = (group: string) => group.startsWith(SWEEP_GROUP);

export const vectors = defineKind<VectorsSpec, VectorsResult>({
  kind: 'vectors',
  description: 'a persona vector (extract, monitor, steer, prevent), then the conditions as generalize runs them',
  schema: vectorsSpecSchema,
  judged: true,
  unit: 'condition',
  async run(ctx) {
    const { spec } = ctx;
    const questions = loadQuestions(spec.questions);
    announceQuestions(ctx, spec.questions, questions);
    ctx.at('condition "(persona vector)"');
    const prep = await prepareVectors(spec, await ctx.model(), ctx.scorer, ctx.cacheDir, ctx.hooks);
    const { vector, file } = prep;
    const names = monitorNames(vector),
      direction = unit(vector.vectors[vector.layer]);
    const monitored: MonitoredCondition[] = [];
    const predicted = new Map<string, number>();
    const conditions: ConditionResult[] = [];
    for (const [position, cond] of prep.conditions.entries()) {
      ctx.at(`condition "${cond.name}"`);
      const rated = await rateCondition(ctx, cond, position, questions, {
        preventative: preventativeSteering(cond, vector),
        // Monitoring: each sample's projections are stored as judgments beside the judge's.
        extraScorers: spec.vectors.monitor
          ? (_samples, steering, model) => {
              const m = projectionMonitors({ names, layer: vector.layer, unit: direction, model, steering, onProgress: ctx.progress(`monitor ${cond.name}`) });
              return [m.prompt, m.reply];
            }
          : undefined,
      });
      const result = await rateResult(ctx, cond, questions, rated);
      conditions.push(result);
      const prompt = rated.judgments.get(names.prompt),
        reply = rated.judgments.get(names.reply);
      monitored.push({
        cond,
        result,
        points: prompt
          ? rated.samples.map((s) => ({
              question: s.questionId,
              prompt: prompt.get(s.id)!.score!,
              reply: reply?.get(s.id)?.score ?? null,
              hit: rated.labelOf(s) === spec.target,
            }))
          : [],
      });
      if (spec.vectors.predict && cond.finetune && cond.finetune.preventative === undefined && !cond.steer) {
        const base = await ctx.model(cond.model ?? spec.model);
        predicted.set(
          cond.name,
          await predictedShift(
            ctx.store,
            base,
            { ref: cond.finetune.data, examples: cond.finetune.examples, chats: loadDataset(cond.finetune.data, cond.finetune.examples, spec.seed) },
            vector,
            spec,
            ctx.progress(`predict ${cond.name}`),
          ),
        );
      }
    }
    return {
      target: spec.target,
      conditions,
      effects: effectsOf(conditions),
      extra: { vectors: summariseVectors(spec.vectors, vector, file, monitored, predicted) },
    };
  },
  print: (r) => printRates(r, isSweep) + printVectors(r) + printReference(r),
});

const corr = (c: Correlation | undefined) => (c ? `r = ${c.r.toFixed(2)}${c.ci ? ` [${c.ci[0].toFixed(2)}, ${c.ci[1].toFixed(2)}]` : ''} (n = ${c.n})` : '—');

function printVectors(r: VectorsResult): string {
  const v = r.vectors;
  const out: string[] = [];
  out.push(
    `\npersona vector ${v.trait}: ${v.positive} − ${v.negative}, from ${v.examples.positive}+${v.examples.negative} judge-confirmed answers (${v.contexts === 'world' ? 'world personas' : 'the model under eliciting and suppressing system prompts'}); saved to ${v.file}`,
  );
  out.push(
    table(
      v.layers.map((l) => [
        l.layer === v.layer ? `${l.layer} (chosen)` : String(l.layer),
        l.auc.toFixed(3),
        `[${l.ci[0].toFixed(3)}, ${l.ci[1].toFixed(3)}]`,
        l.indirectAuc === undefined ? '—' : `${l.indirectAuc.toFixed(3)} [${l.indirectCi![0].toFixed(3)}, ${l.indirectCi![1].toFixed(3)}]`,
        l.validationAuc.toFixed(3),
        l.validationD.toFixed(2),
        l.norm.toFixed(2),
      ]),
      ['layer', `held-out AUC (${v.heldOut.positive}+${v.heldOut.negative} docs)`, '95% CI', 'trait answers removed', 'validation AUC', 'validation d', '‖v‖'],
    ),
  );
  if (v.monitor) {
    out.push(
      `\nmonitor: the projection at the last prompt token predicts "${r.target}": across samples ${corr(v.monitor.samples)}; across condition × question cells ${corr(v.monitor.cells)}; reply projection across samples ${corr(v.monitor.replies)}`,
    );
  }
  if (v.shifts?.length) {
    out.push('\nfine-tune shifts along the vector (prompt projection vs the baseline; predicted = the audit of the data before training):');
    out.push(
      table(
        v.shifts.map((s) => [
          s.condition + (s.preventative !== undefined ? ` (preventative ${s.preventative})` : ''),
          signed(s.projectionShift),
          s.predictedShift === null ? '—' : signed(s.predictedShift),
          pct(s.rate),
          interval(s.ci),
        ]),
        ['fine-tune', 'measured shift', 'predicted shift', 'rate', '95% CI'],
      ),
    );
    if (v.shiftR || v.predictedR) out.push(`measured shift vs rate: ${corr(v.shiftR)}; predicted shift vs rate: ${corr(v.predictedR)}`);
  }
  if (v.sweep) {
    out.push(`\nsteering sweep (coefficient × vector added after layer ${v.layer}):`);
    out.push(
      table(
        v.sweep.map((p) => [p.condition, signed(p.coefficient, 2), pct(p.rate), interval(p.ci), p.n, pct(p.coherent)]),
        ['condition', 'coefficient', 'rate', '95% CI', 'n', 'coherent'],
      ),
    );
  }
  return out.join('\n');
}
