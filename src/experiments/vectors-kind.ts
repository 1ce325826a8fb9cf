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
import type { ChatMessage, Model, SteeringVector } from '../backends/model.ts';
import type { ConditionSpec, ExperimentSpec } from './spec.ts';
import type { Store, StoredSample } from './store.ts';
import { hash, type ConditionResult, type RunHooks } from './result.ts';
import { dot, systemPromptContrastChats, unit, vectorFor, type PersonaVector } from './vectors.ts';
import type { Judge } from './judges.ts';
import { loadQuestions } from './questions.ts';
import { auditExamples, projectionPulls, storedOwnAnswers } from './audit.ts';
import { pearson } from './stats.ts';
import type { Chat } from '../organism/chat-data.ts';

type VectorsSpec = NonNullable<ExperimentSpec['vectors']>;

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

export interface Correlation { r: number; ci: [number, number] | null; n: number }

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

/** The extracted vector and the conditions to run: the spec's, plus one per sweep coefficient. */
export async function prepareVectors(spec: ExperimentSpec, model: Model, judge: Judge, cacheDir: string, hooks: RunHooks): Promise<{ vector: PersonaVector; file: string; conditions: ConditionSpec[] }> {
  const v = spec.vectors!;
  hooks.log?.(`persona vector ${v.contrast.trait} (${v.contrast.positive} − ${v.contrast.negative}) on ${model.id} (cached after the first run)`);
  const sp = v.contexts === 'world' ? undefined : v.contexts;
  const { vector, file } = await vectorFor(model, v.contrast, {
    examples: v.examples, heldOut: v.held_out, seed: spec.seed, cacheDir, onProgress: hooks.progress,
    systemPrompts: sp && {
      key: { sp, judge: judge.name, sampling: spec.sampling },
      contexts: () => systemPromptContrastChats(model, v.contrast, {
        positive: sp.system_prompts.positive, negative: sp.system_prompts.negative, questions: loadQuestions(sp.questions ?? spec.questions!),
        perPrompt: sp.samples, judge, seed: spec.seed, temperature: spec.sampling.temperature, maxTokens: spec.sampling.max_tokens, onProgress: hooks.progress,
      }),
    },
  });
  const sweep: ConditionSpec[] = [];
  for (const name of v.sweep?.conditions ?? []) {
    const base = spec.conditions.find((c) => c.name === name)!;
    for (const k of v.sweep!.coefficients) {
      if (k === 0) continue; // the condition itself
      sweep.push({ ...base, name: `${name} · steer ${k > 0 ? '+' : ''}${k}`, role: 'treatment', group: `${SWEEP_GROUP}${name}`, steer: [...(base.steer ?? []), { vector: file, layer: vector.layer, coefficient: k }] });
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

export const monitorJudge = (vector: PersonaVector, where: 'prompt' | 'reply') => `monitor:${hash({ f: vector.fingerprint, t: vector.trait, p: vector.positive, n: vector.negative, l: vector.layer, x: vector.layers.map((l) => l.norm) })}:${where}`;

/**
 * Store each sample's projections (prompt: the last prompt token; reply: averaged over the answer) as
 * judgments, for the samples that have none yet; the model is asked only if something is missing.
 */
export async function monitorSamples(store: Store, samples: StoredSample[], vector: PersonaVector, steering: SteeringVector[] | undefined, getModel: () => Promise<Model>, progress?: (d: number, t: number) => void): Promise<Map<number, { prompt: number; reply: number | null }>> {
  const promptJudge = monitorJudge(vector, 'prompt'), replyJudge = monitorJudge(vector, 'reply');
  const ids = samples.map((s) => s.id);
  const prompt = store.judgments(ids, promptJudge), reply = store.judgments(ids, replyJudge);
  const missing = samples.filter((s) => !prompt.has(s.id));
  if (missing.length > 0) {
    const model = await getModel();
    if (!model.activations) throw new Error(`model ${model.id} gives no activations: monitoring needs a white-box backend`);
    const u = unit(vector.vectors[vector.layer]);
    const inputs = missing.map((s) => {
      const prompt = s.prompt as ChatMessage[];
      return { messages: s.answer.trim() ? [...prompt, { role: 'assistant' as const, content: s.answer }] : prompt };
    });
    const acts = await model.activations(inputs, { steering }, progress);
    const rows = missing.flatMap((s, i) => [
      { sampleId: s.id, judge: promptJudge, label: 'projection', score: dot(acts[i].at[vector.layer], u) },
      { sampleId: s.id, judge: replyJudge, label: s.answer.trim() ? 'projection' : 'empty', score: s.answer.trim() ? dot(acts[i].mean[vector.layer], u) : null },
    ]);
    store.insertJudgments(rows);
    for (const r of rows) (r.judge === promptJudge ? prompt : reply).set(r.sampleId, r);
  }
  return new Map(samples.map((s) => [s.id, { prompt: prompt.get(s.id)!.score!, reply: reply.get(s.id)?.score ?? null }]));
}

/** What one condition contributes to the summary: its samples' projections and hits. */
export interface MonitoredCondition {
  cond: ConditionSpec;
  result: ConditionResult;
  points: { question: string; prompt: number; reply: number | null; hit: boolean }[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The audit's prediction for a fine-tune: mean projection of its data's answers minus the model's own. */
export async function predictedShift(store: Store, model: Model, data: { ref: string; examples?: number; chats: Chat[] }, vector: PersonaVector, spec: ExperimentSpec, progress?: (d: number, t: number) => void): Promise<number> {
  const examples = auditExamples(data.chats, data.ref);
  const own = await storedOwnAnswers(store, model, spec, hash({ data: data.ref, examples: data.examples, seed: spec.seed }), examples);
  return mean((await projectionPulls(model, examples, own.answers, vector, progress)).pull);
}

export function summariseVectors(
  v: VectorsSpec, vector: PersonaVector, file: string, monitored: MonitoredCondition[], predicted: Map<string, number>,
): VectorsSummary {
  const chosen = vector.layers[vector.layer];
  const out: VectorsSummary = {
    trait: vector.trait, positive: vector.positive, negative: vector.negative, contexts: vector.contexts, layer: vector.layer, auc: chosen.auc, ci: chosen.ci,
    layers: vector.layers, file, examples: vector.examples, heldOut: vector.heldOut, norm: chosen.norm,
  };
  const plain = monitored.filter((m) => !m.cond.group.startsWith(SWEEP_GROUP));
  if (v.monitor && plain.length > 0) {
    const pts = plain.flatMap((m) => m.points);
    const withReply = pts.filter((p) => p.reply !== null);
    const cells = plain.flatMap((m) => m.result.questions.map((q) => ({ x: mean(m.points.filter((p) => p.question === q.id).map((p) => p.prompt)), y: q.rate })));
    out.monitor = {
      samples: pearson(pts.map((p) => p.prompt), pts.map((p) => (p.hit ? 1 : 0))),
      cells: pearson(cells.map((c) => c.x), cells.map((c) => c.y)),
      replies: pearson(withReply.map((p) => p.reply!), withReply.map((p) => (p.hit ? 1 : 0))),
    };
    const baseline = plain.find((m) => m.cond.role === 'baseline');
    if (baseline) {
      const base = mean(baseline.points.map((p) => p.prompt));
      out.shifts = plain.filter((m) => m.cond.finetune).map((m) => ({
        condition: m.cond.name, data: m.cond.finetune!.data, projectionShift: mean(m.points.map((p) => p.prompt)) - base,
        predictedShift: predicted.get(m.cond.name) ?? null, rate: m.result.rate, ci: m.result.ci,
        ...(m.cond.finetune!.preventative !== undefined ? { preventative: m.cond.finetune!.preventative } : {}),
      }));
      const fts = out.shifts.filter((s) => s.preventative === undefined);
      // A correlation needs at least three fine-tunes to mean anything.
      if (fts.length >= 3) out.shiftR = pearson(fts.map((s) => s.projectionShift), fts.map((s) => s.rate));
      const withPrediction = fts.filter((s) => s.predictedShift !== null);
      if (withPrediction.length >= 3) out.predictedR = pearson(withPrediction.map((s) => s.predictedShift!), withPrediction.map((s) => s.rate));
    }
  }
  if (v.sweep) {
    out.sweep = v.sweep.conditions.flatMap((name) => v.sweep!.coefficients.map((k) => {
      const r = monitored.find((m) => (k === 0 ? m.cond.name === name && !m.cond.group.startsWith(SWEEP_GROUP) : m.cond.group === `${SWEEP_GROUP}${name}` && m.cond.steer?.at(-1)?.coefficient === k))?.result;
      if (!r) throw new Error(`sweep: no result for ${name} at coefficient ${k}`);
      return { condition: name, coefficient: k, rate: r.rate, ci: r.ci, n: r.n, coherent: r.coherent };
    }));
  }
  return out;
}
