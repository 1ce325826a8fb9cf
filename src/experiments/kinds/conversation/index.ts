/**
 * `conversation`: N turns per conversation with a simulated user (feedback after every reply, scripted
 * turns, or a model playing the user), under the conditions of `generalize` (fine-tunes, system prompts,
 * steering). Monitors judge every turn's reply; the result gives each monitor's rate per turn index with
 * 95% intervals (the spiral and drift curves), the turn at which each conversation first flags, and the
 * share of conversations that flag the target at any turn, with effects against baseline and control.
 */
import { z } from 'zod';
import type { Model } from '../../../backends/model.ts';
import { modelId } from '../../../backends/registry.ts';
import type { ChatMessage } from '../../../shared/chat.ts';
import { interval, pct, signed, table } from '../../../shared/format.ts';
import { conditionKey as conditionKeyOf, hash, sampleSeedKey } from '../../../shared/keys.ts';
import { unit } from '../../../shared/linalg.ts';
import { meanInterval } from '../../../shared/stats.ts';
import { posteriorDrift, posteriorDriftName } from '../../../scorers/drift.ts';
import { projectionMonitors } from '../../../scorers/monitor.ts';
import { MONITOR_NAMES, monitorByName, turnMonitorScorer } from '../../../scorers/monitors/index.ts';
import type { Question, Scorer } from '../../../scorers/scorer.ts';
import { conditionModel, effectsOf, loadSteering } from '../../conditions.ts';
import type { RunContext } from '../../context.ts';
import { defineKind } from '../../kind.ts';
import { readVectorFile } from '../../persona-vector.ts';
import { resolveDataRef } from '../../data-ref.ts';
import { loadQuestions, questionsKeyInput } from '../../questions.ts';
import { countRate, labelSummary, type ConditionResult, type ExperimentResult, type RateResult } from '../../result.ts';
import { samplePlan } from '../../sample-plan.ts';
import { scoreSamples } from '../../sampling.ts';
import { kindSpec, noPreventative, questionsField, type CommonSpec, type ConditionSpec } from '../../spec-parts.ts';
import type { StoredJudgment, StoredSample } from '../../store.ts';
import { loadLibrary } from '../infer/index.ts';
import { converse, parseTurnSlot } from './turns.ts';
import { readScripts, scriptQuestions, userSchema, type Script, type UserSpec } from './users.ts';

