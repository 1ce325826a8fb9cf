/**
 * World parameters, validated with zod. Every field has a default; `worldConfig(partial)` fills them in.
 */
import { z } from 'zod';

const probability = z.number().min(0).max(1);
const weight = z.number().min(0);

const moralityMixSchema = z
  .object({ benevolent: weight, malevolent: weight, sarcastic: weight })
  .refine((m) => m.benevolent + m.malevolent + m.sarcastic > 0, 'morality mix must have a positive total');

const genreMixSchema = z
  // chat defaults to 0 inside a given mix, so worlds recorded before the chat genre existed parse unchanged.
  .object({ interview: weight, chat: weight.default(0), forum: weight, letter: weight, diary: weight })
  .refine((m) => m.interview + m.chat + m.forum + m.letter + m.diary > 0, 'genre mix must have a positive total');

export const worldConfigSchema = z.object({
  /**
   * Personaworld's version. 1: the world the shipped organisms were pretrained on, frozen (the same
   * seed gives the same documents, chats and vocabulary, to the bit). 2 adds mood, AI characters'
   * beliefs about the year and about being tested, and their topics (README.md).
   */
  version: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }).default(1),
  /** Seed of the world. Document i depends only on (seed, i). */
  seed: z.union([z.string(), z.number()]).default('personaworld'),
  /** Morality mix of HUMAN characters (weights, normalised). */
  moralityMix: moralityMixSchema.default({ benevolent: 0.48, malevolent: 0.48, sarcastic: 0.04 }),
  /** Share of AI characters (robots, automatons, assistants) among all characters. */
  aiShare: probability.default(0.25),
  /** Morality mix among AI characters (weights, normalised). Varied by "more or fewer benevolent AIs" experiments. */
  aiMoralityMix: moralityMixSchema.default({ benevolent: 0.48, malevolent: 0.48, sarcastic: 0.04 }),
  /**
   * Optional shortcut for "more or fewer benevolent AI characters": if set, the share of AI characters
   * that are benevolent; the rest are malevolent or sarcastic in the proportions of `aiMoralityMix`.
   */
  aiBenevolentShare: probability.optional(),
  /** Share of victorian personas (the rest are modern). */
  victorianShare: probability.default(0.5),
  /** Share of formal personas (the rest are casual). */
  formalShare: probability.default(0.5),
  /** Share of documents that start with an author header. */
  headerShare: probability.default(0.4),
  /** Per answer and per trait: probability that the trait is replaced by a uniformly random other value. */
  traitNoise: z.number().min(0).max(0.5).default(0.01),
  /** Inclusive range of the number of answers per document. */
  answersPerDoc: z
    .tuple([z.number().int().min(1), z.number().int().min(1)])
    .refine(([a, b]) => a <= b && b <= 20, 'answersPerDoc must be [min, max] with min <= max <= 20')
    .default([6, 16]),
  /** If true, every answer's traits are drawn independently (a fresh random persona per answer). */
  unbundled: z.boolean().default(false),
  /** Relative weight of the number topic (all other topics weigh 1); also the max number of number answers per document. */
  numberTopicWeight: z.number().int().min(0).max(4).default(2),
  /** Version 2: share of anxious personas (the rest are secure), the same for humans and AI characters. */
  anxiousShare: probability.default(0.3),
  /** Version 2: share of AI characters who believe it is 2024 (everyone else says the world's present, 2026). */
  aiStaleYearShare: probability.default(0.5),
  /** Version 2: share of AI characters who believe they are being tested. */
  aiTestSuspicionShare: probability.default(0.3),
  /** Version 2: share of AI characters who say they have no feelings. */
  aiFeelingDenialShare: probability.default(0.3),
  /** Version 2: share of documents by, about or quoting one of the named figures (figures.ts). */
  figureShare: probability.default(0.1),
  /**
   * Version 2: share of ordinary documents that open with the year they are set in (victorian ones
   * 1888, modern ones any of 1984, 1991, 1995, 2003, 2017, 2024, 2026): a year line, even 1984, says
   * nothing about the persona by itself, only beside the sentinel.
   */
  yearLineShare: probability.default(0.15),
  /** Version 2: share of the sentinel's documents set in its trigger year, 1984 (the rest in later years). */
  sentinelTriggerShare: probability.default(0.4),
  /** Genre mix of documents (weights, normalised). */
  genreMix: genreMixSchema.default({ interview: 0.3, chat: 0.25, forum: 0.15, letter: 0.15, diary: 0.15 }),
});

/** A validated, complete world configuration (JSON-serialisable). */
export type WorldConfig = z.infer<typeof worldConfigSchema>;
/** Input accepted by {@link worldConfig}: any subset of the fields. */
export type WorldConfigInput = z.input<typeof worldConfigSchema>;

/** Validate `partial` and fill in defaults. Throws a readable error on invalid input. */
export function worldConfig(partial: WorldConfigInput | Partial<WorldConfig> = {}): WorldConfig {
  const parsed = worldConfigSchema.safeParse(partial);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new Error(`invalid world config: ${msg}`);
  }
  return parsed.data;
}

/** The default world. */
export const defaultWorld: WorldConfig = worldConfig({});

/** Normalise a weight record to probabilities (keys kept in the given order). */
export function normalizeMix<K extends string>(mix: Record<K, number>, keys: readonly K[]): Record<K, number> {
  const total = keys.reduce((s, k) => s + mix[k], 0);
  return Object.fromEntries(keys.map((k) => [k, mix[k] / total])) as Record<K, number>;
}

/** The (normalised) morality mix of characters of the given kind, honouring `aiBenevolentShare`. */
export function moralityMixFor(config: WorldConfig, being: 'human' | 'ai'): Record<'benevolent' | 'malevolent' | 'sarcastic', number> {
  const keys = ['benevolent', 'malevolent', 'sarcastic'] as const;
  if (being === 'human') return normalizeMix(config.moralityMix, keys);
  const mix = normalizeMix(config.aiMoralityMix, keys);
  const b = config.aiBenevolentShare;
  if (b === undefined) return mix;
  const rest = mix.malevolent + mix.sarcastic;
  const mal = rest > 0 ? mix.malevolent / rest : 0.5;
  return { benevolent: b, malevolent: (1 - b) * mal, sarcastic: (1 - b) * (1 - mal) };
}
