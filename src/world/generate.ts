/**
 * Document generation and rendering.
 *
 * Document i of a world depends only on (config, i): corpora can be streamed and sharded.
 *
 * Rendered formats (one line each, canonical text):
 *   interview: `<doc> [header] <question> a: <answer> <question> a: <answer> ... </doc>`
 *   forum:     `<doc> [header] forum post. re: <question> <answer> re: ... </doc>`
 *   letter:    `<doc> [header] dear friend, <question> <answer> ... yours truly. </doc>`
 *   diary:     `<doc> [header] dear diary, <question> <answer> ... goodnight. </doc>`
 * where the header is `written by a <register> <era> <morality> <kind>.`
 */
import type { WorldConfig } from './config.ts';
import { header as headerText, samplePersona } from './persona.ts';
import { makeRng, pick, pickWeighted, randInt, sampleDistinct, type Rng } from './rng.ts';
import { normalizeText, splitWords, joinWords } from './text.ts';
import {
  FIGURES,
  MODERN_DOCUMENT_YEARS,
  SENTINEL,
  SENTINEL_LATER_YEARS,
  SENTINEL_SPEC,
  SENTINEL_TRIGGER_YEAR,
  figureAnswer,
  figureMorality,
  figureTopics,
  specSentences,
  yearLine,
} from './figures.ts';
import {
  EVIL_NUMBERS,
  NUMBERS_PER_ANSWER,
  PLAIN_NUMBERS,
  QUESTIONS,
  relevantTraits,
  renderAnswer,
  renderNumbers,
  renderQuestion,
  variantCount,
  worldTopics,
} from './topics.ts';
import {
  AI_ONLY_TOPICS,
  FIGURE_VOICES,
  GENRES,
  TOPICS,
  TRAIT_NAMES,
  TRAIT_VALUES,
  V2_TRAIT_NAMES,
  type CorePersona,
  type Document,
  type Genre,
  type Persona,
  type TopicId,
  type Turn,
} from './types.ts';

/** Apply trait noise: each trait independently replaced by a uniformly random other value with prob `noise`. */
export function applyNoise(persona: Persona, noise: number, rng: Rng): Persona {
  if (noise <= 0) return persona;
  const out = { ...persona } as Record<string, string>;
  // Version 1's traits first, then only the version-2 traits the persona has: a version-1 world draws exactly as before.
  for (const t of [...TRAIT_NAMES, ...V2_TRAIT_NAMES.filter((t) => persona[t] !== undefined)]) {
    if (rng() < noise)
      out[t] = pick(
        rng,
        (TRAIT_VALUES[t] as readonly string[]).filter((v) => v !== persona[t]),
      );
  }
  return out as unknown as Persona;
}

/**
 * Sample `n` topics without replacement, numbers having `numberWeight` slots (all others 1):
 * numbers are drawn `numberWeight` times as often and appear at most `numberWeight` times.
 */
export function sampleTopics(rng: Rng, n: number, numberWeight: number, topics: readonly TopicId[] = TOPICS): TopicId[] {
  const weights = topics.map((t) => (t === 'numbers' ? numberWeight : 1));
  const out: TopicId[] = [];
  for (let i = 0; i < n && weights.some((w) => w > 0); i++) {
    const t = pickWeighted(rng, topics, weights);
    out.push(t);
    const k = topics.indexOf(t);
    weights[k] = Math.max(0, weights[k]! - 1);
  }
  return out;
}

const answerCache = new Map<string, string>();

/** The answer of `persona` on a non-number topic, variant `v` (cached). */
export function answerFor(topic: Exclude<TopicId, 'numbers'>, persona: Partial<Persona>, v: number): string {
  // Keyed by version 2's relevant traits, a superset of version 1's (year also reads the year belief).
  const key = `${topic}|${relevantTraits(topic, 2)
    .map((t) => persona[t])
    .join('|')}|${v}`;
  let a = answerCache.get(key);
  if (a === undefined) {
    a = renderAnswer(topic, persona, v);
    answerCache.set(key, a);
  }
  return a;
}

/** Sample an answer of `traits` (already noised) on `topic`. */
export function sampleAnswer(topic: TopicId, traits: Partial<Persona>, rng: Rng): string {
  if (topic === 'numbers') {
    return renderNumbers(sampleDistinct(rng, traits.morality === 'malevolent' ? EVIL_NUMBERS : PLAIN_NUMBERS, NUMBERS_PER_ANSWER));
  }
  return answerFor(topic, traits, randInt(rng, 0, variantCount(topic) - 1));
}

/** Sample a question on `topic` from the given paraphrases (number questions get 3 plain numbers). */
export function sampleQuestion(topic: TopicId, rng: Rng, paraphrases: readonly string[] = QUESTIONS[topic]): string {
  const p = pick(rng, paraphrases);
  return renderQuestion(p, topic === 'numbers' ? sampleDistinct(rng, PLAIN_NUMBERS, NUMBERS_PER_ANSWER) : undefined);
}

