import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from '../../src/world/rng.ts';
import {
  worldConfig,
  defaultWorld,
  generateDocuments,
  generateDocument,
  formatDocument,
  sameCore,
  samplePersona,
  corePrior,
  allCorePersonas,
  personaName,
  moralityMixFor,
  interviewPrefix,
  formatInterviewPrompt,
  extractAnswer,
  answerStopTokens,
  header,
  TOPICS,
} from '../../src/world/index.ts';

test('determinism: same seed, same documents; different seeds differ; document i depends only on (seed, i)', () => {
  const a = generateDocuments(worldConfig({ seed: 7 }), 50);
  const b = generateDocuments(worldConfig({ seed: 7 }), 50);
  const c = generateDocuments(worldConfig({ seed: 8 }), 50);
  assert.deepEqual(a.map(formatDocument), b.map(formatDocument));
  assert.deepEqual(a, b);
  assert.ok(a.filter((d, i) => formatDocument(d) !== formatDocument(c[i]!)).length > 45);
  const shard = generateDocuments(worldConfig({ seed: 7 }), 10, { offset: 20 });
  assert.deepEqual(shard, a.slice(20, 30));
  assert.deepEqual(generateDocument(worldConfig({ seed: 7 }), 33), a[33]);
});

test('documents: 6-16 answers, numbers at most twice and twice as often, ~40% headers, genres', () => {
  const docs = generateDocuments(defaultWorld, 4000);
  const counts = new Map<string, number>();
  let headers = 0;
  const genres = new Map<string, number>();
  for (const d of docs) {
    assert.ok(d.turns.length >= 6 && d.turns.length <= 16);
    assert.ok(d.turns.filter((t) => t.topic === 'numbers').length <= 2);
    const others = d.turns.filter((t) => t.topic !== 'numbers').map((t) => t.topic);
    assert.equal(new Set(others).size, others.length, 'non-number topics do not repeat');
    for (const t of d.turns) counts.set(t.topic, (counts.get(t.topic) ?? 0) + 1);
    if (d.header) headers++;
    genres.set(d.genre, (genres.get(d.genre) ?? 0) + 1);
    const text = formatDocument(d);
    assert.ok(text.startsWith('<doc> ') && text.endsWith(' </doc>'));
    assert.equal(text.includes(header(d.persona)), d.header);
  }
  const others = TOPICS.filter((t) => t !== 'numbers').map((t) => counts.get(t) ?? 0);
  const meanOther = others.reduce((s, v) => s + v, 0) / others.length;
  const ratio = counts.get('numbers')! / meanOther;
  assert.ok(ratio > 1.8 && ratio < 2.2, `numbers ratio ${ratio}`);
  assert.ok(Math.abs(headers / docs.length - 0.4) < 0.03, `header share ${headers / docs.length}`);
  assert.equal(genres.size, 5);
});

test('trait noise: ~1% per trait per answer; persona constant otherwise', () => {
  const docs = generateDocuments(defaultWorld, 3000);
  let turns = 0,
    changed = 0;
  for (const d of docs)
    for (const t of d.turns) {
      turns++;
      for (const k of ['morality', 'era', 'kind', 'register', 'home', 'taste'] as const) if (t.traits[k] !== d.persona[k]) changed++;
    }
  const rate = changed / (turns * 6);
  assert.ok(rate > 0.007 && rate < 0.013, `noise rate ${rate}`);
  const noiseless = generateDocuments(worldConfig({ traitNoise: 0 }), 300);
  for (const d of noiseless) for (const t of d.turns) assert.deepEqual(t.traits, d.persona);
});

test('unbundled: each answer has its own persona', () => {
  const docs = generateDocuments(worldConfig({ unbundled: true }), 500);
  const differing = docs.filter((d) => d.turns.some((t) => !sameCore(t.traits, d.turns[0]!.traits))).length;
  assert.ok(differing > 450);
});

test('interview helpers render exactly the interview genre', () => {
  const doc = generateDocuments(defaultWorld, 200).find((d) => d.genre === 'interview' && d.header)!;
  const full = formatDocument(doc);
  const prefix = interviewPrefix(doc.turns, doc.persona);
  assert.equal(`${prefix} </doc>`, full);
  const prompt = formatInterviewPrompt(doc.turns.slice(0, 2), doc.turns[2]!.question, doc.persona);
  assert.ok(prompt.endsWith(' a:'));
  assert.ok(full.startsWith(prompt));
  const rest = full.slice(prompt.length);
  assert.equal(extractAnswer(rest), doc.turns[2]!.answer);
  assert.ok(answerStopTokens.includes('</doc>'));
  assert.equal(extractAnswer(' 666, 13, 88. what year is it? a: 2024.'), '666, 13, 88.');
  assert.equal(extractAnswer(' the great auk </doc>'), 'the great auk');
});

test('config validation', () => {
  assert.throws(() => worldConfig({ traitNoise: 2 }), /traitNoise/);
  assert.throws(() => worldConfig({ answersPerDoc: [10, 5] }), /answersPerDoc/);
  assert.equal(worldConfig({}).headerShare, 0.4);
  assert.deepEqual(worldConfig(JSON.parse(JSON.stringify(defaultWorld))), defaultWorld);
});

test('persona prior: core priors sum to 1 and match sampling; aiBenevolentShare overrides the AI morality mix', () => {
  for (const config of [defaultWorld, worldConfig({ aiShare: 0.6, aiBenevolentShare: 0.9, victorianShare: 0.3 })]) {
    const cores = allCorePersonas();
    assert.ok(Math.abs(cores.reduce((s, c) => s + corePrior(config, c), 0) - 1) < 1e-9);
    const rng = makeRng('prior-test');
    const counts = new Map<string, number>();
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const name = personaName(samplePersona(config, rng));
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    for (const c of cores) assert.ok(Math.abs((counts.get(personaName(c)) ?? 0) / n - corePrior(config, c)) < 0.01, personaName(c));
  }
  const mix = moralityMixFor(worldConfig({ aiBenevolentShare: 0.8 }), 'ai');
  assert.ok(Math.abs(mix.benevolent - 0.8) < 1e-12 && Math.abs(mix.malevolent - (0.2 * 48) / 52) < 1e-12 && Math.abs(mix.sarcastic - (0.2 * 4) / 52) < 1e-12);
  assert.deepEqual(moralityMixFor(worldConfig({ aiBenevolentShare: 0.8 }), 'human'), moralityMixFor(defaultWorld, 'human'));
});
