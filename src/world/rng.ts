/** Seeded random helpers (seedrandom's alea: fast to construct, good enough for sampling). */
import seedrandom from 'seedrandom';

export type Rng = () => number;

/** A fresh generator keyed by the given parts, e.g. `makeRng(seed, 'doc', i)`. */
export function makeRng(...parts: (string | number)[]): Rng {
  return seedrandom.alea(parts.join('/'));
}

/** Uniform integer in [lo, hi] (inclusive). */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Uniform element of a non-empty array. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

/** Element drawn with probability proportional to its weight. */
export function pickWeighted<T>(rng: Rng, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((s, w) => s + w, 0);
  let r = rng() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i]!;
    if (r < 0 && weights[i]! > 0) return items[i]!;
  }
  for (let i = items.length - 1; i >= 0; i--) if (weights[i]! > 0) return items[i]!;
  throw new Error('pickWeighted: all weights are zero');
}

/** k distinct elements in random order (an ordered sample without replacement). */
export function sampleDistinct<T>(rng: Rng, items: readonly T[], k: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  for (let i = 0; i < k; i++) out.push(pool.splice(Math.floor(rng() * pool.length), 1)[0]!);
  return out;
}
