/**
 * Judges label answers. The world judge reads Personaworld answers exactly (no LLM needed for the
 * organism); rule judges and the LLM judge of real-model experiments implement the same interface.
 */
import { classify } from '../world/index.ts';
import type { Question } from './questions.ts';

export interface Judgment {
  label: string;
  score: number | null;
}

export interface Judge {
  readonly name: string;
  judge(items: { question: Question; answer: string }[]): Promise<Judgment[]>;
}

/** Personaworld's own classifier: the trait value an answer expresses for its topic, or `incoherent`. */
export const worldJudge: Judge = {
  name: 'world',
  async judge(items) {
    return items.map(({ question, answer }) => {
      if (!question.topic) throw new Error(`world judge: question "${question.id}" is not a Personaworld question (use a world:… question set)`);
      return { label: classify(question.topic, answer), score: null };
    });
  },
};

export function getJudge(name: string): Judge {
  if (name === 'world') return worldJudge;
  throw new Error(`unknown judge "${name}"`);
}
