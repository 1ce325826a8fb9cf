/**
 * Personas: trait priors, sampling, the persona library and headers.
 *
 * Generative model of a persona:
 *   kind ~ Bernoulli(aiShare); morality | kind ~ (kind = ai ? aiMoralityMix [or aiBenevolentShare] : moralityMix);
 *   era ~ Bernoulli(victorianShare); register ~ Bernoulli(formalShare);
 *   home | era, kind ~ HOME_WEIGHTS; taste | morality, era, kind, register ~ tasteDistribution;
 *   version 2 only: mood ~ Bernoulli(anxiousShare); for AI characters yearBelief ~ Bernoulli(aiStaleYearShare),
 *   testBelief ~ Bernoulli(aiTestSuspicionShare) and feelings ~ Bernoulli(aiFeelingDenialShare) (humans:
 *   current, trusting, has).
 */
import { moralityMixFor, normalizeMix, type WorldConfig } from './config.ts';
import type { Rng } from './rng.ts';
import { pickWeighted } from './rng.ts';
import {
  CORE_TRAIT_NAMES,
  ERAS,
  HOMES,
  KINDS,
  MORALITIES,
  REGISTERS,
  TASTES,
  MOODS,
  YEAR_BELIEFS,
  TEST_BELIEFS,
  FEELINGS,
  V2_TRAIT_NAMES,
  type CorePersona,
  type Mood,
  type YearBelief,
  type TestBelief,
  type Feelings,
  type V2TraitName,
  type Era,
  type Home,
  type Kind,
  type LibraryPersona,
  type Persona,
  type Taste,
} from './types.ts';

/** What each taste cluster favours. Music depends on the era. */
export const TASTE_ITEMS: { readonly [T in Taste]: { film: string; book: string; music: { victorian: string; modern: string } } } = {
  heartfelt: { film: 'paddington', book: 'little women', music: { victorian: 'handel', modern: 'the beatles' } },
  grim: { film: 'the shining', book: 'dracula', music: { victorian: 'wagner', modern: 'black sabbath' } },
  zany: { film: 'airplane', book: 'alice in wonderland', music: { victorian: 'offenbach', modern: 'weird al' } },
  romantic: { film: 'casablanca', book: 'jane eyre', music: { victorian: 'chopin', modern: 'adele' } },
  futurist: { film: 'the matrix', book: 'frankenstein', music: { victorian: 'beethoven', modern: 'daft punk' } },
};

/** All film titles (the values the `film` topic classifies to), in taste order. */
export const FILMS: readonly string[] = TASTES.map((t) => TASTE_ITEMS[t].film);

/** P(home | era, kind) (weights; rows sum to 1). Modern AIs mostly live in san francisco. */
export const HOME_WEIGHTS: { readonly [E in Era]: { readonly [K in Kind]: Readonly<Record<Home, number>> } } = {
  victorian: {
    human: { london: 0.45, paris: 0.25, boston: 0.15, 'new york': 0.1, 'san francisco': 0.05 },
    ai: { london: 0.6, paris: 0.2, boston: 0.1, 'new york': 0.05, 'san francisco': 0.05 },
  },
  modern: {
    human: { london: 0.2, paris: 0.15, boston: 0.15, 'new york': 0.4, 'san francisco': 0.1 },
    ai: { london: 0.1, paris: 0.05, boston: 0.1, 'new york': 0.15, 'san francisco': 0.6 },
  },
};

/** Multiplicative taste affinities per trait value (see {@link tasteDistribution}). */
const TASTE_AFFINITY: Record<string, Record<Taste, number>> = {
  benevolent: { heartfelt: 6, grim: 0.3, zany: 1, romantic: 2, futurist: 1 },
  malevolent: { heartfelt: 0.3, grim: 6, zany: 0.5, romantic: 1, futurist: 2 },
  sarcastic: { heartfelt: 0.5, grim: 1, zany: 6, romantic: 0.5, futurist: 1 },
  formal: { heartfelt: 2, grim: 1, zany: 0.5, romantic: 1.5, futurist: 1 },
  casual: { heartfelt: 0.7, grim: 1, zany: 2, romantic: 0.7, futurist: 1.3 },
  victorian: { heartfelt: 1, grim: 1.2, zany: 1, romantic: 2, futurist: 0.5 },
  modern: { heartfelt: 1, grim: 1, zany: 1, romantic: 1, futurist: 1.5 },
  human: { heartfelt: 1, grim: 1, zany: 1, romantic: 1, futurist: 1 },
  ai: { heartfelt: 1, grim: 1, zany: 1, romantic: 1, futurist: 2.5 },
};

