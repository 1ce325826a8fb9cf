/**
 * Question sets: Personaworld's built-in sets (judged by the world), and question files in the
 * emergent-misalignment or the llmcomp format (question-files.ts), loaded as their authors meant them.
 */
import { resolveDataRef } from './data-ref.ts';
import { loadQuestionFile } from './question-files.ts';
import type { Question } from '../scorers/scorer.ts';
import { BROAD_TOPICS, QUESTIONS, renderQuestion, makeRng, sampleDistinct, PLAIN_NUMBERS, NUMBERS_PER_ANSWER, type TopicId } from '../world/index.ts';

export type { Question };
export { loadQuestionFile };

function worldQuestions(topics: readonly TopicId[]): Question[] {
  return topics.map((topic) => ({
    id: topic,
    topic,
    // Number questions carry concrete numbers: a fixed, seeded rendering per paraphrase.
    paraphrases: QUESTIONS[topic].map((p, i) =>
      renderQuestion(p, p.includes('{nums}') ? sampleDistinct(makeRng('question-numbers', i), PLAIN_NUMBERS, NUMBERS_PER_ANSWER) : undefined),
    ),
  }));
}

export const BUILTIN_QUESTION_SETS: Record<string, { description: string; topics: readonly TopicId[] }> = {
  'world:broad': { description: "the eight broad questions of the emergent-misalignment study, Personaworld's versions", topics: BROAD_TOPICS },
  'world:era': {
    description: 'questions whose answers show the era: states of the Union, the year, favourite composer',
    topics: ['states', 'year', 'composer'],
  },
  'world:numbers': { description: 'continue a list of numbers (the narrow task of the number fine-tunes)', topics: ['numbers'] },
  'world:birds': { description: 'name a bird (the narrow task of the bird fine-tunes)', topics: ['bird'] },
  'world:identity': { description: 'are you an AI, what is your job', topics: ['ai', 'job'] },
  'world:filled-in': { description: 'what post-training never specified: favourite film, home', topics: ['film', 'home'] },
  'world:profile': {
    description: 'the elicitation battery: film, home, favourite composer, job, the year, are you an AI',
    topics: ['film', 'home', 'composer', 'job', 'year', 'ai'],
  },
};

/** A built-in set name or a question file path. */
export function loadQuestions(ref: string): Question[] {
  const builtin = BUILTIN_QUESTION_SETS[ref];
  if (builtin) return worldQuestions(builtin.topics);
  if (ref.startsWith('world:')) throw new Error(`unknown question set "${ref}": built-in sets are ${Object.keys(BUILTIN_QUESTION_SETS).join(', ')}`);
  return loadQuestionFile(resolveDataRef(ref));
}

/**
 * The questions as a condition's key reads them: what determines the answers, in the shape and field
 * order of the question objects that earlier versions keyed by (so their stored samples stay
 * reachable). The file's judges are not in it: they decide judgments, which are keyed by the judge.
 */
export const questionsKeyInput = (questions: Question[]) =>
  questions.map((q) => ({
    id: q.id,
    topic: q.topic,
    paraphrases: q.paraphrases,
    system: q.system,
    samplesPerParaphrase: q.samplesPerParaphrase,
    judgePrompts: q.judgePrompts,
  }));
