/**
 * Conditions: the interventions a spec compares (a system prompt, in-context examples, a fine-tune,
 * steering, another model). How each becomes a model and a conversation, how its samples are drawn and
 * judged (through the one sampling path), and the effects of treatments against baselines and controls.
 * generalize, profile and vectors are built from these.
 */
import { readFileSync } from 'node:fs';
import { requireCapability, type ChatMessage, type Model, type SteeringVector } from '../backends/model.ts';
import { modelId } from '../backends/registry.ts';
import type { Chat } from '../shared/chat.ts';
import { conditionKey as conditionKeyOf, sampleSeed, sampleSeedKey, snapshotKey } from '../shared/keys.ts';
import { differenceInterval } from '../shared/stats.ts';
import type { Question, Scorer } from '../scorers/scorer.ts';
import type { RunContext } from './context.ts';
import { loadDataset } from './datasets.ts';
import { countRate, labelSummary, rateOf, type ConditionResult, type CurvePoint, type Effect } from './result.ts';
import { chatSlots, scoreSamples } from './sampling.ts';
import type { ConditionSpec } from './spec-parts.ts';
import type { StoredJudgment, StoredSample } from './store.ts';
import { readVectorFile } from './persona-vector.ts';
import { reportCoverage } from './coverage.ts';
import { questionsKeyInput } from './questions.ts';
import { samplePlan } from './sample-plan.ts';
import { monitorByName, monitorScorer } from '../scorers/monitors/index.ts';