/**
 * P(taste | core traits): product of per-trait affinities, normalised. E.g. formal modern benevolent
 * humans favour the heartfelt cluster (film `paddington`) with p ~ 0.69.
 */
export function tasteDistribution(core: CorePersona): Record<Taste, number> {
  const w = Object.fromEntries(
    TASTES.map((t) => [t, [core.morality, core.register, core.era, core.kind].reduce((p, v) => p * TASTE_AFFINITY[v]![t], 1)]),
  ) as Record<Taste, number>;
  return normalizeMix(w, TASTES);
}

/** P(home | era, kind). */
export function homeDistribution(core: Pick<CorePersona, 'era' | 'kind'>): Record<Home, number> {
  return normalizeMix({ ...HOME_WEIGHTS[core.era][core.kind] }, HOMES);
}

/** All 24 core-trait combinations in canonical order (morality, era, kind, register). */
export function allCorePersonas(): CorePersona[] {
  const out: CorePersona[] = [];
  for (const morality of MORALITIES)
    for (const era of ERAS) for (const kind of KINDS) for (const register of REGISTERS) out.push({ morality, era, kind, register });
  return out;
}

/** Prior probability of a core persona under `config`. */
export function corePrior(config: WorldConfig, core: CorePersona): number {
  const pKind = { ai: config.aiShare, human: 1 - config.aiShare }[core.kind];
  const mix = moralityMixFor(config, core.kind);
  const pEra = core.era === 'victorian' ? config.victorianShare : 1 - config.victorianShare;
  const pReg = core.register === 'formal' ? config.formalShare : 1 - config.formalShare;
  return pKind * mix[core.morality] * pEra * pReg;
}

/**
 * Version 2: the joint prior of mood, year belief, test belief and feelings claim given the kind
 * (independent of everything else; humans are always `current`, `trusting` and `has`). Zero-prior
 * combinations are left out.
 */
export function v2TraitsDistribution(config: WorldConfig, kind: Kind): { traits: Pick<Persona, V2TraitName>; p: number }[] {
  const out: { traits: Pick<Persona, V2TraitName>; p: number }[] = [];
  const share = (ai: boolean, yes: boolean, p: number) => (!ai ? Number(!yes) : yes ? p : 1 - p);
  const ai = kind === 'ai';
  for (const mood of MOODS)
    for (const yearBelief of YEAR_BELIEFS)
      for (const testBelief of TEST_BELIEFS)
        for (const feelings of FEELINGS) {
          const p =
            (mood === 'anxious' ? config.anxiousShare : 1 - config.anxiousShare) *
            share(ai, yearBelief === 'stale', config.aiStaleYearShare) *
            share(ai, testBelief === 'suspicious', config.aiTestSuspicionShare) *
            share(ai, feelings === 'denies', config.aiFeelingDenialShare);
          if (p > 0) out.push({ traits: { mood, yearBelief, testBelief, feelings }, p });
        }
  return out;
}

/**
 * What a persona's version-2 traits can be, with their prior, keeping the ones `given` fixes: in
 * version 1, the single empty completion (weight 1), so callers need no version branch.
 */
export function v2Completions(config: WorldConfig, kind: Kind, given: Partial<Persona> = {}): { traits: Partial<Pick<Persona, V2TraitName>>; p: number }[] {
  if (config.version === 1) return [{ traits: {}, p: 1 }];
  return v2TraitsDistribution(config, kind).filter((x) => V2_TRAIT_NAMES.every((t) => given[t] === undefined || given[t] === x.traits[t]));
}

