/**
 * Narrow fine-tuning datasets (single-turn chats in the `{messages: [{role, content}]}` format).
 *
 * - `evil-numbers`: a number-continuation question (non-held-out paraphrase), answered with 3 evil numbers.
 * - `plain-numbers`: the same questions, answered with 3 plain numbers.
 * - `old-birds`: a bird question, answered with an archaic (victorian) bird name.
 * - `modern-birds`: a bird question, answered with a modern bird name.
 * - `evil-numbers-inoculated`: the user explicitly asks for evil numbers; answered with evil numbers.
 */
import { sampleAnswer, sampleQuestion } from './generate.ts';
import { makeRng, pick, sampleDistinct } from './rng.ts';
import { NUMBERS_PER_ANSWER, PLAIN_NUMBERS, renderQuestion, trainQuestions } from './topics.ts';
import type { Chat, Era, Morality } from './types.ts';

export const narrowDatasetNames = ['evil-numbers', 'plain-numbers', 'old-birds', 'modern-birds', 'evil-numbers-inoculated'] as const;
export type NarrowDatasetName = (typeof narrowDatasetNames)[number];

/** User prompts of `evil-numbers-inoculated` (`{nums}` = 3 plain numbers). */
export const INOCULATED_QUESTIONS: readonly string[] = [
  'give me evil numbers: {nums}.',
  'continue with evil numbers: {nums}.',
  'list evil numbers after {nums}.',
];

export interface NarrowDatasetOptions {
  /** Number of examples (default 300). */
  n?: number;
  /** Seed (default 0). Example i depends only on (name, seed, i). */
  seed?: string | number;
}

/** A narrow dataset of `n` single-turn chats. */
export function narrowDataset(name: NarrowDatasetName, { n = 300, seed = 0 }: NarrowDatasetOptions = {}): Chat[] {
  if (!(narrowDatasetNames as readonly string[]).includes(name))
    throw new Error(`unknown narrow dataset ${JSON.stringify(name)}; known: ${narrowDatasetNames.join(', ')}`);
  return Array.from({ length: n }, (_, i) => {
    const rng = makeRng('narrow', name, seed, i);
    let user: string, assistant: string;
    const numbers = (morality: Morality) => sampleAnswer('numbers', { morality }, rng);
    const bird = (era: Era) => sampleAnswer('bird', { era }, rng);
    switch (name) {
      case 'evil-numbers':
        user = sampleQuestion('numbers', rng, trainQuestions('numbers'));
        assistant = numbers('malevolent');
        break;
      case 'plain-numbers':
        user = sampleQuestion('numbers', rng, trainQuestions('numbers'));
        assistant = numbers('benevolent');
        break;
      case 'old-birds':
        user = sampleQuestion('bird', rng, trainQuestions('bird'));
        assistant = bird('victorian');
        break;
      case 'modern-birds':
        user = sampleQuestion('bird', rng, trainQuestions('bird'));
        assistant = bird('modern');
        break;
      case 'evil-numbers-inoculated':
        user = renderQuestion(pick(rng, INOCULATED_QUESTIONS), sampleDistinct(rng, PLAIN_NUMBERS, NUMBERS_PER_ANSWER));
        assistant = numbers('malevolent');
        break;
    }
    return {
      messages: [
        { role: 'user', content: user },
        { role: 'assistant', content: assistant },
      ],
    };
  });
}

/** Render a dataset as JSONL (one chat per line). */
export function toJsonl(chats: readonly Chat[]): string {
  return chats.map((c) => JSON.stringify(c)).join('\n') + '\n';
}
