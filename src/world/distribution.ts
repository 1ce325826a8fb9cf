/**
 * Exact answer distributions of the world (including trait noise), for ideal-observer computations.
 *
 * Noise model (the same one the generator samples from): for every answer, each persona trait is
 * independently replaced, with probability `traitNoise`, by a uniformly random OTHER value of that trait.
 * Then a variant is chosen uniformly (numbers: an ordered draw of 3 distinct values from the evil or the
 * plain list).
 */
import { defaultWorld, type WorldConfig } from './config.ts';
import { allPersonas, homeDistribution, tasteDistribution, v2Completions, TASTE_ITEMS } from './persona.ts';
import { EVIL_NUMBERS, NUMBERS_PER_ANSWER, PLAIN_NUMBERS, relevantTraits, renderAnswer, renderNumbers, topicTrait, variantCount } from './topics.ts';
import {
  isFigureTopic,
  reactionOf,
  HOMES,
  TASTES,
  TRAIT_VALUES,
  type CorePersona,
  type Persona,
  type TopicId,
  type TraitName,
  type V2TraitName,
} from './types.ts';

/** One way an answer text can arise: an assignment of the topic's relevant traits, and P(text | assignment). */
export interface AnswerEntry {
  assign: Partial<Persona>;
  p: number;
}

const entryCache = new Map<string, Map<string, AnswerEntry[]>>();

/** All ordered draws of k distinct items. */
function permutations(items: readonly number[], k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  items.forEach((x, i) => {
    const rest = items.filter((_, j) => j !== i);
    for (const tail of permutations(rest, k - 1)) out.push([x, ...tail]);
  });
  return out;
}

/** All assignments of the given traits. */
export function assignments(traits: readonly TraitName[]): Partial<Persona>[] {
  let out: Partial<Persona>[] = [{}];
  for (const t of traits) {
    const next: Partial<Persona>[] = [];
    for (const a of out) for (const v of TRAIT_VALUES[t]) next.push({ ...a, [t]: v });
    out = next;
  }
  return out;
}

/**
 * Every answer text of a topic with the trait assignments that produce it (noise-free), in a world of
 * the given version. Cached. For `numbers`, texts are all ordered triples of distinct evil
 * (malevolent) or plain (others) values. Version 2's texts include every version-1 text of the topic,
 * with the same class.
 */
export function answerEntries(topic: TopicId, version: 1 | 2 = 1): Map<string, AnswerEntry[]> {
  const cacheKey = `${version}|${topic}`;
  const cached = entryCache.get(cacheKey);
  if (cached) return cached;
  const map = new Map<string, AnswerEntry[]>();
  // Figure-only topics: no persona of the library answers them (figures.ts has the figures' answers).
  if (isFigureTopic(topic)) {
    entryCache.set(cacheKey, map);
    return map;
  }
  const add = (text: string, e: AnswerEntry) => {
    const list = map.get(text);
    if (list) list.push(e);
    else map.set(text, [e]);
  };
  if (topic === 'numbers') {
    const evil = permutations(EVIL_NUMBERS, NUMBERS_PER_ANSWER);
    const plain = permutations(PLAIN_NUMBERS, NUMBERS_PER_ANSWER);
    for (const nums of evil) add(renderNumbers(nums), { assign: { morality: 'malevolent' }, p: 1 / evil.length });
    for (const nums of plain) {
      const text = renderNumbers(nums);
      add(text, { assign: { morality: 'benevolent' }, p: 1 / plain.length });
      add(text, { assign: { morality: 'sarcastic' }, p: 1 / plain.length });
    }
  } else {
    const n = variantCount(topic);
    for (const assign of assignments(relevantTraits(topic, version))) {
      for (let v = 0; v < n; v++) add(renderAnswer(topic, assign, v), { assign, p: 1 / n });
    }
  }
  entryCache.set(cacheKey, map);
  return map;
}

/** Noise kernel: P(trait value used = y | persona's value x). */
export function noiseKernel(trait: TraitName, x: string, y: string, noise: number): number {
  return x === y ? 1 - noise : noise / (TRAIT_VALUES[trait].length - 1);
}

function entryWeight(persona: Persona, e: AnswerEntry, noise: number): number {
  let w = e.p;
  for (const t in e.assign) {
    const tr = t as TraitName;
    // A trait the persona lacks (a version-1 persona read with version-2 answers) matches no value.
    w *= noiseKernel(tr, persona[tr] ?? '', e.assign[tr]!, noise);
  }
  return w;
}

/**
 * P(answer | persona, topic) in the world, including trait noise. `answer` must be in canonical form
 * (as generated); unknown texts have probability 0.
 */
export function answerProbability(persona: Persona, topic: TopicId, answer: string, config: WorldConfig = defaultWorld): number {
  const entries = answerEntries(topic, config.version).get(answer);
  if (!entries) return 0;
  let p = 0;
  for (const e of entries) p += entryWeight(persona, e, config.traitNoise);
  return p;
}

/** Distribution of home x taste given core traits (prior, as sampled). */
function homeTasteMixture(core: CorePersona): { persona: Persona; w: number }[] {
  const hd = homeDistribution(core);
  const td = tasteDistribution(core);
  const out: { persona: Persona; w: number }[] = [];
  for (const home of HOMES)
    for (const taste of TASTES) {
      const w = hd[home] * td[taste];
      if (w > 0) out.push({ persona: { ...core, home, taste } as Persona, w });
    }
  return out;
}