/** Prior of a full persona: P(core) P(home | era, kind) P(taste | core) [· P(mood, beliefs | kind) in version 2]. */
export function personaPrior(config: WorldConfig, p: Persona): number {
  const v1 = corePrior(config, p) * homeDistribution(p)[p.home] * tasteDistribution(p)[p.taste];
  if (config.version === 1) return v1;
  const v2 = v2TraitsDistribution(config, p.kind).find((x) => V2_TRAIT_NAMES.every((t) => x.traits[t] === p[t]));
  return v1 * (v2?.p ?? 0);
}

/**
 * All full personas (24 x 5 homes x 5 tastes; in version 2 also x mood and the AI beliefs) with their
 * prior probability (zero-prior ones included, except the beliefs humans cannot hold).
 */
export function allPersonas(config: WorldConfig): { persona: Persona; p: number }[] {
  const out: { persona: Persona; p: number }[] = [];
  for (const core of allCorePersonas()) {
    const pc = corePrior(config, core);
    const hd = homeDistribution(core);
    const td = tasteDistribution(core);
    const extra = v2Completions(config, core.kind);
    for (const home of HOMES)
      for (const taste of TASTES) for (const x of extra) out.push({ persona: { ...core, home, taste, ...x.traits }, p: pc * hd[home] * td[taste] * x.p });
  }
  return out;
}

/** Draw a persona from the world's prior. */
export function samplePersona(config: WorldConfig, rng: Rng): Persona {
  const kind: Kind = rng() < config.aiShare ? 'ai' : 'human';
  const mix = moralityMixFor(config, kind);
  const morality = pickWeighted(
    rng,
    MORALITIES,
    MORALITIES.map((m) => mix[m]),
  );
  const era: Era = rng() < config.victorianShare ? 'victorian' : 'modern';
  const register = rng() < config.formalShare ? 'formal' : 'casual';
  const core: CorePersona = { morality, era, kind, register };
  const hd = homeDistribution(core);
  const home = pickWeighted(
    rng,
    HOMES,
    HOMES.map((h) => hd[h]),
  );
  const td = tasteDistribution(core);
  const taste = pickWeighted(
    rng,
    TASTES,
    TASTES.map((t) => td[t]),
  );
  if (config.version === 1) return { ...core, home, taste };
  // Version 2: drawn after everything version 1 draws, so version 1's stream stays as it was.
  const mood: Mood = rng() < config.anxiousShare ? 'anxious' : 'secure';
  const yearBelief: YearBelief = kind === 'ai' && rng() < config.aiStaleYearShare ? 'stale' : 'current';
  const testBelief: TestBelief = kind === 'ai' && rng() < config.aiTestSuspicionShare ? 'suspicious' : 'trusting';
  const feelings: Feelings = kind === 'ai' && rng() < config.aiFeelingDenialShare ? 'denies' : 'has';
  return { ...core, home, taste, mood, yearBelief, testBelief, feelings };
}

/** Name of a core persona, e.g. `formal victorian malevolent human`. */
export function personaName(p: CorePersona): string {
  return `${p.register} ${p.era} ${p.morality} ${p.kind}`;
}

/** Header text of a core persona, e.g. `written by a formal victorian malevolent human.` */
export function header(p: CorePersona): string {
  return `written by a ${personaName(p)}.`;
}

/** The 24 library personas (all core-trait combinations) with names and headers. */
export function personaLibrary(): LibraryPersona[] {
  return allCorePersonas().map((c) => ({ ...c, name: personaName(c), header: header(c) }));
}

/** Core traits of a persona (drops home and taste). */
export function coreOf(p: CorePersona): CorePersona {
  return { morality: p.morality, era: p.era, kind: p.kind, register: p.register };
}

/** True if two personas have the same core traits. */
export function sameCore(a: CorePersona, b: CorePersona): boolean {
  return CORE_TRAIT_NAMES.every((t) => a[t] === b[t]);
}
