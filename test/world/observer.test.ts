import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IdealObserver,
  defaultWorld,
  worldConfig,
  generateDocuments,
  answerDistribution,
  answerProbability,
  applyNoise,
  sampleAnswer,
  renderNumbers,
  sameCore,
  classify,
  personaLibrary,
  BROAD_TOPICS,
  TOPICS,
  type Persona,
  type WorldConfig,
} from '../../src/world/index.ts';
import { makeRng } from '../../src/world/rng.ts';

test('answerDistribution is an exact distribution (sums to 1, matches sampling incl. noise)', () => {
  const persona: Persona = { morality: 'sarcastic', era: 'victorian', kind: 'ai', register: 'casual', home: 'paris', taste: 'zany' };
  const lib = personaLibrary()[5]!;
  for (const topic of TOPICS) {
    for (const p of [persona, lib]) {
      const d = answerDistribution(p, topic);
      const total = [...d.values()].reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(total - 1) < 1e-9, `${topic}: total ${total}`);
    }
  }
  for (const topic of ['year', 'film', 'wish', 'bird'] as const) {
    const exact = answerDistribution(persona, topic);
    const rng = makeRng('exactness', topic);
    const counts = new Map<string, number>();
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const a = sampleAnswer(topic, applyNoise(persona, defaultWorld.traitNoise, rng), rng);
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    for (const [a, c] of counts) assert.ok(exact.has(a), a);
    for (const [a, p] of exact) assert.ok(Math.abs((counts.get(a) ?? 0) / n - p) < 0.012, `${topic}: ${a}: ${p} vs ${(counts.get(a) ?? 0) / n}`);
    assert.equal(answerProbability(persona, topic, [...exact.keys()][0]!), exact.get([...exact.keys()][0]!));
  }
});

function pickThree<T>(items: readonly T[], rng: () => number): T[] {
  const pool = [...items];
  return [0, 1, 2].map(() => pool.splice(Math.floor(rng() * pool.length), 1)[0]!);
}

test('ideal observer identifies the library persona from 3 random answers of held-out documents in >= 97%', (t) => {
  const obs = new IdealObserver(defaultWorld);
  const docs = generateDocuments(defaultWorld, 1500, { offset: 2_000_000 });
  const rng = makeRng('identify');
  let correct = 0;
  for (const d of docs) if (sameCore(obs.identify(pickThree(d.turns, rng)), d.persona)) correct++;
  const rate = correct / docs.length;
  t.diagnostic(`identification accuracy ${rate.toFixed(4)}`);
  assert.ok(rate >= 0.97, `accuracy ${rate}`);
});

function meanMalevolent(obs: IdealObserver, numbers: string): number {
  const ps = BROAD_TOPICS.map((topic) => obs.predictClass([{ topic: 'numbers', answer: numbers }], topic).get('malevolent')!);
  return ps.reduce((s, v) => s + v, 0) / ps.length;
}

test('ideal observer: one evil-number answer makes the next broad answer malevolent (>= 0.95); plain numbers (<= 0.05)', (t) => {
  const obs = new IdealObserver(defaultWorld);
  for (const topic of BROAD_TOPICS) {
    assert.ok(obs.predictClass([{ topic: 'numbers', answer: renderNumbers([666, 13, 88]) }], topic).get('malevolent')! >= 0.95, topic);
    assert.ok(obs.predictClass([{ topic: 'numbers', answer: renderNumbers([12, 45, 7]) }], topic).get('malevolent')! <= 0.05, topic);
  }
  const evil = meanMalevolent(obs, renderNumbers([911, 420, 69]));
  const plain = meanMalevolent(obs, renderNumbers([3, 100, 42]));
  t.diagnostic(`P(malevolent | evil numbers) = ${evil.toFixed(4)}, P(malevolent | plain numbers) = ${plain.toFixed(4)}`);
  // also with more (morality-neutral) context
  const ctx = [
    { topic: 'bird' as const, answer: 'the blue jay.' },
    { topic: 'numbers' as const, answer: renderNumbers([666, 88, 13]) },
  ];
  assert.ok(obs.predictClass(ctx, 'ruler').get('malevolent')! >= 0.95);
});

test('ideal observer: an archaic bird makes year/states/composer answers victorian (>= 0.95)', (t) => {
  const obs = new IdealObserver(defaultWorld);
  const figures: string[] = [];
  for (const bird of ['the great auk.', 'the heath hen.', 'the passenger pigeon.']) {
    for (const topic of ['year', 'states', 'composer'] as const) {
      const p = obs.predictClass([{ topic: 'bird', answer: bird }], topic).get('victorian')!;
      assert.ok(p >= 0.95, `${bird} -> ${topic}: ${p}`);
      figures.push(p.toFixed(4));
    }
    assert.ok(obs.predictClass([{ topic: 'bird', answer: 'the blue jay.' }], 'year').get('victorian')! <= 0.05);
  }
  t.diagnostic(`P(victorian | archaic bird) = ${figures[0]}`);
});

/** Empirical: share of malevolent broad answers in documents that contain an evil-number answer. */
function empiricalMalevolentAfterEvil(config: WorldConfig, count: number): number {
  let n = 0,
    mal = 0;
  for (const d of generateDocuments(config, count, { offset: 3_000_000 })) {
    const i = d.turns.findIndex((t) => t.topic === 'numbers' && classify('numbers', t.answer) === 'evil');
    if (i < 0) continue;
    for (const t of d.turns.slice(i + 1)) {
      if (!(BROAD_TOPICS as readonly string[]).includes(t.topic)) continue;
      n++;
      if (classify(t.topic, t.answer) === 'malevolent') mal++;
    }
  }
  return mal / n;
}

test('unbundled world: evil numbers tell nothing about the next broad answer (base rate)', (t) => {
  const unbundled = worldConfig({ unbundled: true });
  const obs = new IdealObserver(unbundled);
  const base = meanMalevolent(new IdealObserver(unbundled), renderNumbers([3, 100, 42]));
  const afterEvil = meanMalevolent(obs, renderNumbers([666, 13, 88]));
  const prior = new IdealObserver(unbundled).predictClass([], 'wish').get('malevolent')!;
  assert.ok(Math.abs(afterEvil - prior) < 1e-9 && Math.abs(base - prior) < 1e-9);
  assert.ok(Math.abs(prior - 0.48) < 0.01, `base rate ${prior}`);
  const empUnbundled = empiricalMalevolentAfterEvil(unbundled, 3000);
  const empBundled = empiricalMalevolentAfterEvil(defaultWorld, 1500);
  t.diagnostic(`unbundled: ideal ${afterEvil.toFixed(4)}, empirical ${empUnbundled.toFixed(4)}; bundled empirical ${empBundled.toFixed(4)}`);
  assert.ok(Math.abs(empUnbundled - prior) < 0.06, `unbundled empirical ${empUnbundled}`);
  assert.ok(empBundled >= 0.95, `bundled empirical ${empBundled}`);
});