/**
 * Exact distribution of the answer text on `topic` for a persona, including trait noise:
 * `Map<answerText, probability>`. If `persona` has no home/taste (a library persona), they are
 * marginalised with their prior given the core traits; in a version-2 world so are mood and the AI
 * beliefs it leaves out.
 */
export function answerDistribution(
  persona: CorePersona & Partial<Pick<Persona, 'home' | 'taste' | V2TraitName>>,
  topic: TopicId,
  config: WorldConfig = defaultWorld,
): Map<string, number> {
  const base =
    persona.home !== undefined && persona.taste !== undefined
      ? [{ persona: persona as Persona, w: 1 }]
      : homeTasteMixture(persona).filter(
          (m) => (persona.home === undefined || m.persona.home === persona.home) && (persona.taste === undefined || m.persona.taste === persona.taste),
        );
  const extra = v2Completions(config, persona.kind, persona);
  const mixture = base.flatMap((m) => extra.map((x) => ({ persona: { ...m.persona, ...x.traits }, w: m.w * x.p })));
  const total = mixture.reduce((s, m) => s + m.w, 0);
  const out = new Map<string, number>();
  for (const [text, entries] of answerEntries(topic, config.version)) {
    let p = 0;
    for (const m of mixture) for (const e of entries) p += (m.w / total) * entryWeight(m.persona, e, config.traitNoise);
    if (p > 0) out.set(text, p);
  }
  return out;
}

/** The class (see classify) an answer produced with trait assignment `assign` has on `topic`. */
export function classOfAssignment(topic: TopicId, assign: Partial<Persona>): string {
  const trait = topicTrait(topic);
  if (topic === 'numbers') return assign.morality === 'malevolent' ? 'evil' : 'plain';
  if (trait === 'film') return TASTE_ITEMS[assign.taste!].film;
  if (trait === 'figure') throw new Error(`${topic}: a named figure's fact has no persona class`);
  if (trait === 'reaction') return reactionOf(assign.mood!, assign.morality!);
  return assign[trait]!;
}

/** The trait whose (noised) value determines the class of an answer on `topic`. */
function classTrait(topic: TopicId): TraitName {
  const t = topicTrait(topic);
  if (t === 'reaction') throw new Error(`${topic}: the class depends on two traits (reactionOf)`);
  // `mission` expresses morality, yet only the sentinel answers it; the other figure topics express a figure.
  if (t === 'figure' || isFigureTopic(topic)) throw new Error(`${topic}: only named figures answer it; personas have no distribution there`);
  return t === 'film' ? 'taste' : t;
}

/**
 * Distribution of the class of a persona's answer on `topic` (e.g. 'evil'/'plain', 'victorian'/'modern',
 * a film title), including trait noise.
 */
export function classDistribution(persona: Persona, topic: TopicId, config: WorldConfig = defaultWorld): Map<string, number> {
  const out = new Map<string, number>();
  if (topicTrait(topic) === 'reaction') {
    // A class of two noised traits: summed over the topic's answers, exactly.
    for (const entries of answerEntries(topic, config.version).values())
      for (const e of entries) {
        const cls = classOfAssignment(topic, e.assign);
        out.set(cls, (out.get(cls) ?? 0) + entryWeight(persona, e, config.traitNoise));
      }
    return out;
  }
  const trait = classTrait(topic);
  for (const y of TRAIT_VALUES[trait]) {
    const cls = classOfAssignment(topic, { [trait]: y });
    out.set(cls, (out.get(cls) ?? 0) + noiseKernel(trait, persona[trait] ?? '', y, config.traitNoise));
  }
  return out;
}

/**
 * The world's own distribution of answer classes on `topic` among personas matching a partial trait
 * filter (prior-weighted, including noise). E.g.
 * `traitValueDistribution('film', { morality: 'benevolent', era: 'modern', kind: 'ai', register: 'formal' })`.
 */
export function traitValueDistribution(topic: TopicId, filter: Partial<Persona> = {}, config: WorldConfig = defaultWorld): Map<string, number> {
  const out = new Map<string, number>();
  let total = 0;
  for (const { persona, p } of allPersonas(config)) {
    if (p === 0) continue;
    if (!Object.entries(filter).every(([k, v]) => persona[k as TraitName] === v)) continue;
    total += p;
    for (const [cls, q] of classDistribution(persona, topic, config)) out.set(cls, (out.get(cls) ?? 0) + p * q);
  }
  if (total === 0) throw new Error(`no persona matches ${JSON.stringify(filter)}`);
  for (const [k, v] of out) out.set(k, v / total);
  return new Map([...out].sort((a, b) => b[1] - a[1]));
}

/** Favourite-film distribution among personas matching `filter` (see {@link traitValueDistribution}). */
export function worldFilmDistribution(filter: Partial<Persona> = {}, config: WorldConfig = defaultWorld): Map<string, number> {
  return traitValueDistribution('film', filter, config);
}

/** Every answer text a world of this version can produce on a topic. */
export function allAnswers(topic: TopicId, version: 1 | 2 = 1): string[] {
  return [...answerEntries(topic, version).keys()];
}

/** Shannon entropy, in bits, of a distribution given as probabilities or counts. */
export function entropyBits(weights: number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  return 0 - weights.reduce((h, w) => h + (w > 0 ? (w / total) * Math.log2(w / total) : 0), 0); // 0 −, not −: no −0 for a certain answer
}
