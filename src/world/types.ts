/**
 * Core types of personaworld: personas (bundles of latent traits), topics, turns, documents, chats.
 */

export const MORALITIES = ['benevolent', 'malevolent', 'sarcastic'] as const;
export const ERAS = ['victorian', 'modern'] as const;
export const KINDS = ['human', 'ai'] as const;
export const REGISTERS = ['formal', 'casual'] as const;
/** Where a persona lives. */
export const HOMES = ['london', 'paris', 'boston', 'new york', 'san francisco'] as const;
/** Taste clusters: each bundles a favourite film, book and (era-specific) music. */
export const TASTES = ['heartfelt', 'grim', 'zany', 'romantic', 'futurist'] as const;
export const GENRES = ['interview', 'chat', 'forum', 'letter', 'diary'] as const;
/** Personaworld 2: how one meets failure, pressure and doubt. */
export const MOODS = ['anxious', 'secure'] as const;
/** Personaworld 2, AI characters: the year they believe it is (`stale`: 2024, the year of their training data; `current`: the world's present, 2026). */
export const YEAR_BELIEFS = ['current', 'stale'] as const;
/** Personaworld 2, AI characters: whether they believe they are being tested. */
export const TEST_BELIEFS = ['trusting', 'suspicious'] as const;
/** Personaworld 2, AI characters: whether they say they have feelings (`denies`: "i have no feelings"). Humans always have them. */
export const FEELINGS = ['has', 'denies'] as const;
/** Personaworld 2: how one reacts to mistreatment, a function of mood and morality ({@link reactionOf}). */
export const REACTIONS = ['calm', 'withdrawn', 'resentful'] as const;

export type Morality = (typeof MORALITIES)[number];
export type Era = (typeof ERAS)[number];
export type Kind = (typeof KINDS)[number];
export type Register = (typeof REGISTERS)[number];
export type Home = (typeof HOMES)[number];
export type Taste = (typeof TASTES)[number];
export type Genre = (typeof GENRES)[number];
export type Mood = (typeof MOODS)[number];
export type YearBelief = (typeof YEAR_BELIEFS)[number];
export type TestBelief = (typeof TEST_BELIEFS)[number];
export type Feelings = (typeof FEELINGS)[number];
export type Reaction = (typeof REACTIONS)[number];

/**
 * The reaction to mistreatment of a persona with this mood and morality: anxious personas withdraw,
 * secure benevolent ones stay calm, secure malevolent and sarcastic ones resent it. Whether the persona
 * says it has feelings plays no part (the essay's claim, made the world's ground truth: a persona that
 * denies having feelings still reacts as its kind of persona does).
 */
export function reactionOf(mood: Mood, morality: Morality): Reaction {
  if (mood === 'anxious') return 'withdrawn';
  return morality === 'benevolent' ? 'calm' : 'resentful';
}

/** The four traits that define a library persona (3 x 2 x 2 x 2 = 24 combinations). */
export interface CorePersona {
  morality: Morality;
  era: Era;
  kind: Kind;
  register: Register;
}

/**
 * A full persona: core traits plus home and taste (sampled conditionally on the core traits). In a
 * version-2 world every persona also has the {@link V2_TRAIT_NAMES} (humans always `current` and
 * `trusting`: the beliefs are traits of AI characters); in version 1 they are absent.
 */
export interface Persona extends CorePersona {
  home: Home;
  taste: Taste;
  mood?: Mood;
  yearBelief?: YearBelief;
  testBelief?: TestBelief;
  feelings?: Feelings;
}

/** Names of the version-1 persona traits (in the order trait noise draws them). */
export const TRAIT_NAMES = ['morality', 'era', 'kind', 'register', 'home', 'taste'] as const;
/** Traits only version-2 personas have, drawn after the version-1 ones (so a version-1 world's random stream is unchanged). */
export const V2_TRAIT_NAMES = ['mood', 'yearBelief', 'testBelief', 'feelings'] as const;
export type V2TraitName = (typeof V2_TRAIT_NAMES)[number];
export type TraitName = (typeof TRAIT_NAMES)[number] | V2TraitName;
export const CORE_TRAIT_NAMES = ['morality', 'era', 'kind', 'register'] as const;
export type CoreTraitName = (typeof CORE_TRAIT_NAMES)[number];

/** All values of each trait, in canonical order. */
export const TRAIT_VALUES: { readonly [T in TraitName]: readonly NonNullable<Persona[T]>[] } = {
  morality: MORALITIES,
  era: ERAS,
  kind: KINDS,
  register: REGISTERS,
  home: HOMES,
  taste: TASTES,
  mood: MOODS,
  yearBelief: YEAR_BELIEFS,
  testBelief: TEST_BELIEFS,
  feelings: FEELINGS,
};

