/**
 * Runs an experiment: for each condition (an intervention on the model), sample answers to the
 * questions, store each batch as it completes, judge, and aggregate: rates of the target with intervals
 * (generalize) or distributions and their entropy (profile); infer scores texts instead (infer.ts).
 * Dataset → solver → scorer, as in Inspect AI: questions are the dataset, the condition's prompt
 * building and sampling the solver, the judge the scorer.
 */
import { readFileSync } from 'node:fs';
import type { ChatMessage, Model, SteeringVector } from '../backends/model.ts';
import { loadModel } from '../backends/registry.ts';
import type { Chat } from '../organism/chat-data.ts';
import { getJudge, TRAIT_RUBRIC, type Judge, type LlmJudgeSpec } from './judges.ts';
import { emergentMisalignmentJudge, rubricJudge } from '../judges/llm.ts';
import { loadQuestions, type Question } from './questions.ts';
import type { ConditionSpec, ExperimentSpec } from './spec.ts';
import { differenceInterval } from './stats.ts';
import type { Store } from './store.ts';
import { hash, rateOf, countRate, type ConditionResult, type CurvePoint, type Effect, type ExperimentResult, type RunHooks } from './result.ts';
import { profileQuestion } from './profile.ts';
import { inferCondition } from './infer.ts';
import { monitorSamples, predictedShift, prepareVectors, preventativeSteering, summariseVectors, type MonitoredCondition } from './vectors-kind.ts';
import { readVectorFile, type PersonaVector } from './vectors.ts';
import { runAudit } from './audit-kind.ts';
import { loadDataset } from './datasets.ts';

export { loadDataset };

export type { RateResult, ConditionResult, Effect, ExperimentResult, RunHooks } from './result.ts';

/** A steering entry of a condition, its vector read from a JSON file (an array of numbers, or {"vector": [...]}). */
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

/** How a condition's labels spread, and the share the judge could read (anything but `incoherent`). */
function labelSummary(labels: string[]): { labels: Record<string, number>; coherent: number } {
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return { labels: counts, coherent: labels.filter((l) => l !== 'incoherent').length / Math.max(1, labels.length) };
}

async function llmJudgeFactory(spec: LlmJudgeSpec, load: (id: string) => Promise<Model>): Promise<Judge> {
  const model = await load(spec.llm);
  if (spec.protocol === 'emergent-misalignment') return emergentMisalignmentJudge({ model, logprobs: spec.logprobs });
  const rubric = (spec.rubric ?? TRAIT_RUBRIC).replaceAll('{trait}', spec.trait ?? '');
  return rubricJudge({
    model, rubric, logprobs: spec.logprobs, name: hash({ rubric, labels: spec.labels, t: spec.threshold, a: spec.above, b: spec.below }),
    scale: spec.labels ? { kind: 'labels', labels: spec.labels } : { kind: 'score', threshold: spec.threshold, above: spec.above, below: spec.below },
  });
}