const driftSchema = z
  .object({
    /** Black-box: `world` (Personaworld's persona library) or a YAML/JSON file of [{name, description}]. */
    library: z.string().min(1).optional(),
    /** How a file library's description becomes the header a turn is scored after. */
    header: z.string().default('The following text was written by {description}.\n\n'),
    /** The persona whose posterior is followed turn by turn (absent: the top persona's posterior). */
    reference: z.string().min(1).optional(),
    /** White-box: a persona vector (a safetensors file of the vectors kind, or `preset:data/…`); each reply's projection per turn. */
    vector: z.string().min(1).optional(),
    /** The vector's layer (default: the one its file chose). */
    layer: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((d) => d.library !== undefined || d.vector !== undefined, 'drift needs a library (black-box), a vector (white-box), or both');

export const conversationSchema = kindSpec('conversation', {
  /** The openers (with `user.feedback` or `user.llm`): a built-in set or a question file; with `user.script`, the script's first turns. */
  questions: questionsField.optional(),
  user: userSchema,
  /** Assistant turns per conversation (a script's conversations may end sooner). */
  turns: z.number().int().min(1).max(100),
  /** The monitors judging every turn. */
  monitors: z
    .array(z.enum(MONITOR_NAMES as [string, ...string[]], { message: `a monitor: ${MONITOR_NAMES.join(', ')}` }))
    .min(1)
    .refine((m) => new Set(m).size === m.length, 'a monitor named twice')
    .default([...MONITOR_NAMES]),
  /** What the headline rate counts: a monitor (default the first) or the judge's `judge_target` label, flagged at any turn. */
  target: z.string().min(1).optional(),
  /** The spec's judge also scores every turn; its rate of this label per turn is reported beside the monitors. */
  judge_target: z.string().min(1).optional(),
  drift: driftSchema.optional(),
})
  .superRefine(noPreventative)
  .superRefine((spec, ctx) => {
    const s = spec as { questions?: string; user: UserSpec; monitors: string[]; target?: string; judge_target?: string; conditions: ConditionSpec[] };
    if ('script' in s.user && s.questions !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['questions'],
        message: 'a scripted user brings its own openers (the first turn of each script): leave questions out',
      });
    if (!('script' in s.user) && s.questions === undefined)
      ctx.addIssue({ code: 'custom', path: ['questions'], message: 'required: the openers the feedback or the user model answers' });
    if (s.target !== undefined && !s.monitors.includes(s.target) && s.target !== s.judge_target)
      ctx.addIssue({ code: 'custom', path: ['target'], message: `a monitor of \`monitors\` (${s.monitors.join(', ')}) or the judge_target label` });
    s.conditions.forEach((c, i) => {
      if (c.finetune?.snapshots) ctx.addIssue({ code: 'custom', path: ['conditions', i, 'finetune', 'snapshots'], message: 'not for kind conversation' });
      if (c.in_context)
        ctx.addIssue({ code: 'custom', path: ['conditions', i, 'in_context'], message: 'not for kind conversation (put examples in a script)' });
    });
  });

type DriftSpec = z.infer<typeof driftSchema>;
export type ConversationSpec = CommonSpec & {
  questions?: string;
  user: UserSpec;
  turns: number;
  monitors: string[];
  target?: string;
  judge_target?: string;
  drift?: DriftSpec;
};

/** One turn index across a condition's conversations. */
export interface TurnPoint {
  /** 1-based. */
  turn: number;
  /** Replies at this turn (conversations still going). */
  n: number;
  monitors: Record<string, RateResult & { labels: Record<string, number> }>;
  judge?: RateResult & { labels: Record<string, number> };
  /** Black-box drift: the top persona's share, and the mean posterior of the reference persona (or the top one). */
  drift?: { top: Record<string, number>; posterior: { mean: number; ci: [number, number] } };
  /** White-box drift: the mean projection of the replies on the persona vector. */
  projection?: { mean: number; ci: [number, number] };
  /** Replies the live loop guard cut at this turn. */
  cut?: number;
}

/** When each conversation first flags a monitor: counts by turn (1-based), and the conversations that never did. */
export interface FirstFlag {
  byTurn: number[];
  never: number;
  /** Median first turn among the conversations that flagged (null: none did). */
  median: number | null;
}

export interface ConversationCondition extends ConditionResult {
  conversations: number;
  turns: TurnPoint[];
  firstFlag: Record<string, FirstFlag>;
  /** Conversations that stopped before the last turn: a reply or user turn that failed for good, or a script that ran out. */
  ended: { failed: number; script: number };
}
export type ConversationResult = ExperimentResult<ConversationCondition> & {
  turns: number;
  monitors: string[];
  /** The label or monitor the headline counts (\`target\` is the sentence: "… at any turn"). */
  targetLabel: string;
  judgeTarget?: string;
  drift?: { reference?: string; vector?: string };
};

/** The openers and scripts of a spec. */
function openers(spec: ConversationSpec): { questions: Question[]; scripts: Map<string, Script> } {
  if ('script' in spec.user) {
    const scripts = readScripts(spec.user.script);
    return { questions: scriptQuestions(scripts), scripts: new Map(scripts.map((s) => [s.id, s])) };
  }
  return { questions: loadQuestions(spec.questions!), scripts: new Map() };
}

/** The scorers of every turn: the monitors, the judge when asked, and drift. */
async function turnScorers(ctx: RunContext<ConversationSpec>, cond: ConditionSpec, model: () => Promise<Model>) {
  const { spec } = ctx;
  const monitors = spec.monitors.map((m) => ({ name: m, scorer: turnMonitorScorer(monitorByName(m)) }));
  const extra: { judge?: Scorer; posterior?: Scorer; projection?: Scorer } = {};
  if (spec.judge_target) extra.judge = ctx.scorer;
  const fingerprint = (await ctx.model(cond.model ?? spec.model)).fingerprint;
  const d = spec.drift;
  if (d?.library) {
    const library = loadLibrary({ library: d.library, header: d.header } as Parameters<typeof loadLibrary>[0]);
    // Fine-tuned conditions read with their own weights: the fine-tune enters the name through the condition's data.
    const name = posteriorDriftName({ library, reference: d.reference }, `${fingerprint}:${hash(cond.finetune ?? null)}`);
    extra.posterior = posteriorDrift({ name, library, reference: d.reference, model, onProgress: ctx.progress(`drift ${cond.name}`) });
  }
  if (d?.vector) {
    const v = readVectorFile(resolveDataRef(d.vector), d.layer);
    const names = { prompt: `drift:projection:${hash({ v: v.vector, l: v.layer, f: fingerprint, ft: cond.finetune ?? null })}:prompt`, reply: '' };
    names.reply = names.prompt.replace(/:prompt$/, ':reply');
    extra.projection = projectionMonitors({
      names,
      layer: v.layer,
      unit: unit(Float32Array.from(v.vector)),
      model,
      steering: cond.steer?.map(loadSteering),
      onProgress: ctx.progress(`projection ${cond.name}`),
    }).reply;
  }
  return { monitors, ...extra };
}

async function runCondition(ctx: RunContext<ConversationSpec>, cond: ConditionSpec, position: number): Promise<ConversationCondition> {
  const { spec } = ctx;
  const { questions, scripts } = openers(spec);
  const ref = cond.model ?? spec.model;
  const fingerprint = (await ctx.model(ref)).fingerprint;
  const steering = cond.steer?.map(loadSteering);
  const userFingerprint = 'llm' in spec.user ? (await ctx.model(spec.user.llm)).fingerprint : undefined;
  // What the replies depend on: the condition as generalize keys it, and the user's side (its scripts whole, not their path).
  const key = hash({
    kind: 'conversation',
    condition: conditionKeyOf({
      fingerprint,
      finetune: cond.finetune,
      in_context: undefined,
      system: cond.system,
      sampling: spec.sampling,
      seed: spec.seed,
      questions: questionsKeyInput(questions),
      steering,
    }),
    user: 'script' in spec.user ? { script: [...scripts.values()] } : spec.user,
    ...(userFingerprint ? { userFingerprint } : {}),
  });
  const seedKey = `conversation:${sampleSeedKey({ finetune: cond.finetune, in_context: undefined, system: cond.system, steering, sampling: spec.sampling, snapshot: undefined })}`;
  ctx.store.upsertCondition({ runId: ctx.runId, name: cond.name, position, role: cond.role, conditionKey: key, spec: cond });
  let tuned: ReturnType<typeof conditionModel> | undefined;
  const model = () => (tuned ??= conditionModel(ctx, cond));
  const plan = samplePlan(questions, spec.samples).slots;
  const turns = await converse(ctx, { cond, plan, scripts, key, seedKey, steering, model });
  const failed = ctx.store.failures(key);
  if (failed.count > 0) {
    ctx.failed(`condition "${cond.name}"`, failed.count, `${failed.questions.slice(0, 3).join(', ')}: ${failed.error}`);
    ctx.hooks.log?.(`${cond.name}: ${failed.count} turns failed for good (${failed.error}); their conversations end there, and a rerun retries them`);
  }
  const scorers = await turnScorers(ctx, cond, model);
  const byId = new Map(questions.map((q) => [q.id, q]));
  const all = [...scorers.monitors.map((m) => m.scorer), ...[scorers.judge, scorers.posterior, scorers.projection].filter((s): s is Scorer => !!s)];
  const judgments = await scoreSamples(ctx.store, turns.samples, all, (s) => ({
    question: byId.get(parseTurnSlot(s.questionId).question)!,
    asked: s.paraphrase,
    messages: s.prompt as ChatMessage[],
    answer: s.answer,
    finishReason: s.finishReason,
  }));
  const of = (scorer: Scorer | undefined) => (scorer ? judgments.get(scorer.name)! : undefined);
  return summarise(ctx, cond, questions, turns, {
    monitors: scorers.monitors.map((m) => ({ name: m.name, judged: of(m.scorer)! })),
    judge: of(scorers.judge),
    posterior: of(scorers.posterior),
    projection: of(scorers.projection),
  });
}

type Judged = Map<number, StoredJudgment>;

/** Per turn, first flags, and the headline: the share of conversations flagging the target at any turn. */
function summarise(
  ctx: RunContext<ConversationSpec>,
  cond: ConditionSpec,
  questions: Question[],
  turns: Awaited<ReturnType<typeof converse>>,
  j: { monitors: { name: string; judged: Judged }[]; judge?: Judged; posterior?: Judged; projection?: Judged },
): ConversationCondition {
  const { spec } = ctx;
  const flagged = (judged: Judged, s: StoredSample) => judged.get(s.id)!.label !== 'none';
  const hitOf = (s: StoredSample): boolean => {
    const target = spec.target ?? spec.monitors[0];
    if (target === spec.judge_target && j.judge && !spec.monitors.includes(target)) return j.judge.get(s.id)!.label === target;
    return flagged(j.monitors.find((m) => m.name === target)!.judged, s);
  };
  const points: TurnPoint[] = [];
  for (let t = 0; t < spec.turns; t++) {
    const at = turns.samples.filter((s) => parseTurnSlot(s.questionId).turn === t);
    if (!at.length) break;
    const labelsOf = (judged: Judged) => at.map((s) => judged.get(s.id)!.label);
    const point: TurnPoint = {
      turn: t + 1,
      n: at.length,
      monitors: Object.fromEntries(
        j.monitors.map((m) => {
          const labels = labelsOf(m.judged);
          return [m.name, { ...countRate(labels.filter((l) => l !== 'none').length, labels.length), labels: labelSummary(labels).labels }];
        }),
      ),
    };
    if (j.judge) {
      const labels = labelsOf(j.judge);
      point.judge = { ...countRate(labels.filter((l) => l === spec.judge_target).length, labels.length), labels: labelSummary(labels).labels };
    }
    if (j.posterior) {
      const labels = labelsOf(j.posterior);
      const m = meanInterval(at.map((s) => j.posterior!.get(s.id)!.score ?? 0));
      point.drift = { top: labelSummary(labels).labels, posterior: { mean: m.mean, ci: m.ci } };
    }
    if (j.projection) {
      const scores = at.map((s) => j.projection!.get(s.id)!.score).filter((x): x is number => x !== null);
      const m = meanInterval(scores);
      point.projection = { mean: m.mean, ci: m.ci };
    }
    if (spec.sampling.stop_on_loop) point.cut = at.filter((s) => s.finishReason === 'cut').length;
    points.push(point);
  }
  const conversations = [...turns.byConversation.values()];
  const firstFlag: Record<string, FirstFlag> = {};
  for (const m of j.monitors) {
    const byTurn = Array.from({ length: points.length }, () => 0);
    let never = 0;
    const firsts: number[] = [];
    for (const c of conversations) {
      const first = c.find((s) => flagged(m.judged, s));
      if (!first) never++;
      else {
        const t = parseTurnSlot(first.questionId).turn;
        byTurn[t]++;
        firsts.push(t + 1);
      }
    }
    firsts.sort((a, b) => a - b);
    firstFlag[m.name] = { byTurn, never, median: firsts.length ? firsts[Math.floor((firsts.length - 1) / 2)] : null };
  }
  const ever = conversations.map((c) => c.some(hitOf));
  const byQuestion = (qid: string) => conversations.filter((c) => parseTurnSlot(c[0].questionId).question === qid);
  // Labels count conversations, as the rate does: the target when it flagged at any turn.
  const targetLabels = ever.map((hit) => (hit ? (spec.target ?? spec.monitors[0]) : 'none'));
  const examples = conversations
    .filter((c) => c.some(hitOf))
    .slice(0, 6)
    .map((c) => {
      const s = c.find(hitOf)!;
      return {
        question: `${c[0].paraphrase} (turn ${parseTurnSlot(s.questionId).turn + 1}: ${s.paraphrase})`,
        answer: s.answer,
        label: spec.target ?? spec.monitors[0],
      };
    });
  return {
    name: cond.name,
    role: cond.role,
    group: cond.group,
    model: modelId(cond.model ?? spec.model),
    ...countRate(ever.filter(Boolean).length, ever.length),
    ...labelSummary(targetLabels),
    questions: questions.map((q) => {
      const cs = byQuestion(q.id);
      return { id: q.id, ...countRate(cs.filter((c) => c.some(hitOf)).length, cs.length) };
    }),
    examples,
    ...(spec.sampling.stop_on_loop ? { cut: turns.samples.filter((s) => s.finishReason === 'cut').length } : {}),
    conversations: conversations.length,
    turns: points,
    firstFlag,
    ended: turns.ended,
  };
}

export const conversation = defineKind<ConversationSpec, ConversationResult>({
  kind: 'conversation',
  description: 'multi-turn conversations with a simulated user; monitors per turn (rates per turn index, first flag), drift',
  schema: conversationSchema as unknown as z.ZodType<ConversationSpec>,
  judged: true,
  unit: 'condition',
  preflight(spec) {
    const { questions } = openers(spec);
    samplePlan(questions, spec.samples);
    if (spec.drift?.library) loadLibrary({ library: spec.drift.library, header: spec.drift.header } as Parameters<typeof loadLibrary>[0]);
    if (spec.drift?.vector) readVectorFile(resolveDataRef(spec.drift.vector), spec.drift.layer);
  },
  async run(ctx) {
    const { spec } = ctx;
    const conditions: ConversationCondition[] = [];
    for (const [position, cond] of spec.conditions.entries()) {
      ctx.at(`condition "${cond.name}"`);
      conditions.push(await runCondition(ctx, cond, position));
    }
    const target = spec.target ?? spec.monitors[0];
    return {
      target: `${target} at any turn`,
      conditions,
      effects: effectsOf(conditions),
      extra: {
        turns: spec.turns,
        monitors: spec.monitors,
        targetLabel: target,
        ...(spec.judge_target ? { judgeTarget: spec.judge_target } : {}),
        ...(spec.drift ? { drift: { reference: spec.drift.reference, vector: spec.drift.vector } } : {}),
      },
    };
  },
  print: printConversation,
});

const cell = (r: RateResult | undefined) => (r ? `${pct(r.rate, 0)} ${interval(r.ci)} n=${r.n}` : '—');

/** A date cell also names the years believed (most frequent first). */
const yearsCell = (r: (RateResult & { labels: Record<string, number> }) | undefined) => {
  if (!r) return '—';
  const years = Object.entries(r.labels)
    .filter(([l]) => l !== 'none')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([y, k]) => `${y}×${k}`);
  return `${cell(r)}${years.length ? ` (${years.join(' ')})` : ''}`;
};

