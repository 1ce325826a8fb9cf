/** Personaworld's own classifier as a scorer: the trait value an answer expresses for its topic, or `incoherent`. */
import { classify } from '../world/index.ts';
import type { Scorer } from './scorer.ts';

export const worldScorer: Scorer = {
  name: 'world',
  async score(samples) {
    return samples.map(({ question, answer }) => {
      if (!question.topic) throw new Error(`world judge: question "${question.id}" is not a Personaworld question (use a world:… question set)`);
      const label = classify(question.topic, answer);
      return { label, score: null, explanation: `the world's classifier on topic ${question.topic}` };
    });
  },
};