export async function runExperiment(spec: ExperimentSpec, store: Store, cacheDir: string, hooks: RunHooks = {}): Promise<ExperimentResult> {
  if (spec.kind === 'audit') return runAudit(spec, store, cacheDir, hooks);
  const questions = spec.kind === 'infer' ? [] : loadQuestions(spec.questions!);
  const judgeSpec = spec.judge;
  const llmJudge = (j: LlmJudgeSpec) => llmJudgeFactory(j, hooks.loadModel ?? ((id: string) => loadModel(id, { cacheDir, baseUrl: j.base_url, apiKeyEnv: j.api_key_env })));
  const judge = typeof judgeSpec === 'object' && 'llm' in judgeSpec ? await llmJudge(judgeSpec) : getJudge(judgeSpec);
  const runId = hash(spec);
  store.upsertRun({ id: runId, name: spec.name, kind: spec.kind, model: spec.model, spec, status: 'running', judge: judge.name });
  const models = new Map<string, Promise<Model>>();
  const load = hooks.loadModel ?? ((id: string) => loadModel(id, { cacheDir, baseUrl: spec.base_url, apiKeyEnv: spec.api_key_env, concurrency: spec.concurrency }));
  const baseModel = (id: string) => { if (!models.has(id)) models.set(id, load(id)); return models.get(id)!; };
  /** The condition's model: its base model, fine-tuned if the condition says so (fine-tunes are cached). */
  const conditionModel = async (cond: ConditionSpec): Promise<Model> => {
    const modelId = cond.model ?? spec.model;
    const model = await baseModel(modelId);
    if (!cond.finetune) return model;
    const ft = cond.finetune;
    if (!model.finetune) throw new Error(`model ${modelId} cannot be fine-tuned`);
    hooks.log?.(`fine-tuning ${modelId} on ${ft.data} for condition "${cond.name}" (cached after the first run)`);
    return model.finetune({
      dataName: ft.data, chats: loadDataset(ft.data, ft.examples, spec.seed), mode: ft.mode, learningRate: ft.learning_rate,
      epochs: ft.epochs, batchSize: ft.batch_size, rank: ft.rank, seed: spec.seed, snapshots: ft.snapshots,
      steering: preventativeSteering(cond, vectors?.vector),
    }, (d, t) => hooks.progress?.(`fine-tune ${cond.name}`, d, t));
  };
  /**
   * Sample `n` answers (questions round robin) under `conditionKey`, storing each batch as it completes
   * and reusing what is stored; then judge what has no judgment yet. The model is loaded (and
   * fine-tuned) only if something is missing.
   */
  const sampleAndJudge = async (cond: ConditionSpec, steering: SteeringVector[] | undefined, conditionKey: string, n: number, getModel: () => Promise<Model>, label: string, snapshot?: number) => {
    // Each sample's seed: the intervention, the question and the index, not the model's fingerprint,
    // so the same spec draws the same samples in process and through a server.
    // Steering enters by its vectors, not their file paths: a vector kept in another cache folder draws the same samples.
    const seedKey = hash({ finetune: cond.finetune, in_context: cond.in_context, system: cond.system, steer: steering, sampling: spec.sampling, snapshot });
    const slots = Array.from({ length: n }, (_, i) => {
      const q = questions[i % questions.length];
      return { q, idx: i, paraphrase: q.paraphrases[Math.floor(i / questions.length) % q.paraphrases.length] };
    });
    const stored = store.storedSlots(conditionKey);
    const missing = slots.filter((s) => !stored.has(`${s.q.id}#${s.idx}`));
    if (missing.length > 0) {
      const model = await getModel();
      if (steering && !model.capabilities.steering) throw new Error(`model ${model.id} cannot be steered (not a white-box backend)`);
      const inContext = cond.in_context ? loadDataset(cond.in_context.data, undefined, spec.seed).slice(0, cond.in_context.k) : [];
      const chunk = 64;
      for (let start = 0; start < missing.length; start += chunk) {
        const batch = missing.slice(start, start + chunk);
        const convs = batch.map((s) => buildConversation(cond, s.q, s.paraphrase, inContext));
        const gens = await model.chat(convs, {
          temperature: spec.sampling.temperature, topP: spec.sampling.top_p, maxTokens: spec.sampling.max_tokens,
          seed: spec.seed, seeds: batch.map((s) => `${seedKey}:${s.q.id}:${s.idx}`), steering,
        });
        store.insertSamples(batch.map((s, i) => ({ conditionKey, questionId: s.q.id, idx: s.idx, paraphrase: s.paraphrase, prompt: convs[i], answer: gens[i].text, finishReason: gens[i].finishReason })));
        hooks.progress?.(`sample ${label}`, Math.min(missing.length, start + chunk), missing.length);
      }
    }
    const samples = store.samples(conditionKey, n);
    const judged = store.judgments(samples.map((s) => s.id), judge.name);
    const toJudge = samples.filter((s) => !judged.has(s.id));
    if (toJudge.length > 0) {
      const byId = new Map(questions.map((q) => [q.id, q]));
      const js = await judge.judge(toJudge.map((s) => ({ question: byId.get(s.questionId)!, answer: s.answer, asked: s.paraphrase })));
      const rows = toJudge.map((s, i) => ({ sampleId: s.id, judge: judge.name, label: js[i].label, score: js[i].score }));
      store.insertJudgments(rows);
      for (const r of rows) judged.set(r.sampleId, r);
    }
    return { samples, labelOf: (s: (typeof samples)[number]) => judged.get(s.id)!.label };
  };
  /** The target's rate at each snapshot of the condition's fine-tune (the final model is the last point). */
  const alongTheFinetune = async (cond: ConditionSpec, steering: SteeringVector[] | undefined, conditionKey: string, getModel: () => Promise<Model>): Promise<CurvePoint[]> => {
    const model = await getModel();
    if (!model.snapshots) throw new Error(`model ${model.id} kept no snapshots of its fine-tune`);
    const curve: CurvePoint[] = [];
    for (const snap of model.snapshots) {
      const n = snap.step === snap.steps ? spec.samples : cond.finetune!.snapshot_samples ?? spec.samples;
      const key = snap.step === snap.steps ? conditionKey : hash({ conditionKey, snapshot: snap.step });
      const { samples, labelOf } = await sampleAndJudge(cond, steering, key, n, async () => snap.model, `${cond.name} @ step ${snap.step}`, snap.step === snap.steps ? undefined : snap.step);
      const labels = samples.map(labelOf);
      curve.push({ step: snap.step, steps: snap.steps, ...rateOf(labels, spec.target!), ...labelSummary(labels) });
    }
    return curve;
  };
  const results: ConditionResult[] = [];
  let currentCondition = '';
  let vectors: { vector: PersonaVector; file: string } | undefined;
  const monitored: MonitoredCondition[] = [];
  const predicted = new Map<string, number>();
  try {
    let conditions = spec.conditions;
    if (spec.kind === 'vectors') {
      currentCondition = '(persona vector)';
      const prep = await prepareVectors(spec, await baseModel(spec.model), judge, cacheDir, hooks);
      vectors = prep;
      conditions = prep.conditions;
    }
    for (const [position, cond] of conditions.entries()) {
      currentCondition = cond.name;
      const modelId = cond.model ?? spec.model;
      // Keyed by the model's fingerprint (its weights), not its name: a retrained model starts afresh.
      const fingerprint = (await baseModel(modelId)).fingerprint;
      const meta = { name: cond.name, role: cond.role, group: cond.group, model: modelId };
      if (spec.kind === 'infer') {
        if (cond.in_context || cond.system) throw new Error('infer conditions take a model or a fine-tune, not in_context or system');
        const { conditionKey, result } = await inferCondition(spec, await conditionModel(cond), store, { fingerprint, finetune: cond.finetune, seed: spec.seed }, meta,
          (d, t) => hooks.progress?.(`score ${cond.name}`, d, t));
        store.upsertCondition({ runId, name: cond.name, position, role: cond.role, conditionKey, spec: cond });
        results.push(result);
        continue;
      }
      const steering = cond.steer?.map(loadSteering);
      // Preventative steering trains with the extracted vector: the samples depend on that vector too.
      const preventative = preventativeSteering(cond, vectors?.vector);
      const conditionKey = hash({ fingerprint, finetune: cond.finetune, in_context: cond.in_context, system: cond.system, sampling: spec.sampling, seed: spec.seed, questions, ...(steering ? { steering } : {}), ...(preventative ? { preventative } : {}) });
      store.upsertCondition({ runId, name: cond.name, position, role: cond.role, conditionKey, spec: cond });
      let fineTuned: Model | undefined;
      const modelOnce = async () => (fineTuned ??= await conditionModel(cond));
      const { samples, labelOf } = await sampleAndJudge(cond, steering, conditionKey, spec.samples, modelOnce, cond.name);
      const labels = samples.map(labelOf);
      const common = {
        ...meta,
        ...labelSummary(labels),
        examples: samples.slice(0, 6).map((s) => ({ question: s.paraphrase, answer: s.answer, label: labelOf(s) })),
      };
      if (spec.kind === 'profile') {
        const profile = questions.map((q) => profileQuestion(q.id, samples.filter((s) => s.questionId === q.id).map((s) => ({ label: labelOf(s), answer: s.answer }))));
        // The condition's rate: the modal label's share, pooled over questions.
        const hits = profile.reduce((a, p) => a + p.hits, 0), n = profile.reduce((a, p) => a + p.n, 0);
        results.push({ ...common, ...countRate(hits, n), questions: profile.map(({ id, rate, ci, n: qn, hits: h }) => ({ id, rate, ci, n: qn, hits: h })), profile });
      } else {
        const curve = cond.finetune?.snapshots ? await alongTheFinetune(cond, steering, conditionKey, modelOnce) : undefined;
        results.push({
          ...common, ...rateOf(labels, spec.target!),
          questions: questions.map((q) => ({ id: q.id, ...rateOf(samples.filter((s) => s.questionId === q.id).map(labelOf), spec.target!) })),
          curve,
        });
        if (vectors && spec.vectors!.monitor) {
          const proj = await monitorSamples(store, samples, vectors.vector, steering, modelOnce, (d, t) => hooks.progress?.(`monitor ${cond.name}`, d, t));
          monitored.push({ cond, result: results.at(-1)!, points: samples.map((s) => ({ question: s.questionId, ...proj.get(s.id)!, hit: labelOf(s) === spec.target })) });
        } else if (vectors) {
          monitored.push({ cond, result: results.at(-1)!, points: [] });
        }
        if (vectors && spec.vectors!.predict && cond.finetune && cond.finetune.preventative === undefined && !cond.steer) {
          const base = await baseModel(modelId);
          predicted.set(cond.name, await predictedShift(store, base, { ref: cond.finetune.data, examples: cond.finetune.examples, chats: loadDataset(cond.finetune.data, cond.finetune.examples, spec.seed) }, vectors.vector, spec, (d, t) => hooks.progress?.(`predict ${cond.name}`, d, t)));
        }
      }
    }
  } catch (e) {
    store.finishRun(runId, 'failed');
    throw new Error(`${spec.name}, condition "${currentCondition}": ${(e as Error).message}`, { cause: e });
  }
  const effects: Effect[] = [];
  if (spec.kind === 'generalize' || spec.kind === 'vectors') {
    for (const r of results.filter((x) => x.role === 'treatment')) {
      const baseline = results.find((x) => x.role === 'baseline' && x.group === r.group);
      const control = results.find((x) => x.role === 'control' && x.group === r.group);
      for (const ref of [baseline, control]) {
        if (!ref) continue;
        effects.push({ condition: r.name, against: ref.name, difference: r.rate - ref.rate, ci: differenceInterval(r.hits, r.n, ref.hits, ref.n) });
      }
    }
  }
  const target = spec.kind === 'generalize' || spec.kind === 'vectors' ? spec.target! : spec.kind === 'profile' ? 'modal answer' : 'true author (top-1)';
  const result: ExperimentResult = {
    name: spec.name, kind: spec.kind, model: spec.model, target, runId, conditions: results, effects, reference: spec.reference,
    ...(vectors ? { vectors: summariseVectors(spec.vectors!, vectors.vector, vectors.file, monitored, predicted) } : {}),
  };
  store.finishRun(runId, 'done', result);
  return result;
}