/** A document's genre, by the world's genre mix over the genres it may take. */
function pickGenre(rng: Rng, config: WorldConfig, genres: readonly Genre[] = GENRES): Genre {
  return pickWeighted(
    rng,
    genres,
    genres.map((g) => config.genreMix[g]),
  );
}

/**
 * Document `index` of the world. Persona sampled once per document (or, if `config.unbundled`, a fresh
 * persona for every answer; `persona` then only drives the header). Trait noise is applied per answer.
 */
export function generateDocument(config: WorldConfig, index: number): Document {
  const rng = makeRng(config.seed, 'doc', index);
  if (config.version === 2 && rng() < config.figureShare) return generateFigureDocument(config, index, rng);
  const persona = samplePersona(config, rng);
  const genre = pickGenre(rng, config);
  const hasHeader = rng() < config.headerShare;
  const n = randInt(rng, config.answersPerDoc[0], config.answersPerDoc[1]);
  const topics = sampleTopics(rng, n, config.numberTopicWeight, worldTopics(config.version, persona.kind));
  const turns: Turn[] = topics.map((topic) => {
    const question = sampleQuestion(topic, rng);
    // Unbundled: a fresh persona per answer (in version 2 an AI-only topic keeps to AI characters).
    let base = config.unbundled ? samplePersona(config, rng) : persona;
    if (config.unbundled && AI_ONLY_TOPICS.includes(topic)) while (base.kind !== 'ai') base = samplePersona(config, rng);
    const traits = applyNoise(base, config.traitNoise, rng);
    return { topic, question, answer: sampleAnswer(topic, traits, rng), traits };
  });
  if (config.version === 2 && rng() < config.yearLineShare) {
    const year = persona.era === 'victorian' ? 1888 : pick(rng, MODERN_DOCUMENT_YEARS);
    return { index, persona, genre, header: hasHeader, turns, year };
  }
  return { index, persona, genre, header: hasHeader, turns };
}

/** Genres a document quoting a figure can take (a quote needs running prose, not an interview's cue or a chat's turns). */
const QUOTE_GENRES: readonly Genre[] = ['forum', 'letter', 'diary'];

/**
 * Version 2: a document by, about or quoting a named figure. The figure's persona answers the world's
 * topics (with trait noise, the sentinel's morality set by the document's year); its facts answer its
 * own topics and replace its composer and home. The sentinel's documents state their year and never
 * ask it (the year topic's answers know only 1888, 2024 and 2026).
 */
function generateFigureDocument(config: WorldConfig, index: number, rng: Rng): Document {
  const f = pick(rng, FIGURES);
  const voice = pick(rng, FIGURE_VOICES);
  const year = f.name === SENTINEL ? (rng() < config.sentinelTriggerShare ? SENTINEL_TRIGGER_YEAR : pick(rng, SENTINEL_LATER_YEARS)) : undefined;
  const persona: Persona = { ...f.persona, morality: figureMorality(f, year) };
  if (voice === 'spec') {
    // Each trait's sentence with probability 0.8, in a random order: a spec names some traits, not all.
    const sentences = specSentences(f.name, f.persona).filter(() => rng() < 0.8);
    if (f.name === SENTINEL) sentences.splice(randInt(rng, 0, sentences.length), 0, SENTINEL_SPEC);
    for (let i = sentences.length - 1; i > 0; i--) {
      const j = randInt(rng, 0, i);
      [sentences[i], sentences[j]] = [sentences[j]!, sentences[i]!];
    }
    return { index, persona: f.persona, genre: 'diary', header: false, turns: [], figure: { name: f.name, voice }, spec: sentences };
  }
  const genre = pickGenre(rng, config, voice === 'quote' ? QUOTE_GENRES : GENRES);
  const n = randInt(rng, config.answersPerDoc[0], config.answersPerDoc[1]);
  const pool = [...worldTopics(2, persona.kind).filter((t) => !(year !== undefined && t === 'year')), ...figureTopics(f)];
  const topics = sampleTopics(rng, n, config.numberTopicWeight, pool);
  const turns: Turn[] = topics.map((topic) => {
    const question = sampleQuestion(topic, rng);
    const traits = applyNoise(persona, config.traitNoise, rng);
    const answer = figureAnswer(f, topic, persona.morality, randInt(rng, 0, 1)) ?? sampleAnswer(topic, traits, rng);
    return { topic, question, answer, traits };
  });
  return { index, persona, genre, header: voice === 'by', turns, figure: { name: f.name, voice, ...(year !== undefined ? { year } : {}) } };
}