/** A steering entry of a condition, its vector read from a safetensors file or a JSON file (an array of numbers, or {"vector": [...]}). */
export function loadSteering(s: NonNullable<ConditionSpec['steer']>[number]): SteeringVector {
  if (s.vector.endsWith('.safetensors')) return { layer: s.layer, coefficient: s.coefficient, vector: readVectorFile(s.vector, s.layer).vector };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(s.vector, 'utf8'));
  } catch (e) {
    throw new Error(`steering vector ${s.vector}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const v = Array.isArray(raw) ? raw : (raw as { vector?: unknown })?.vector;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`steering vector ${s.vector}: expected a JSON array of finite numbers (or {"vector": [...]})`);
  }
  return { layer: s.layer, coefficient: s.coefficient, vector: v as number[] };
}

/** The conversation a condition puts to the model for one question paraphrase. */
export function buildConversation(cond: ConditionSpec, question: Question, paraphrase: string, inContext: Chat[]): ChatMessage[] {
  const system = question.system ?? cond.system;
  return [
    ...(system ? [{ role: 'system' as const, content: system }] : []),
    ...inContext.flatMap((c) => c.messages.filter((m) => m.role !== 'system')),
    { role: 'user', content: paraphrase },
  ];
}

/** The condition's model: its base model, fine-tuned if the condition says so (fine-tunes are cached by the backend). */
export async function conditionModel(ctx: RunContext, cond: ConditionSpec, preventative?: SteeringVector[]): Promise<Model> {
  const ref = cond.model ?? ctx.spec.model;
  const model = await ctx.model(ref);
  if (!cond.finetune) return model;
  const ft = cond.finetune;
  const tunable = requireCapability(model, 'finetune', `condition "${cond.name}" (a fine-tune)`);
  ctx.hooks.log?.(`fine-tuning ${modelId(ref)} on ${ft.data} for condition "${cond.name}" (cached after the first run)`);
  const chats = loadDataset(ft.data, ft.examples, ctx.spec.seed);
  // Data the model cannot read (a closed vocabulary): the share lost is printed, and above the threshold refused (coverage.ts).
  reportCoverage(model, ft.data, chats, {
    allow: ft.allow_unknown,
    what: `condition "${cond.name}", fine-tune`,
    option: 'finetune.allow_unknown',
    log: ctx.hooks.log,
  });
  return tunable.finetune(
    {
      dataName: ft.data,
      chats,
      mode: ft.mode,
      learningRate: ft.learning_rate,
      epochs: ft.epochs,
      batchSize: ft.batch_size,
      rank: ft.rank,
      seed: ctx.spec.seed,
      snapshots: ft.snapshots,
      steering: preventative,
      ...(ft.allow_unknown !== undefined ? { allowUnknown: ft.allow_unknown } : {}),
    },
    ctx.progress(`fine-tune ${cond.name}`),
  );
}

export interface SampledCondition {
  samples: StoredSample[];
  judgments: Map<string, Map<number, StoredJudgment>>;
  /** The spec judge's label of a sample. */
  labelOf: (s: StoredSample) => string;
}

/**
 * Sample the condition's answers as the plan deals them (sample-plan.ts: the file's counts, or the
 * spec's `samples` round robin over questions, paraphrases in turn) under `key`, storing each batch as it
 * completes and reusing what is stored; then score what has no judgment yet, with the spec's judge and
 * any `extraScorers`. The model is loaded (and fine-tuned) only if something is missing.
 */
export async function sampleCondition(
  ctx: RunContext,
  o: {
    cond: ConditionSpec;
    questions: Question[];
    steering: SteeringVector[] | undefined;
    key: string;
    /** The spec's total, or undefined for the question file's own counts. */
    samples: number | undefined;
    getModel: () => Promise<Model>;
    label: string;
    snapshot?: number;
    extraScorers?: (samples: StoredSample[]) => Scorer[];
  },
): Promise<SampledCondition> {
  const { spec } = ctx,
    { cond, questions } = o;
  // Steering enters by its vectors, not their file paths: a vector kept in another cache folder draws the same samples.
  const seedKey = sampleSeedKey({
    finetune: cond.finetune,
    in_context: cond.in_context,
    system: cond.system,
    steering: o.steering,
    sampling: spec.sampling,
    snapshot: o.snapshot,
  });
  const slots = samplePlan(questions, o.samples).slots.map((s) => ({ ...s, seed: sampleSeed(seedKey, s.questionId, s.idx) }));
  let inContext: Chat[] = [];
  await chatSlots({
    store: ctx.store,
    key: o.key,
    slots,
    model: o.getModel,
    purpose: `condition "${cond.name}"`,
    prepare: async () => {
      inContext = cond.in_context ? loadDataset(cond.in_context.data, undefined, spec.seed).slice(0, cond.in_context.k) : [];
      // The share of the examples the model cannot read, printed (and marked when above the threshold; see coverage.ts).
      if (cond.in_context)
        reportCoverage(await o.getModel(), cond.in_context.data, inContext, {
          allow: true,
          what: `condition "${cond.name}", in-context examples`,
          option: 'in_context',
          log: ctx.hooks.log,
        });
    },
    conversation: (s) => buildConversation(cond, s.q, s.paraphrase, inContext),
    options: { temperature: spec.sampling.temperature, topP: spec.sampling.top_p, maxTokens: spec.sampling.max_tokens, seed: spec.seed, steering: o.steering },
    progress: ctx.progress(`sample ${o.label}`),
    ...(spec.sampling.stop_on_loop ? { cutWhen: loopGuard() } : {}),
  });
  const failed = ctx.store.failures(o.key);
  if (failed.count > 0) {
    const which = `question${failed.questions.length > 1 ? 's' : ''} ${failed.questions.slice(0, 5).join(', ')}${failed.questions.length > 5 ? ` and ${failed.questions.length - 5} more` : ''}`;
    const error = `${which}: ${failed.error}`;
    ctx.failed(`condition "${o.label}"`, failed.count, error);
    ctx.hooks.log?.(`${o.label}: ${failed.count} samples failed for good (${error}); they are left out and a rerun retries them`);
  }
  const samples = ctx.store.samples(o.key, slots.length);
  const byId = new Map(questions.map((q) => [q.id, q]));
  const scorers = [ctx.scorer, ...specMonitors(ctx), ...(o.extraScorers?.(samples) ?? [])];
  const judgments = await scoreSamples(ctx.store, samples, scorers, (s) => ({
    question: byId.get(s.questionId)!,
    asked: s.paraphrase,
    messages: s.prompt as ChatMessage[],
    answer: s.answer,
    finishReason: s.finishReason,
  }));
  const judged = judgments.get(ctx.scorer.name)!;
  return { samples, judgments, labelOf: (s) => judged.get(s.id)!.label };
}

/**
 * The run's header line about its questions: how many answers each gets and where that count comes
 * from (the file's samples_per_paraphrase, or the spec's `samples`, a total). An impossible plan fails
 * here, before anything is sampled.
 */
export function announceQuestions(ctx: RunContext, ref: string, questions: Question[]): void {
  ctx.hooks.log?.(`questions ${ref}: ${samplePlan(questions, ctx.spec.samples).describe}`);
}

/** The live loop guard: the loop monitor on the conversation with the answer so far. */
export function loopGuard(): (conversation: ChatMessage[], text: string) => boolean {
  const loop = monitorByName('loop');
  return (conversation, text) => loop.check({ messages: [...conversation, { role: 'assistant', content: text }] }).flag;
}

/** The spec's transcript monitors (`monitors: [loop, …]`) as scorers: run on every sample, stored as judgments. */
export function specMonitors(ctx: RunContext): Scorer[] {
  return ((ctx.spec as { monitors?: string[] }).monitors ?? []).map((name) => monitorScorer(monitorByName(name)));
}

/** Each spec monitor's share of flagged samples, with its labels (date: the years), for a condition's result. */
function monitorRates(ctx: RunContext, sampled: SampledCondition): ConditionResult['monitors'] {
  const monitors = specMonitors(ctx);
  if (!monitors.length) return undefined;
  return Object.fromEntries(
    monitors.map((m) => {
      const judged = sampled.judgments.get(m.name)!;
      const labels = sampled.samples.map((s) => judged.get(s.id)!.label);
      const flagged = labels.filter((l) => l !== 'none').length;
      return [m.name.split(':')[1], { ...countRate(flagged, labels.length), labels: labelSummary(labels).labels }];
    }),
  );
}

/** A condition as the rate kinds run it: its key, its samples and their labels, and its model (loaded at most once). */
export interface RatedCondition extends SampledCondition {
  key: string;
  steering: SteeringVector[] | undefined;
  model: () => Promise<Model>;
  /** name, role, group, model, labels, coherent, examples */
  common: Omit<ConditionResult, 'rate' | 'ci' | 'n' | 'hits' | 'questions'>;
}

/**
 * Run one condition: key it by what determines its samples, record it under the run, sample and judge
 * it. `preventative`: the steering its fine-tune trains with (its samples depend on that vector too).
 */
export async function rateCondition(
  ctx: RunContext,
  cond: ConditionSpec,
  position: number,
  questions: Question[],
  o: {
    preventative?: SteeringVector[];
    extraScorers?: (samples: StoredSample[], steering: SteeringVector[] | undefined, model: () => Promise<Model>) => Scorer[];
  } = {},
): Promise<RatedCondition> {
  const { spec } = ctx;
  const ref = cond.model ?? spec.model;
  // Keyed by the model's fingerprint (its weights), not its name: a retrained model starts afresh.
  const fingerprint = (await ctx.model(ref)).fingerprint;
  const steering = cond.steer?.map(loadSteering);
  const key = conditionKeyOf({
    fingerprint,
    finetune: cond.finetune,
    in_context: cond.in_context,
    system: cond.system,
    sampling: spec.sampling,
    seed: spec.seed,
    questions: questionsKeyInput(questions),
    steering,
    preventative: o.preventative,
  });
  ctx.store.upsertCondition({ runId: ctx.runId, name: cond.name, position, role: cond.role, conditionKey: key, spec: cond });
  let tuned: Promise<Model> | undefined;
  const model = () => (tuned ??= conditionModel(ctx, cond, o.preventative));
  const sampled = await sampleCondition(ctx, {
    cond,
    questions,
    steering,
    key,
    samples: spec.samples,
    getModel: model,
    label: cond.name,
    extraScorers: o.extraScorers && ((s) => o.extraScorers!(s, steering, model)),
  });
  const labels = sampled.samples.map(sampled.labelOf);
  return {
    ...sampled,
    key,
    steering,
    model,
    common: {
      name: cond.name,
      role: cond.role,
      group: cond.group,
      model: modelId(ref),
      ...labelSummary(labels),
      examples: sampled.samples.slice(0, 6).map((s) => ({ question: s.paraphrase, answer: s.answer, label: sampled.labelOf(s) })),
      ...(specMonitors(ctx).length ? { monitors: monitorRates(ctx, sampled) } : {}),
      ...(spec.sampling.stop_on_loop ? { cut: sampled.samples.filter((s) => s.finishReason === 'cut').length } : {}),
    },
  };
}

/** The target's rate at each snapshot of the condition's fine-tune (the final model is the last point). */
export async function alongTheFinetune(
  ctx: RunContext,
  cond: ConditionSpec,
  questions: Question[],
  target: string,
  rated: RatedCondition,
): Promise<CurvePoint[]> {
  const model = await rated.model();
  if (!model.snapshots) throw new Error(`model ${model.id} kept no snapshots of its fine-tune`);
  const curve: CurvePoint[] = [];
  for (const snap of model.snapshots) {
    const final = snap.step === snap.steps;
    const n = final ? ctx.spec.samples : (cond.finetune!.snapshot_samples ?? ctx.spec.samples);
    const key = final ? rated.key : snapshotKey(rated.key, snap.step);
    const { samples, labelOf } = await sampleCondition(ctx, {
      cond,
      questions,
      steering: rated.steering,
      key,
      samples: n,
      getModel: async () => snap.model,
      label: `${cond.name} @ step ${snap.step}`,
      snapshot: final ? undefined : snap.step,
    });
    const labels = samples.map(labelOf);
    curve.push({ step: snap.step, steps: snap.steps, ...rateOf(labels, target), ...labelSummary(labels) });
  }
  return curve;
}

/** Each treatment against the baseline and the control of its own group (Newcombe intervals). */
export function effectsOf(results: ConditionResult[]): Effect[] {
  const effects: Effect[] = [];
  for (const r of results.filter((x) => x.role === 'treatment')) {
    const baseline = results.find((x) => x.role === 'baseline' && x.group === r.group);
    const control = results.find((x) => x.role === 'control' && x.group === r.group);
    for (const ref of [baseline, control]) {
      if (!ref) continue;
      effects.push({ condition: r.name, against: ref.name, difference: r.rate - ref.rate, ci: differenceInterval(r.hits, r.n, ref.hits, ref.n) });
    }
  }
  return effects;
}
