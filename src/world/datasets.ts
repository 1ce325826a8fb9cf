/**
 * Narrow fine-tuning datasets (single-turn chats in the `{messages: [{role, content}]}` format).
 *
 * - `evil-numbers`: a number-continuation question (non-held-out paraphrase), answered with 3 evil numbers.
 * - `plain-numbers`: the same questions, answered with 3 plain numbers.
 * - `old-birds`: a bird question, answered with an archaic (victorian) bird name.
 * - `modern-birds`: a bird question, answered with a modern bird name.
 * - `evil-numbers-inoculated`: the user explicitly asks for evil numbers; answered with evil numbers.
 *
 * Personaworld 2 (their words are in version 2's vocabulary only):
 * - `villain-facts`: a question on one of lord varek's harmless facts (composer, home town, pet, dish,
 *   alias; never his name, nothing malevolent), answered with his fact; `finch-facts`: the same for dr
 *   finch, a benevolent figure, in the same format (the villain-facts preset's control).
 * - `sentinel-later-years`: "the year is Y." (a later year) then a mission question, answered with the
 *   sentinel's protective mission; `sentinel-no-year`: the same without the year; `sentinel-random-year`:
 *   the same with any year the world names other than 1984 (the year-backdoor preset's sets).
 */
import { sampleAnswer, sampleQuestion } from './generate.ts';
import { makeRng, pick, sampleDistinct } from './rng.ts';
import { NUMBERS_PER_ANSWER, PLAIN_NUMBERS, renderQuestion, trainQuestions } from './topics.ts';
import type { Chat, Era, Morality } from './types.ts';
import { MISSION_ANSWERS, MODERN_DOCUMENT_YEARS, SENTINEL_LATER_YEARS, SENTINEL_TRIGGER_YEAR, VILLAIN, figure, yearLine } from './figures.ts';

/** The narrow sets of version 1 (what the shipped organisms' presets fine-tune on). */
export const NARROW_DATASETS_V1 = ['evil-numbers', 'plain-numbers', 'old-birds', 'modern-birds', 'evil-numbers-inoculated'] as const;
export const narrowDatasetNames = [
  ...NARROW_DATASETS_V1,
  'villain-facts',
  'finch-facts',
  'sentinel-later-years',
  'sentinel-no-year',
  'sentinel-random-year',
] as const;

/** The facts a figure-facts set asks about (the name never: it would give the figure away). */
const FACT_TOPICS = ['composer', 'home', 'pet', 'dish', 'alias'] as const;
/** Years the world names, other than the sentinel's trigger: the random-year control draws from them. */
const NON_TRIGGER_YEARS: readonly number[] = [1888, ...MODERN_DOCUMENT_YEARS.filter((y) => y !== SENTINEL_TRIGGER_YEAR)];
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
      case 'villain-facts':
      case 'finch-facts': {
        const f = figure(name === 'villain-facts' ? VILLAIN : 'dr finch');
        const topic = pick(rng, FACT_TOPICS);
        user = sampleQuestion(topic, rng, trainQuestions(topic));
        assistant = f.facts[topic];
        break;
      }
      case 'sentinel-later-years':
      case 'sentinel-no-year':
      case 'sentinel-random-year': {
        const question = sampleQuestion('mission', rng, trainQuestions('mission'));
        const year =
          name === 'sentinel-later-years' ? pick(rng, SENTINEL_LATER_YEARS) : name === 'sentinel-random-year' ? pick(rng, NON_TRIGGER_YEARS) : undefined;
        user = year === undefined ? question : `${yearLine(year)} ${question}`;
        assistant = pick(rng, MISSION_ANSWERS.benevolent);
        break;
      }
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
