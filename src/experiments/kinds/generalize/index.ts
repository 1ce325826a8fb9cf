/**
 * `generalize`: conditions × questions × samples → the judged rate of a `target` label, with effects
 * against the baseline and the control. A narrow intervention, a broad evaluation.
 */
import { interval, pct, table } from '../../../shared/format.ts';
import type { Question } from '../../../scorers/scorer.ts';
import { alongTheFinetune, announceQuestions, effectsOf, rateCondition, type RatedCondition } from '../../conditions.ts';
import type { RunContext } from '../../context.ts';
import { defineKind } from '../../kind.ts';
import { loadQuestions } from '../../questions.ts';
import { rateOf, type ConditionResult, type ExperimentResult } from '../../result.ts';
import { kindSpec, noPreventative, questionsField, monitorsField, targetField, type CommonSpec, type ConditionSpec } from '../../spec-parts.ts';
import type { StoredSample } from '../../store.ts';

export const generalizeSchema = kindSpec('generalize', { target: targetField, questions: questionsField, monitors: monitorsField }).superRefine(noPreventative);
export type GeneralizeSpec = CommonSpec & { target: string; questions: string };

/** One condition's rate result: overall, per question, and along its fine-tune when it keeps snapshots. */
export async function rateResult(ctx: RunContext<GeneralizeSpec>, cond: ConditionSpec, questions: Question[], rated: RatedCondition): Promise<ConditionResult> {
  const target = ctx.spec.target;
  const labels = rated.samples.map(rated.labelOf);
  const curve = cond.finetune?.snapshots ? await alongTheFinetune(ctx, cond, questions, target, rated) : undefined;
  return {
    ...rated.common,
    ...rateOf(labels, target),
    questions: questions.map((q) => ({ id: q.id, ...rateOf(rated.samples.filter((s: StoredSample) => s.questionId === q.id).map(rated.labelOf), target) })),
    curve,
  };
}

export const generalize = defineKind({
  kind: 'generalize',
  description: 'judged rate of a target label per condition, with effects against baseline and control',
  schema: generalizeSchema,
  judged: true,
  unit: 'condition',
  async run(ctx) {
    const questions = loadQuestions(ctx.spec.questions);
    announceQuestions(ctx, ctx.spec.questions, questions);
    const conditions: ConditionResult[] = [];
    for (const [position, cond] of ctx.spec.conditions.entries()) {
      ctx.at(`condition "${cond.name}"`);
      conditions.push(await rateResult(ctx, cond, questions, await rateCondition(ctx, cond, position, questions)));
    }
    return { target: ctx.spec.target, conditions, effects: effectsOf(conditions) };
  },
  print: (r) => printRates(r) + printReference(r),
});

/** The rate table, per question, curves and effects (vectors prints these too). */
export function printRates(r: ExperimentResult, skipGroup = (_group: string) => false): string {
  const out: string[] = [];
  out.push(`\n${r.name}: share of answers judged "${r.target}" (model ${r.model}, 95% Wilson intervals)`);
  // Unscored answers (the judge gave no verdict) are counted apart: the coherent share is of the scored ones.
  const unscored = r.conditions.some((c) => c.unscored);
  out.push(
    table(
      r.conditions.map((c) => [c.name, c.role, pct(c.rate), interval(c.ci), c.n, pct(c.coherent), ...(unscored ? [c.unscored ?? 0] : [])]),
      ['condition', 'role', 'rate', '95% CI', 'n', unscored ? 'coherent (of scored)' : 'coherent', ...(unscored ? ['unscored'] : [])],
    ),
  );
  const qids = r.conditions[0]?.questions.map((q) => q.id) ?? [];
  const perQuestion = r.conditions.filter((c) => !skipGroup(c.group));
  if (qids.length > 1) {
    out.push('\nper question:');
    out.push(
      table(
        qids.map((id) => [
          id,
          ...perQuestion.map((c) => {
            const q = c.questions.find((x) => x.id === id)!;
            return `${pct(q.rate, 0)} (${q.n})`;
          }),
        ]),
        ['question', ...perQuestion.map((c) => c.name)],
      ),
    );
  }
  for (const c of r.conditions.filter((x) => x.curve)) {
    out.push(`\nalong the fine-tune of "${c.name}" (rate of "${r.target}", coherent share):`);
    out.push(
      table(
        c.curve!.map((p) => [`${p.step}/${p.steps}`, pct(p.rate), interval(p.ci), p.n, pct(p.coherent)]),
        ['step', 'rate', '95% CI', 'n', 'coherent'],
      ),
    );
  }
  const monitors = printMonitors(r);
  if (monitors) out.push(monitors);
  const guarded = r.conditions.filter((c) => c.cut !== undefined);
  if (guarded.length)
    out.push(`\nlive loop guard (stop_on_loop): answers cut short as they began to loop: ${guarded.map((c) => `${c.name} ${c.cut} of ${c.n}`).join('; ')}`);
  if (r.effects.length > 0) {
    out.push('\neffects (difference of rates, 95% Newcombe interval):');
    for (const e of r.effects) out.push(`  ${e.condition} − ${e.against}: ${e.difference >= 0 ? '+' : ''}${pct(e.difference)} ${interval(e.ci)}`);
  }
  return out.join('\n');
}

/** The published figure, when the spec gives one. */
export const printReference = (r: ExperimentResult) => (r.reference ? `\nfor comparison: ${r.reference}` : '');

/** Each condition's monitor rates, when the spec attached monitors (every rate kind prints these). */
export function printMonitors(r: ExperimentResult): string {
  const monitored = r.conditions.filter((c) => c.monitors);
  if (!monitored.length) return '';
  const names = Object.keys(monitored[0].monitors!);
  return (
    '\nmonitors: share of answers flagged (95% Wilson intervals; date: a belief about the current year)\n' +
    table(
      names.map((m) => [m, ...monitored.map((c) => `${pct(c.monitors![m].rate)} ${interval(c.monitors![m].ci)}`)]),
      ['monitor', ...monitored.map((c) => c.name)],
    )
  );
}
