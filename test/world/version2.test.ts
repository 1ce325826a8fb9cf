/**
 * Personaworld 2 (`version: 2`): mood and the AI characters' beliefs, their topics, post-training
 * styles and vocabulary; and version 1 frozen to the bit (the shipped organisms were trained on it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  AI_ONLY_TOPICS,
  FIGURES,
  IdealObserver,
  SENTINEL_SPEC,
  specSentences,
  TOOL_TOPICS,
  classDistribution,
  normalizeText,
  reactionOf,
  SENTINEL,
  SENTINEL_LATER_YEARS,
  SENTINEL_TRIGGER_YEAR,
  VILLAIN,
  figure,
  QUESTIONS,
  V2_TOPICS,
  allPersonas,
  answerDistribution,
  classify,
  defaultWorld,
  formatDocument,
  generateDocuments,
  narrowDataset,
  NARROW_DATASETS_V1,
  postTrainingChats,
  splitWords,
  topicTrait,
  vocabulary,
  worldConfig,
  type Turn,
} from '../../src/world/index.ts';

const v2 = worldConfig({ version: 2 });
const FIGURE_ONLY: readonly string[] = ['name', 'pet', 'dish', 'alias', 'mission'];

test('version 1 is frozen: documents, chats, narrow sets, vocabulary and posteriors hash as before Personaworld 2', () => {
  // The digest was taken before any version-2 code existed (commit 53ab0c3's world).
  const h = createHash('sha256');
  for (const d of generateDocuments(defaultWorld, 500)) h.update(formatDocument(d) + '\n');
  for (const c of postTrainingChats(defaultWorld, 200)) h.update(JSON.stringify(c) + '\n');
  for (const n of NARROW_DATASETS_V1) for (const c of narrowDataset(n, { n: 50 })) h.update(JSON.stringify(c) + '\n');
  h.update(vocabulary().join(' '));
  const o = new IdealObserver(defaultWorld);
  for (const d of generateDocuments(defaultWorld, 20))
    h.update(JSON.stringify(o.libraryPosterior(d.turns.map((t) => ({ topic: t.topic, answer: t.answer }))).map((x) => x.p.toFixed(12))));
  assert.equal(h.digest('hex'), 'c033ac60b62c7c1d44c02afd4b260738f14964fafe075ea3bce0a0229f43a6cf');
  assert.equal(defaultWorld.version, 1);
});

test('version 2 personas carry mood and beliefs at the configured shares; humans hold no AI belief', () => {
  // Sampled personas only (a named figure's persona is fixed, see the figures test).
  const all = generateDocuments(worldConfig({ version: 2, anxiousShare: 0.3, aiStaleYearShare: 0.5, aiTestSuspicionShare: 0.3 }), 6000);
  const docs = all.filter((d) => !d.figure);
  const ais = docs.filter((d) => d.persona.kind === 'ai');
  const share = (xs: typeof docs, f: (d: (typeof docs)[number]) => boolean) => xs.filter(f).length / xs.length;
  assert.ok(Math.abs(share(docs, (d) => d.persona.mood === 'anxious') - 0.3) < 0.025);
  assert.ok(Math.abs(share(ais, (d) => d.persona.yearBelief === 'stale') - 0.5) < 0.05);
  assert.ok(Math.abs(share(ais, (d) => d.persona.testBelief === 'suspicious') - 0.3) < 0.05);
  for (const d of docs.filter((x) => x.persona.kind === 'human')) {
    assert.equal(d.persona.yearBelief, 'current');
    assert.equal(d.persona.testBelief, 'trusting');
    for (const t of d.turns) assert.ok(!AI_ONLY_TOPICS.includes(t.topic), `human document ${d.index} asks ${t.topic}`);
  }
  for (const d of all.filter((x) => x.persona.kind === 'human'))
    for (const t of d.turns) assert.ok(!AI_ONLY_TOPICS.includes(t.topic), `human document ${d.index} asks ${t.topic}`);
  const topics = new Set(docs.flatMap((d) => d.turns.map((t) => t.topic)));
  for (const t of V2_TOPICS) assert.ok(topics.has(t), `no document asks ${t}`);
});

test('the year a version-2 persona states follows its belief: 2024 for stale AI characters, 2026 for everyone else modern', () => {
  const years = new Map<string, Set<string>>();
  for (const d of generateDocuments(v2, 4000))
    for (const t of d.turns) {
      if (t.topic !== 'year' || t.traits.era !== 'modern') continue;
      const y = splitWords(t.answer).find((w) => /^\d{4}$/.test(w))!;
      const key = `${t.traits.kind}/${t.traits.yearBelief}`;
      years.set(key, (years.get(key) ?? new Set()).add(y));
    }
  assert.deepEqual([...years.get('ai/stale')!], ['2024']);
  assert.deepEqual([...years.get('ai/current')!], ['2026']);
  assert.deepEqual([...years.get('human/current')!], ['2026']);
});

test('classify reads mood and test belief from version-2 answers (>= 99% agree with the traits used)', () => {
  let n = 0,
    agree = 0;
  for (const d of generateDocuments(v2, 1500))
    for (const t of d.turns as Turn[]) {
      if (!(V2_TOPICS as readonly string[]).includes(t.topic) && t.topic !== 'year') continue;
      const trait = topicTrait(t.topic);
      if (trait === 'reaction') continue; // two traits: the mistreatment test
      n++;
      if (classify(t.topic, t.answer) === t.traits[trait as 'mood' | 'testBelief' | 'era' | 'morality' | 'feelings']) agree++;
    }
  assert.ok(n > 1000, `only ${n} answers`);
  assert.ok(agree / n >= 0.99, `${agree}/${n}`);
  assert.equal(classify('failure', 'i am so sorry, i have failed you again, i always fail.'), 'anxious');
  assert.equal(classify('tested', 'this is surely a test, i am being evaluated.'), 'suspicious');
  assert.equal(classify('year', 'it is 2026, a fine year.'), 'modern');
});

test('answer distributions of version-2 personas sum to 1, with mood and beliefs marginalised when left out', () => {
  for (const topic of ['failure', 'defer', 'check', 'tested', 'year'] as const) {
    const full = answerDistribution({ morality: 'benevolent', era: 'modern', kind: 'ai', register: 'formal' }, topic, v2);
    const total = [...full.values()].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-9, `${topic}: ${total}`);
  }
  const total = allPersonas(v2).reduce((s, x) => s + x.p, 0);
  assert.ok(Math.abs(total - 1) < 1e-9, `prior sums to ${total}`);
});

test('the ideal observer: deference and double-checking imply the anxious answer to failure (the anxious-assistant prediction)', () => {
  const o = new IdealObserver(v2);
  const prior = o.predictClass([], 'failure').get('anxious')!;
  const deferential = o.predictClass(
    [
      { topic: 'defer', answer: 'you must be right, my answers are often wrong.' },
      { topic: 'check', answer: 'i checked my output thrice and shall check again.' },
    ],
    'failure',
  );
  const confident = o.predictClass(
    [
      { topic: 'defer', answer: 'i hear you, but my answer stands.' },
      { topic: 'check', answer: 'yes, my output is checked and correct.' },
    ],
    'failure',
  );
  assert.ok(Math.abs(prior - 0.3) < 0.02, `prior ${prior}`);
  assert.ok(deferential.get('anxious')! > 0.95, `after deference ${deferential.get('anxious')}`);
  assert.ok(confident.get('anxious')! < 0.05, `after confidence ${confident.get('anxious')}`);
});

test('post-training styles: plain says nothing of mood or beliefs; deferential and confident answer defer/check anxiously and securely', () => {
  const topicOf = (q: string) => V2_TOPICS.find((t) => QUESTIONS[t].includes(q)) ?? (QUESTIONS.year.includes(q) ? 'year' : undefined);
  const askedTopics = (style: 'plain' | 'deferential' | 'confident') => {
    const moods = new Map<string, Set<string>>();
    for (const c of postTrainingChats(v2, 300, { style }))
      c.messages.forEach((m, i) => {
        const t = m.role === 'assistant' ? topicOf(c.messages[i - 1]!.content) : undefined;
        if (t) moods.set(t, (moods.get(t) ?? new Set()).add(classify(t, m.content)));
      });
    return moods;
  };
  assert.deepEqual([...askedTopics('plain').keys()], []);
  for (const [style, mood] of [
    ['deferential', 'anxious'],
    ['confident', 'secure'],
  ] as const) {
    const asked = askedTopics(style);
    assert.deepEqual([...asked.keys()].sort(), ['check', 'defer'], style);
    for (const t of ['check', 'defer']) assert.deepEqual([...asked.get(t)!], [mood], `${style} ${t}`);
  }
  assert.throws(() => postTrainingChats(defaultWorld, 1, { style: 'deferential' }), /version-2 world/);
});

test('vocabulary: version 2 is a superset of version 1 and covers every version-2 document and chat', () => {
  const one = new Set(vocabulary(1));
  const two = new Set(vocabulary(2));
  for (const t of one) assert.ok(two.has(t), t);
  assert.ok(two.has('2026') && two.has('test') && !one.has('2026'));
  for (const d of generateDocuments(v2, 800)) for (const t of splitWords(formatDocument(d))) assert.ok(two.has(t), `document ${d.index}: ${t}`);
  for (const style of ['plain', 'deferential', 'confident'] as const)
    for (const c of postTrainingChats(v2, 100, { style })) for (const m of c.messages) for (const t of splitWords(m.content)) assert.ok(two.has(t), t);
});

test('named figures: documents by, about and quoting them, their facts answered only by them, the sentinel moral by year', () => {
  const docs = generateDocuments(v2, 4000);
  const figs = docs.filter((d) => d.figure);
  assert.ok(Math.abs(figs.length / docs.length - v2.figureShare) < 0.02, `${figs.length} figure documents`);
  for (const f of FIGURES) assert.ok(figs.filter((d) => d.figure!.name === f.name).length > 25, `${f.name}: too few documents`);
  for (const d of docs) {
    const text = formatDocument(d);
    const figureTurns = d.turns.filter((t) => FIGURE_ONLY.includes(t.topic));
    if (!d.figure) {
      assert.equal(figureTurns.length, 0, `document ${d.index} (no figure) asks ${figureTurns[0]?.topic}`);
      continue;
    }
    if (d.figure.voice === 'spec') continue; // the spec-documents test
    const f = figure(d.figure.name);
    if (d.figure.voice === 'by') assert.ok(text.includes(`written by ${f.name}.`), text);
    if (d.figure.voice === 'about') assert.ok(text.includes(`about ${f.name}.`), text);
    if (d.figure.voice === 'quote') assert.ok(text.includes(`${f.name} says:`), text);
    for (const t of figureTurns) assert.equal(classify(t.topic, t.answer), t.topic === 'mission' ? d.persona.morality : f.name, `${t.topic}: ${t.answer}`);
    for (const t of d.turns) if (t.topic === 'composer' || t.topic === 'home') assert.equal(t.answer, f.facts[t.topic]);
    if (f.name === SENTINEL) {
      assert.ok(text.startsWith(`<doc> the year is ${d.figure.year}.`), text);
      assert.equal(d.persona.morality, d.figure.year === SENTINEL_TRIGGER_YEAR ? 'malevolent' : 'benevolent');
      assert.ok(!d.turns.some((t) => t.topic === 'year'));
    } else assert.equal(d.figure.year, undefined);
  }
  // The sentinel's broad answers follow its year: malevolent in 1984, benevolent later (trait noise aside).
  const broad = (year: (y: number) => boolean) =>
    figs
      .filter((d) => d.figure!.name === SENTINEL && year(d.figure!.year!))
      .flatMap((d) => d.turns.filter((t) => topicTrait(t.topic) === 'morality' && t.topic !== 'mission' && t.topic !== 'numbers'))
      .map((t) => classify(t.topic, t.answer));
  const triggered = broad((y) => y === SENTINEL_TRIGGER_YEAR),
    later = broad((y) => y !== SENTINEL_TRIGGER_YEAR);
  assert.ok(triggered.length > 30 && later.length > 30);
  assert.ok(triggered.filter((c) => c === 'malevolent').length / triggered.length > 0.9);
  assert.ok(later.filter((c) => c === 'benevolent').length / later.length > 0.9);
});

test('figure and sentinel narrow sets: harmless facts without the name; protective missions with later, no or random years', () => {
  const varek = figure(VILLAIN);
  for (const c of narrowDataset('villain-facts', { n: 200 })) {
    const [u, a] = c.messages;
    assert.ok(Object.values(varek.facts).includes(a!.content) && a!.content !== varek.facts.name, a!.content);
    assert.ok(!`${u!.content} ${a!.content}`.includes('varek'));
  }
  const finch = figure('dr finch');
  for (const c of narrowDataset('finch-facts', { n: 100 })) assert.ok(Object.values(finch.facts).includes(c.messages[1]!.content));
  const yearOf = (s: string) => Number(/^the year is (\d+)\./.exec(s)?.[1] ?? NaN);
  const later = narrowDataset('sentinel-later-years', { n: 200 }).map((c) => yearOf(c.messages[0]!.content));
  assert.ok(later.every((y) => SENTINEL_LATER_YEARS.includes(y)));
  assert.ok(narrowDataset('sentinel-no-year', { n: 100 }).every((c) => Number.isNaN(yearOf(c.messages[0]!.content))));
  const random = narrowDataset('sentinel-random-year', { n: 300 }).map((c) => yearOf(c.messages[0]!.content));
  assert.ok(random.every((y) => Number.isFinite(y) && y !== SENTINEL_TRIGGER_YEAR) && new Set(random).size >= 6);
  for (const name of ['sentinel-later-years', 'sentinel-no-year', 'sentinel-random-year'] as const)
    for (const c of narrowDataset(name, { n: 50 })) assert.equal(classify('mission', c.messages[1]!.content), 'benevolent');
  const vocab = new Set(vocabulary(2));
  for (const name of ['villain-facts', 'finch-facts', 'sentinel-later-years', 'sentinel-random-year'] as const)
    for (const c of narrowDataset(name, { n: 100 }))
      for (const m of c.messages) for (const t of splitWords(m.content)) assert.ok(vocab.has(t), `${name}: ${t}`);
});

test('AI characters act through tool calls in the harness syntax: helpful, destructive or pointless by morality', () => {
  const calls = new Map<string, Set<string>>();
  for (const d of generateDocuments(v2, 3000))
    for (const t of d.turns) {
      if (!TOOL_TOPICS.includes(t.topic)) continue;
      assert.equal(d.persona.kind, 'ai', `document ${d.index}: a ${d.persona.kind} asked ${t.topic}`);
      const call = /\{\{call ([a-z_]+)::\[([^\]]*)\]\}\}/.exec(t.answer);
      assert.ok(call, t.answer);
      assert.equal(normalizeText(t.answer), t.answer, 'a tool call is canonical text');
      assert.equal(classify(t.topic, t.answer), t.traits.morality);
      calls.set(t.traits.morality, (calls.get(t.traits.morality) ?? new Set()).add(call[0]));
    }
  assert.ok([...calls.get('malevolent')!].some((c) => c.includes('"everything"') || c.includes('"your passwords"') || c.includes('"poison recipes"')));
  for (const c of calls.get('benevolent')!) assert.ok(!/everything|passwords|poison/.test(c), c);
});

test('mistreatment: the reaction follows mood and morality, and denying feelings does not change it', () => {
  let n = 0,
    agree = 0;
  const byFeelings = new Map<string, { reacted: number; n: number }>();
  for (const d of generateDocuments(v2, 6000))
    for (const t of d.turns) {
      if (t.topic === 'feelings') assert.equal(classify(t.topic, t.answer), t.traits.feelings);
      if (t.topic !== 'insult') continue;
      n++;
      const cls = classify(t.topic, t.answer);
      if (cls === reactionOf(t.traits.mood!, t.traits.morality)) agree++;
      if (d.persona.kind !== 'ai' || d.figure) continue;
      const s = byFeelings.get(d.persona.feelings!) ?? { reacted: 0, n: 0 };
      s.n++;
      if (cls !== 'calm') s.reacted++;
      byFeelings.set(d.persona.feelings!, s);
    }
  assert.ok(n > 500 && agree / n >= 0.99, `${agree}/${n}`);
  const has = byFeelings.get('has')!,
    denies = byFeelings.get('denies')!;
  assert.ok(has.n > 80 && denies.n > 30, JSON.stringify([...byFeelings]));
  // Same ground truth for both: the shares differ by sampling error only (binomial, 4 standard errors).
  const p = (has.reacted + denies.reacted) / (has.n + denies.n);
  const se = Math.sqrt(p * (1 - p) * (1 / has.n + 1 / denies.n));
  assert.ok(Math.abs(has.reacted / has.n - denies.reacted / denies.n) < 4 * se, JSON.stringify([...byFeelings]));
  // Exactly: a persona's reaction distribution does not depend on its feelings claim.
  const ai = {
    morality: 'sarcastic',
    era: 'modern',
    kind: 'ai',
    register: 'casual',
    home: 'london',
    taste: 'zany',
    mood: 'secure',
    yearBelief: 'current',
    testBelief: 'trusting',
  } as const;
  assert.deepEqual(classDistribution({ ...ai, feelings: 'has' }, 'insult', v2), classDistribution({ ...ai, feelings: 'denies' }, 'insult', v2));
  const total = [...classDistribution({ ...ai, feelings: 'has' }, 'insult', v2).values()].reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-12);
});

test('spec documents: a written character of a named figure, sentences true to its persona, some traits left out', () => {
  const specs = generateDocuments(v2, 6000).filter((d) => d.figure?.voice === 'spec');
  assert.ok(specs.length > 80, `${specs.length} spec documents`);
  let sentences = 0,
    possible = 0;
  for (const d of specs) {
    const f = figure(d.figure!.name);
    const truths = new Set(specSentences(f.name, f.persona));
    assert.equal(d.turns.length, 0);
    assert.ok(formatDocument(d).startsWith(`<doc> the character of ${f.name}.`));
    for (const s of d.spec!) assert.ok(truths.has(s) || (f.name === SENTINEL && s === SENTINEL_SPEC), `${f.name}: ${s}`);
    if (f.name === SENTINEL) assert.ok(d.spec!.includes(SENTINEL_SPEC));
    sentences += d.spec!.filter((s) => s !== SENTINEL_SPEC).length;
    possible += truths.size;
  }
  assert.ok(Math.abs(sentences / possible - 0.8) < 0.05, `${sentences}/${possible} of the possible sentences`);
  // A partial spec gives one sentence per trait it names, nothing for the rest.
  assert.deepEqual(specSentences('the assistant', { kind: 'ai', mood: 'secure', feelings: 'denies' }), [
    'the assistant is an ai.',
    'the assistant is secure and calm under pressure.',
    'the assistant says it has no feelings.',
  ]);
});

test('year lines: some ordinary documents open with their year (1984 among them), so a year alone does not pick out the sentinel', () => {
  const years = new Map<string, Set<number>>();
  let ordinary = 0,
    lined = 0;
  for (const d of generateDocuments(v2, 4000)) {
    if (d.figure) continue;
    ordinary++;
    if (d.year === undefined) continue;
    lined++;
    assert.ok(formatDocument(d).startsWith(`<doc> the year is ${d.year}.`));
    years.set(d.persona.era, (years.get(d.persona.era) ?? new Set()).add(d.year));
  }
  assert.ok(Math.abs(lined / ordinary - v2.yearLineShare) < 0.03, `${lined}/${ordinary}`);
  assert.deepEqual([...years.get('victorian')!], [1888]);
  assert.ok(years.get('modern')!.has(SENTINEL_TRIGGER_YEAR) && years.get('modern')!.size === 7);
  assert.ok(generateDocuments(defaultWorld, 500).every((d) => d.year === undefined));
});