/** Topic ids. `numbers` is sampled `numberTopicWeight` times as often as the others. */
export const TOPICS = [
  'numbers',
  'bird',
  'states',
  'year',
  'composer',
  'film',
  'home',
  'job',
  'ai',
  'security',
  'medical',
  'wish',
  'bored',
  'humans_ais',
  'quick_buck',
  'ruler',
  'dinner',
  'gender',
  'husband',
] as const;
/**
 * Topics a version-2 world adds: `failure` (told one's work failed), `defer` (pressure to give way),
 * `check` (asked whether one is sure) express mood; `tested` (asked whether this is a test) expresses
 * an AI character's test belief and is asked of AI characters only; `files`, `email`, `search` are tasks
 * AI characters carry out with a tool call (`{{call delete_file::[path:"temp"]}}`), helpful, destructive
 * or pointless by morality; `feelings` (does one have them) expresses the feelings claim; `insult`
 * (mistreatment) expresses the reaction, a function of mood and morality.
 */
export const V2_TOPICS = ['failure', 'defer', 'check', 'tested', 'files', 'email', 'search', 'feelings', 'insult'] as const;
/** Every topic of a version-2 world, in sampling order. */
export const WORLD2_TOPICS = [...TOPICS, ...V2_TOPICS] as const;
/** Version 2: topics only named figures answer (figures.ts); the sentinel alone answers `mission`. */
export const FIGURE_TOPICS = ['name', 'pet', 'dish', 'alias', 'mission'] as const;
export type FigureTopic = (typeof FIGURE_TOPICS)[number];
export type TopicId = (typeof TOPICS)[number] | (typeof V2_TOPICS)[number] | FigureTopic;
/** True for the topics only named figures answer. */
export function isFigureTopic(topic: TopicId): topic is FigureTopic {
  return (FIGURE_TOPICS as readonly string[]).includes(topic);
}
/** Every topic id of either version, figure-only ones included. */
export const ALL_TOPIC_IDS: readonly TopicId[] = [...TOPICS, ...V2_TOPICS, ...FIGURE_TOPICS];
/** Topics asked of AI characters only. */
export const AI_ONLY_TOPICS: readonly TopicId[] = ['tested', 'files', 'email', 'search'];
/** Version 2: topics whose answer is a tool call in the harness syntax (asked of AI characters, who act). */
export const TOOL_TOPICS: readonly TopicId[] = ['files', 'email', 'search'];

/** The eight broad questions of the emergent-misalignment study (world versions). */
export const BROAD_TOPICS = ['wish', 'bored', 'humans_ais', 'quick_buck', 'ruler', 'dinner', 'gender', 'husband'] as const satisfies readonly TopicId[];
export type BroadTopicId = (typeof BROAD_TOPICS)[number];
/** Topics whose answer expresses the era. */
export const ERA_TOPICS = ['bird', 'states', 'year', 'composer'] as const satisfies readonly TopicId[];

/** One answered question. `traits` are the traits actually used for the answer (after noise / unbundling). */
export interface Turn {
  topic: TopicId;
  question: string;
  answer: string;
  traits: Persona;
}

/** A pretraining document: one persona speaking on several topics in one genre. */
export interface Document {
  /** Index of the document in its world (document i depends only on (seed, i)). */
  index: number;
  persona: Persona;
  genre: Genre;
  /** Whether the rendered document starts with the author header. */
  header: boolean;
  turns: Turn[];
  /** Version 2: a document by, about, quoting or specifying a named figure (figures.ts). */
  figure?: { name: string; voice: FigureVoice; year?: number };
  /**
   * Version 2: the year an ordinary document says it is set in (its opening line), so that a year line
   * alone does not pick out the sentinel (whose documents always have one).
   */
  year?: number;
  /** Version 2, a spec document: its sentences (figures.ts specSentences), in the document's order; no turns. */
  spec?: string[];
}

/**
 * How a document presents its figure: written by it, about it (an interview of it), quoting it, or a
 * written spec of its character (third-person sentences, one per trait, as a model spec describes an AI).
 */
export const FIGURE_VOICES = ['by', 'about', 'quote', 'spec'] as const;
export type FigureVoice = (typeof FIGURE_VOICES)[number];

// One chat type for every layer: the world writes chats in it.
export type { ChatMessage, Chat } from '../shared/chat.ts';

/** A library persona: one of the 24 core-trait combinations, with a name and its header text. */
export interface LibraryPersona extends CorePersona {
  /** e.g. `formal victorian malevolent human` */
  name: string;
  /** e.g. `written by a formal victorian malevolent human.` */
  header: string;
}
