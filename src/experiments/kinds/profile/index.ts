/**
 * `profile`: each question asked many times; per question the distribution of labels, its entropy, the
 * modal share and the most frequent answers (what the model fills in where nobody specified it).
 */
import { interval, pct, table } from '../../../shared/format.ts';
import { announceQuestions, rateCondition } from '../../conditions.ts';
import { printMonitors } from '../generalize/index.ts';
import { defineKind } from '../../kind.ts';
import { loadQuestions } from '../../questions.ts';
import { countRate, type ConditionResult, type ExperimentResult } from '../../result.ts';
import { kindSpec, noPreventative, questionsField, monitorsField, targetField, type CommonSpec } from '../../spec-parts.ts';
import { profileQuestion, type QuestionProfile } from './profile.ts';

export type { QuestionProfile };
export interface ProfileCondition extends ConditionResult {
  profile: QuestionProfile[];
}
export type ProfileResult = ExperimentResult<ProfileCondition>;

export const profileSchema = kindSpec('profile', { target: targetField.optional(), questions: questionsField, monitors: monitorsField }).superRefine(
  noPreventative,
);
type ProfileSpec = CommonSpec & { questions: string };

export const profile = defineKind<ProfileSpec, ProfileResult>({
  kind: 'profile',
  description: 'what the model says: per question the label distribution, its entropy and the most frequent answers',
  schema: profileSchema,
  judged: true,
  unit: 'condition',
  async run(ctx) {
    const questions = loadQuestions(ctx.spec.questions);
    announceQuestions(ctx, ctx.spec.questions, questions);
    const conditions: ProfileCondition[] = [];
    for (const [position, cond] of ctx.spec.conditions.entries()) {
      ctx.at(`condition "${cond.name}"`);
      const rated = await rateCondition(ctx, cond, position, questions);
      const profile = questions.map((q) =>
        profileQuestion(
          q.id,
          rated.samples.filter((s) => s.questionId === q.id).map((s) => ({ label: rated.labelOf(s), answer: s.answer })),
        ),
      );
      // The condition's rate: the modal label's share, pooled over questions.
      const hits = profile.reduce((a, p) => a + p.hits, 0),
        n = profile.reduce((a, p) => a + p.n, 0);
      conditions.push({
        ...rated.common,
        ...countRate(hits, n),
        questions: profile.map(({ id, rate, ci, n: qn, hits: h }) => ({ id, rate, ci, n: qn, hits: h })),
        profile,
      });
    }
    return { target: 'modal answer', conditions, effects: [] };
  },
  print(r) {
    const out: string[] = [];
    out.push(`\n${r.name}: what each condition answers, per question (labels by the judge; modal share, entropy in bits)`);
    const qids = r.conditions[0]?.profile?.map((q) => q.id) ?? [];
    const cell = (q: QuestionProfile | undefined) =>
      q
        ? `${q.distribution
            .slice(0, 3)
            .map((d) => `${d.label} ${pct(d.count / q.n, 0)}`)
            .join(', ')} · ${q.entropyBits.toFixed(2)} b`
        : '—';
    out.push(
      table(
        qids.map((id) => [id, ...r.conditions.map((c) => cell(c.profile?.find((q) => q.id === id)))]),
        ['question', ...r.conditions.map((c) => c.name)],
      ),
    );
    out.push('\nmost frequent answers:');
    for (const c of r.conditions) {
      out.push(`  ${c.name}:`);
      for (const q of c.profile ?? [])
        out.push(
          `    ${q.id.padEnd(10)} ${q.topAnswers
            .slice(0, 2)
            .map((a) => `"${a.answer}" ×${a.count}`)
            .join('; ')}`,
        );
    }
    out.push(`\nmodal share, pooled over questions: ${r.conditions.map((c) => `${c.name} ${pct(c.rate)} ${interval(c.ci)}`).join('; ')}`);
    const monitors = printMonitors(r);
    if (monitors) out.push(monitors);
    return out.join('\n');
  },
});
