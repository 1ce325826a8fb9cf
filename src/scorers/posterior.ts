/**
 * A likelihood judge: which of a few personas would most likely have given this answer? Each answer
 * is scored by a scoring model after each persona's prompt (log p(answer | prompt, question)), and
 * Bayes' rule with a uniform prior gives the posterior; the label is the most probable persona, the
 * score the posterior of the first. No judge to instruct and no text to parse: it needs only a model
 * that scores (infer's method, turned on single answers), so it runs offline on a small local model.
 */
import { z } from 'zod';
import type { ScoringModel } from '../backends/model.ts';
import { hash } from '../shared/keys.ts';
import { posterior } from '../shared/posterior.ts';
import type { Scorer } from './scorer.ts';

export const posteriorJudgeSchema = z
  .object({
    /** The scoring model: a model reference (string or block), e.g. the base model the fine-tunes start from. */
    posterior: z.union([z.string().min(1), z.object({ id: z.string().min(1) }).catchall(z.unknown())]),
    /** The personas, first = the one whose posterior is the score. At least two. */
    personas: z.array(z.object({ name: z.string().min(1), prompt: z.string().min(1) }).strict()).min(2),
    /** The text the answer is scored after: `{persona}` (its prompt) and `{question}`. */
    template: z.string().default('{persona}\n\nQuestion: {question}\nAnswer:'),
  })
  .strict();
export type PosteriorJudgeSpec = z.infer<typeof posteriorJudgeSchema>;

export function posteriorJudge(spec: PosteriorJudgeSpec, model: ScoringModel): Scorer {
  const uniform = spec.personas.map(() => 1 / spec.personas.length);
  return {
    // The scoring model's fingerprint is part of the name: another model's judgments are not these.
    name: `posterior:${model.id}:${model.fingerprint}:${hash({ personas: spec.personas, template: spec.template })}`,
    async score(samples) {
      const pairs = samples.flatMap((s) =>
        spec.personas.map((p) => ({
          prompt: spec.template.replaceAll('{persona}', p.prompt).replaceAll('{question}', s.asked),
          continuation: s.answer.trim(),
        })),
      );
      const scored = await model.score(pairs);
      return samples.map((s, i) => {
        if (!s.answer.trim()) return { label: 'empty', score: null, explanation: 'an empty answer has no likelihood to compare' };
        const lls = spec.personas.map((_, k) => scored[i * spec.personas.length + k].logprob);
        const p = posterior(lls, uniform);
        const best = p.indexOf(Math.max(...p));
        return {
          label: spec.personas[best].name,
          score: p[0],
          explanation: spec.personas.map((x, k) => `${x.name} ${(p[k] * 100).toFixed(1)}% (log-lik ${lls[k].toFixed(2)})`).join(', '),
        };
      });
    },
  };
}