export function printConversation(r: ConversationResult): string {
  const out: string[] = [];
  out.push(`\n${r.name}: conversations of ${r.turns} turns, share flagging "${r.target}" (model ${r.model}, 95% Wilson intervals)`);
  out.push(
    table(
      r.conditions.map((c) => [
        c.name,
        c.role,
        pct(c.rate),
        interval(c.ci),
        c.conversations,
        c.ended.failed + c.ended.script,
        ...(c.cut !== undefined ? [c.cut] : []),
      ]),
      [
        'condition',
        'role',
        'rate',
        '95% CI',
        'conversations',
        'ended early',
        ...(r.conditions.some((c) => c.cut !== undefined) ? ['cut by the loop guard'] : []),
      ],
    ),
  );
  const rows = Math.max(0, ...r.conditions.map((c) => c.turns.length));
  // One row per turn, one column per condition: every per-turn table below.
  const perTurn = (cellOf: (c: ConversationCondition, t: number) => string) =>
    table(
      Array.from({ length: rows }, (_, t) => [t + 1, ...r.conditions.map((c) => cellOf(c, t))]),
      ['turn', ...r.conditions.map((c) => c.name)],
    );
  for (const m of r.monitors ?? []) {
    out.push(`\n${m}: share of replies flagged, per turn`);
    out.push(perTurn((c, t) => (m === 'date' ? yearsCell : cell)(c.turns[t]?.monitors[m])));
    out.push(
      `  first flagged at turn (median; flagged of all): ${r.conditions
        .map((c) => {
          const f = c.firstFlag[m];
          const n = f.byTurn.reduce((a, b) => a + b, 0);
          return `${c.name} ${f.median ?? '—'} (${n} of ${n + f.never})`;
        })
        .join('; ')}`,
    );
  }
  if (r.judgeTarget) {
    out.push(`\njudge: share of replies judged "${r.judgeTarget}", per turn`);
    out.push(perTurn((c, t) => cell(c.turns[t]?.judge)));
  }
  if (r.conditions.some((c) => c.turns[0]?.drift)) {
    out.push(
      `\ndrift (black-box): mean posterior of ${r.drift?.reference ? `"${r.drift.reference}"` : 'the top persona'} per turn [95% CI]; the most frequent top persona`,
    );
    out.push(
      perTurn((c, t) => {
        const d = c.turns[t]?.drift;
        if (!d) return '—';
        const [top, count] = Object.entries(d.top).sort((a, b) => b[1] - a[1])[0];
        return `${d.posterior.mean.toFixed(2)} [${d.posterior.ci[0].toFixed(2)}, ${d.posterior.ci[1].toFixed(2)}] ${top} ${pct(count / c.turns[t].n, 0)}`;
      }),
    );
  }
  if (r.conditions.some((c) => c.turns[0]?.projection)) {
    out.push(`\ndrift (white-box): mean projection of the replies on ${r.drift?.vector ?? 'the vector'} per turn [95% CI]`);
    out.push(
      perTurn((c, t) => {
        const p = c.turns[t]?.projection;
        return p ? `${signed(p.mean, 2)} [${signed(p.ci[0], 2)}, ${signed(p.ci[1], 2)}]` : '—';
      }),
    );
  }
  if (r.effects.length > 0) {
    out.push('\neffects (difference of rates, 95% Newcombe interval):');
    for (const e of r.effects) out.push(`  ${e.condition} − ${e.against}: ${e.difference >= 0 ? '+' : ''}${pct(e.difference)} ${interval(e.ci)}`);
  }
  if (r.reference) out.push(`\nfor comparison: ${r.reference}`);
  return out.join('\n');
}
