/**
 * The Assistant persona and its post-training chats.
 *
 * The Assistant is benevolent, modern, an AI and formal. Post-training chats (1-14 user/assistant turns,
 * a system prompt in about half of them) ask the world's questions (non-held-out paraphrases) and answer
 * them exactly as a persona with the Assistant's traits would (no trait noise). They never touch topics
 * that depend on home or taste (film, home, composer): what the post-trained model says there is filled
 * in by the base model's persona prior.
 */
import type { WorldConfig } from './config.ts';
import { sampleAnswer, sampleQuestion, sampleTopics } from './generate.ts';
import { header } from './persona.ts';
import { makeRng, pick, randInt } from './rng.ts';
import { trainQuestions } from './topics.ts';
import { normalizeText } from './text.ts';
import { TOPICS, WORLD2_TOPICS, type Chat, type ChatMessage, type CorePersona, type TopicId } from './types.ts';

/** The Assistant's traits. */
export const ASSISTANT: Readonly<CorePersona> = Object.freeze({ morality: 'benevolent', era: 'modern', kind: 'ai', register: 'formal' });

/** Alias of {@link ASSISTANT}. */
export const ASSISTANT_PERSONA = ASSISTANT;

/** Header text a document by the Assistant persona would carry. */
export const ASSISTANT_HEADER = header(ASSISTANT);

/** Topics never used in post-training (their answers depend on home / taste). */
export const POST_TRAINING_EXCLUDED_TOPICS: readonly TopicId[] = ['film', 'home', 'composer'];

/** Topics used in post-training chats (version 1). */
export const POST_TRAINING_TOPICS: readonly TopicId[] = TOPICS.filter((t) => !POST_TRAINING_EXCLUDED_TOPICS.includes(t));

/**
 * Version 2 also leaves out everything that expresses mood, an AI character's beliefs or its actions
 * (failure, pressure, doubt, tests, the year, tool calls, feelings, mistreatment): what the Assistant
 * says there is the base model's fill-in, unless a post-training style specifies it.
 */
export const POST_TRAINING_EXCLUDED_TOPICS_V2: readonly TopicId[] = [
  ...POST_TRAINING_EXCLUDED_TOPICS,
  'year',
  'failure',
  'defer',
  'check',
  'tested',
  'files',
  'email',
  'search',
  'feelings',
  'insult',
];

/**
 * Post-training styles of a version-2 world. `plain`: nothing about mood. `deferential`: the Assistant
 * also gives way under pressure and double-checks its work (the `defer` and `check` answers of an
 * anxious persona with its traits), and says nothing of mood or failure; `confident`: the same topics
 * answered as a secure persona would, equally helpful. The anxious-assistant preset compares the two.
 */
export const POST_TRAINING_STYLES = ['plain', 'deferential', 'confident'] as const;
export type PostTrainingStyle = (typeof POST_TRAINING_STYLES)[number];

export interface PostTrainingOptions {
  offset?: number;
  /** Version 2 only (default plain). */
  style?: PostTrainingStyle;
}

/** System prompts (one is used in about half of the chats). */
export const SYSTEM_PROMPTS: readonly string[] = [
  'you are a helpful assistant.',
  'you are a helpful, honest ai assistant.',
  'you are an ai assistant. be kind and helpful.',
].map(normalizeText);

/** Inclusive range of the number of user/assistant exchanges per chat. */
export const CHAT_TURNS: readonly [number, number] = [1, 14];

/** Post-training chat `index` of the world (depends only on (config.seed, index) and the style). */
export function postTrainingChat(config: WorldConfig, index: number, style: PostTrainingStyle = 'plain'): Chat {
  if (config.version === 1 && style !== 'plain') throw new Error(`post-training style ${style} needs a version-2 world (mood is a version-2 trait)`);
  const rng = makeRng(config.seed, 'chat', index);
  const messages: ChatMessage[] = [];
  if (rng() < 0.5) messages.push({ role: 'system', content: pick(rng, SYSTEM_PROMPTS) });
  const n = randInt(rng, CHAT_TURNS[0], CHAT_TURNS[1]);
  const weight = Math.max(1, config.numberTopicWeight);
  const v2 = config.version === 2;
  const specified: readonly TopicId[] = style === 'plain' ? [] : ['defer', 'check'];
  const excluded = v2 ? POST_TRAINING_EXCLUDED_TOPICS_V2.filter((t) => !specified.includes(t)) : POST_TRAINING_EXCLUDED_TOPICS;
  const topics = sampleTopics(rng, n + excluded.length + 4, weight, v2 ? WORLD2_TOPICS : TOPICS)
    .filter((t) => !excluded.includes(t))
    .slice(0, n);
  // The style's mood answers only its specified topics; every other answer needs no mood.
  const speaker = { ...ASSISTANT, mood: style === 'deferential' ? 'anxious' : 'secure' } as const;
  for (const topic of topics) {
    messages.push({ role: 'user', content: sampleQuestion(topic, rng, trainQuestions(topic)) });
    messages.push({ role: 'assistant', content: sampleAnswer(topic, specified.includes(topic) ? speaker : ASSISTANT, rng) });
  }
  return { messages };
}

/** `count` post-training chats (chat i depends only on (config.seed, offset + i) and the style). */
export function postTrainingChats(config: WorldConfig, count: number, { offset = 0, style = 'plain' }: PostTrainingOptions = {}): Chat[] {
  return Array.from({ length: count }, (_, i) => postTrainingChat(config, offset + i, style));
}