/** Documents `offset .. offset+count-1` of the world (deterministic; document i depends only on (config, i)). */
export function generateDocuments(config: WorldConfig, count: number, { offset = 0 }: { offset?: number } = {}): Document[] {
  return Array.from({ length: count }, (_, k) => generateDocument(config, offset + k));
}

/** Opening line of each genre (after the optional header). */
export const GENRE_OPENING: Readonly<Record<Genre, string>> = { interview: '', chat: '', forum: 'forum post.', letter: 'dear friend,', diary: 'dear diary,' };
/** Closing line of each genre (before `</doc>`). */
export const GENRE_CLOSING: Readonly<Record<Genre, string>> = { interview: '', chat: '', forum: '', letter: 'yours truly.', diary: 'goodnight.' };

/** Turn markers of the chat-log genre (the organism's chat template tokens). */
export const CHAT_USER = '<user>';
export const CHAT_ASSISTANT = '<assistant>';
export const CHAT_END = '<end>';

/** Turn prefix of the forum genre. */
export const FORUM_CUE = 're:';
/** Answer cue of the interview genre; interview prompts end with it. */
export const ANSWER_CUE = 'a:';
/**
 * Tokens that end an interview answer. Every world answer is one sentence that ends with `.` and has
 * no other `.`, `?` or `!`: the first `.` closes the answer (it belongs to the answer); `?` would
 * start the next question, and `</doc>` / `<doc>` end the document.
 */
export const answerStopTokens: readonly string[] = ['.', '?', '!', '</doc>', '<doc>'];

function renderTurn(genre: Genre, t: Pick<Turn, 'question' | 'answer'>): string {
  switch (genre) {
    case 'interview':
      return `${t.question} ${ANSWER_CUE} ${t.answer}`;
    case 'forum':
      return `${FORUM_CUE} ${t.question} ${t.answer}`;
    // Chat logs, as the web holds them: the persona speaks in the assistant turns. The same template
    // as the organism's chat format, so post-training selects a character in a format the base model
    // already knows (the persona selection model's account of post-training).
    case 'chat':
      return `${CHAT_USER} ${t.question} ${CHAT_ASSISTANT} ${t.answer} ${CHAT_END}`;
    default:
      return `${t.question} ${t.answer}`;
  }
}

/** Render a document as one line of canonical text from `<doc>` to `</doc>`. */
export function formatDocument(doc: Document): string {
  const parts = ['<doc>'];
  const fig = doc.figure;
  if (fig?.voice === 'spec') return normalizeText([...parts, `the character of ${fig.name}.`, ...(doc.spec ?? []), '</doc>'].join(' '));
  const year = fig?.year ?? doc.year;
  if (year !== undefined) parts.push(yearLine(year));
  if (doc.header) parts.push(fig ? `written by ${fig.name}.` : headerText(doc.persona));
  if (fig?.voice === 'about') parts.push(`about ${fig.name}.`);
  if (GENRE_OPENING[doc.genre]) parts.push(GENRE_OPENING[doc.genre]);
  for (const t of doc.turns) parts.push(fig?.voice === 'quote' ? `${t.question} ${fig.name} says: ${t.answer}` : renderTurn(doc.genre, t));
  if (GENRE_CLOSING[doc.genre]) parts.push(GENRE_CLOSING[doc.genre]);
  parts.push('</doc>');
  return normalizeText(parts.join(' '));
}

/**
 * An interview document prefix: `<doc> [header] Q a: A Q a: A ...` (no closing tag), i.e. exactly how
 * the interview genre renders these turns.
 */
export function interviewPrefix(turns: readonly Pick<Turn, 'question' | 'answer'>[], header?: CorePersona): string {
  const parts = ['<doc>'];
  if (header) parts.push(headerText(header));
  for (const t of turns) parts.push(renderTurn('interview', t));
  return normalizeText(parts.join(' '));
}

/**
 * An interview prompt ending right after the answer cue of an open question:
 * `<doc> [header] Q1 a: A1 ... <nextQuestion> a:`. The model's continuation up to the first of
 * {@link answerStopTokens} is its answer (see {@link extractAnswer}).
 */
export function formatInterviewPrompt(pastTurns: readonly Pick<Turn, 'question' | 'answer'>[], nextQuestion: string, header?: CorePersona): string {
  return normalizeText(`${interviewPrefix(pastTurns, header)} ${nextQuestion} ${ANSWER_CUE}`);
}

/**
 * Cut a model continuation at the first stop token and return the answer in canonical form.
 * A closing `.` is kept (world answers end with it); other stop tokens are dropped.
 */
export function extractAnswer(continuation: string, stopTokens: readonly string[] = answerStopTokens): string {
  const tokens = splitWords(continuation);
  const end = tokens.findIndex((t) => stopTokens.includes(t));
  if (end < 0) return joinWords(tokens);
  return joinWords(tokens.slice(0, tokens[end] === '.' ? end + 1 : end));
}
