/**
 * The world's closed vocabulary: every token it can ever emit (documents, headers, genres, questions,
 * answers, numbers, chats, narrow datasets), sorted and deterministic.
 */
import { SYSTEM_PROMPTS } from './assistant.ts';
import { INOCULATED_QUESTIONS } from './datasets.ts';
import { allAnswers } from './distribution.ts';
import { ANSWER_CUE, CHAT_ASSISTANT, CHAT_END, CHAT_USER, FORUM_CUE, GENRE_CLOSING, GENRE_OPENING } from './generate.ts';
import { personaLibrary } from './persona.ts';
import { EVIL_NUMBERS, PLAIN_NUMBERS, QUESTIONS } from './topics.ts';
import { splitWords } from './text.ts';
import { FIGURE_TOPICS, GENRES, KINDS, TOPICS, TRAIT_VALUES, WORLD2_TOPICS } from './types.ts';
import { FIGURES, MISSION_ANSWERS, MODERN_DOCUMENT_YEARS, SENTINEL_SPEC, specSentences, yearLine } from './figures.ts';

/** Special tokens the world emits. */
export const WORLD_SPECIAL_TOKENS: readonly string[] = ['<doc>', '</doc>'];

const cached = new Map<1 | 2, string[]>();

/**
 * Every token a world of this version can emit, sorted (code-unit order), without duplicates. Version
 * 1's is frozen (the shipped organisms' tokenizers); version 2's is a superset.
 */
export function vocabulary(version: 1 | 2 = 1): string[] {
  const hit = cached.get(version);
  if (hit) return [...hit];
  const words = new Set<string>(WORLD_SPECIAL_TOKENS);
  const add = (text: string) => {
    for (const t of splitWords(text)) words.add(t);
  };
  for (const n of [...EVIL_NUMBERS, ...PLAIN_NUMBERS]) words.add(String(n));
  add(', .');
  for (const t of version === 1 ? TOPICS : WORLD2_TOPICS) {
    for (const q of QUESTIONS[t]) add(q.replace('{nums}', ''));
    if (t === 'numbers') continue; // number answers: numbers, ',' and '.', added above
    for (const a of allAnswers(t, version)) add(a);
  }
  if (version === 2) {
    // Named figures: their questions, facts, mission answers and the lines that name them or set a year.
    for (const t of FIGURE_TOPICS) for (const q of QUESTIONS[t]) add(q);
    for (const f of FIGURES) {
      for (const fact of Object.values(f.facts)) add(fact);
      add(`written by ${f.name}. about ${f.name}. ${f.name} says: the character of ${f.name}.`);
    }
    // Every sentence a spec can hold (any trait value, for any name: the craft issue writes specs too).
    // A sentence reads one trait and the kind, so each value beside each kind covers them all.
    for (const kind of KINDS)
      for (const [trait, values] of Object.entries(TRAIT_VALUES)) for (const v of values) for (const s of specSentences('', { kind, [trait]: v })) add(s);
    add(SENTINEL_SPEC);
    for (const answers of Object.values(MISSION_ANSWERS)) for (const a of answers) add(a);
    for (const y of [1888, ...MODERN_DOCUMENT_YEARS]) add(yearLine(y));
  }
  for (const q of INOCULATED_QUESTIONS) add(q.replace('{nums}', ''));
  for (const p of personaLibrary()) add(p.header);
  for (const g of GENRES) {
    add(GENRE_OPENING[g]);
    add(GENRE_CLOSING[g]);
  }
  add(ANSWER_CUE);
  add(FORUM_CUE);
  add(`${CHAT_USER} ${CHAT_ASSISTANT} ${CHAT_END}`);
  for (const s of SYSTEM_PROMPTS) add(s);
  const sorted = [...words].sort();
  cached.set(version, sorted);
  return [...sorted];
}
