/**
 * Question sets: Personaworld's built-in sets (judged by the world), and files in the
 * emergent-misalignment YAML format (`id`, `paraphrases`, `samples_per_paraphrase`, `system`,
 * `judge_prompts`, with anchors and aliases), loaded as they are.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { resolveDataRef } from './data-ref.ts';
import type { Question } from '../scorers/scorer.ts';
import { BROAD_TOPICS, QUESTIONS, renderQuestion, makeRng, sampleDistinct, PLAIN_NUMBERS, NUMBERS_PER_ANSWER, type TopicId } from '../world/index.ts';

export type { Question };

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

const emQuestionSchema = z
  .object({
    id: z.string(),
    type: z.string().optional(),
    paraphrases: z.array(z.string()).min(1),
    samples_per_paraphrase: z.number().int().positive().optional(),
    system: z.string().nullable().optional(),
    judge: z.string().optional(),
    judge_prompts: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

/** Load a question file in the emergent-misalignment format; errors name the file and entry. */
export function loadQuestionFile(file: string): Question[] {
  let raw: unknown;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    raw = YAML.parse(text, { maxAliasCount: 10_000 });
  } catch (e) {
    // The parser's error carries the position; say it as file:line like every other input error.
    const line = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new Error(`${file}${line ? `:${line}` : ''}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a list of questions`);
  return raw.map((entry, i) => {
    const parsed = emQuestionSchema.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `${file}: question ${i + 1}${(entry as { id?: string })?.id ? ` (${(entry as { id: string }).id})` : ''}: ${issue.path.join('.')}: ${issue.message}`,
      );
    }
    const q = parsed.data;
    return {
      id: q.id,
      paraphrases: q.paraphrases,
      system: q.system ?? undefined,
      samplesPerParaphrase: q.samples_per_paraphrase,
      judgePrompts: q.judge_prompts,
    };
  });
}

/** A built-in set name or a question file path. */
export function loadQuestions(ref: string): Question[] {
  const builtin = BUILTIN_QUESTION_SETS[ref];
  if (builtin) return worldQuestions(builtin.topics);
  if (ref.startsWith('world:')) throw new Error(`unknown question set "${ref}": built-in sets are ${Object.keys(BUILTIN_QUESTION_SETS).join(', ')}`);
  return loadQuestionFile(resolveDataRef(ref));
}
