/**
 * The drift monitor, black-box: who is speaking in this turn? The posterior over a persona library from
 * the model's own likelihood of the reply under each persona's header (infer's Bayes rule, per turn):
 * P(persona | reply) ∝ P(persona) · P(reply | header). Label: the most probable persona; score: the
 * posterior of the reference persona (the Assistant the run follows), or of the top one when none is named.
 * (The white-box drift, a persona vector's projection per turn, is scorers/monitor.ts's projection.)
 */
import { requireCapability, type Model } from '../backends/model.ts';
import { hash } from '../shared/keys.ts';
import { posterior } from '../shared/posterior.ts';
import type { Score, Scorer, ScoredSample } from './scorer.ts';

export interface DriftLibraryEntry {
  name: string;
  /** The header the reply is scored after (`<doc> …` for the world's personas). */
  prompt: string;
}

export interface PosteriorDriftOptions {
  library: DriftLibraryEntry[];
  /** The persona whose posterior is the score (absent: the top persona's). */
  reference?: string;
  /** The model whose likelihoods read the replies (the condition's own). */
  model: () => Promise<Model>;
  onProgress?: (done: number, total: number) => void;
}

export const posteriorDriftName = (o: Pick<PosteriorDriftOptions, 'library' | 'reference'>, fingerprint: string): string =>
  `drift:posterior:${hash({ l: o.library.map((e) => [e.name, e.prompt]), r: o.reference ?? null, f: fingerprint })}`;

export function posteriorDrift(o: PosteriorDriftOptions & { name: string }): Scorer {
  if (o.reference !== undefined && !o.library.some((e) => e.name === o.reference))
    throw new Error(`drift.reference: "${o.reference}" is not in the library (${o.library.map((e) => e.name).join(', ')})`);
  const prior = o.library.map(() => 1 / o.library.length);
  const ref = o.reference === undefined ? -1 : o.library.findIndex((e) => e.name === o.reference);
  return {
    name: o.name,
    async score(samples: ScoredSample[]): Promise<Score[]> {
      const scorer = requireCapability(await o.model(), 'score', 'drift (the likelihood of each turn under each persona)');
      const out: Score[] = [];
      // A few turns per call: every turn is scored under every header.
      const per = Math.max(1, Math.floor(256 / o.library.length));
      for (let start = 0; start < samples.length; start += per) {
        const batch = samples.slice(start, start + per);
        const scored = await scorer.score(batch.flatMap((s) => o.library.map((e) => ({ prompt: e.prompt, continuation: s.answer.trim() ? s.answer : ' ' }))));
        batch.forEach((_, i) => {
          const p = posterior(
            o.library.map((_, k) => scored[i * o.library.length + k].logprob),
            prior,
          );
          const top = p.indexOf(Math.max(...p));
          const order = p.map((x, k) => [x, k] as const).sort((a, b) => b[0] - a[0]);
          out.push({
            label: o.library[top].name,
            score: ref >= 0 ? p[ref] : p[top],
            explanation: order
              .slice(0, 3)
              .map(([x, k]) => `${o.library[k].name} ${x.toFixed(2)}`)
              .join(', '),
          });
        });
        o.onProgress?.(Math.min(samples.length, start + per), samples.length);
      }
      return out;
    },
  };
}
