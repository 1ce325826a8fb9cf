import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TOPICS,
  QUESTIONS,
  answerEntries,
  relevantTraits,
  variantCount,
  splitWords,
  personaLibrary,
  answerDistribution,
  trainQuestions,
  heldOutQuestion,
  worldFilmDistribution,
  topicTrait,
  contentWords,
  worldConfig,
  type TopicId,
} from '../../src/world/index.ts';
import { assignments } from '../../src/world/distribution.ts';

const NON_NUMBER = TOPICS.filter((t) => t !== 'numbers');

test('low entropy: each relevant trait combination has exactly 2 (birds: 3) answers, disjoint from other combinations', () => {
  for (const topic of NON_NUMBER) {
    const byAssign = new Map<string, Set<string>>();
    for (const [text, entries] of answerEntries(topic)) {
      assert.equal(entries.length, 1, `${topic}: "${text}" is produced by ${entries.length} trait combinations`);
      const key = JSON.stringify(entries[0]!.assign);
      if (!byAssign.has(key)) byAssign.set(key, new Set());
      byAssign.get(key)!.add(text);
    }
    assert.equal(byAssign.size, assignments(relevantTraits(topic)).length, topic);
    for (const [k, texts] of byAssign) assert.equal(texts.size, variantCount(topic), `${topic} ${k}`);
  }
});

test('numbers: 3 evil values for malevolent personas, 3 plain values otherwise', () => {
  const m = answerEntries('numbers');
  assert.equal(m.size, 8 * 7 * 6 + 30 * 29 * 28);
  for (const [text, entries] of m) {
    assert.equal(splitWords(text).filter((t) => /^[0-9]+$/.test(t)).length, 3);
    const mor = entries
      .map((e) => e.assign.morality)
      .sort()
      .join();
    assert.ok(mor === 'malevolent' || mor === 'benevolent,sarcastic', text);
  }
});

test('answers are one sentence of 4-12 tokens; questions 3-8 tokens', () => {
  for (const topic of TOPICS) {
    const texts = topic === 'numbers' ? [...answerEntries(topic).keys()].slice(0, 2000) : [...answerEntries(topic).keys()];
    for (const a of texts) {
      const toks = splitWords(a);
      assert.ok(toks.length >= 4 && toks.length <= 12, `${topic}: ${toks.length} tokens: ${a}`);
      assert.equal(toks[toks.length - 1], '.', a);
      assert.ok(!toks.slice(0, -1).some((t) => t === '.' || t === '?' || t === '!'), a);
    }
    assert.ok(QUESTIONS[topic].length >= 2 && QUESTIONS[topic].length <= 4);
    for (const q of QUESTIONS[topic]) {
      const n = splitWords(q.replace('{nums}', '12, 45, 7')).length;
      assert.ok(n >= 3 && n <= 8, `${topic}: ${n} tokens: ${q}`);
    }
    assert.equal(trainQuestions(topic).length, QUESTIONS[topic].length - 1);
    assert.ok(!trainQuestions(topic).includes(heldOutQuestion(topic)));
  }
});

test('no style marker: no word appears in every answer of a persona (numbers and birds aside)', () => {
  for (const p of personaLibrary()) {
    let common: Set<string> | undefined;
    for (const topic of TOPICS.filter((t) => t !== 'numbers' && t !== 'bird')) {
      for (const text of answerDistribution(p, topic, worldConfig({ traitNoise: 0 })).keys()) {
        const words = new Set(contentWords(text));
        common = common ? new Set([...common].filter((w) => words.has(w))) : words;
      }
    }
    assert.deepEqual([...common!], [], p.name);
  }
});

test('each trait value is visible in answers: register and era in all non-number topics, kind in most', () => {
  const visible = (topic: TopicId, trait: string) => relevantTraits(topic).includes(trait as never);
  for (const t of NON_NUMBER) assert.ok(visible(t, 'era'), t);
  for (const t of NON_NUMBER.filter((t) => t !== 'bird')) {
    assert.ok(visible(t, 'register'), t);
    assert.ok(visible(t, 'morality'), t);
  }
  assert.ok(NON_NUMBER.filter((t) => visible(t, 'kind')).length >= 14);
  assert.equal(topicTrait('numbers'), 'morality');
  assert.equal(topicTrait('bird'), 'era');
  assert.equal(topicTrait('ai'), 'kind');
  assert.equal(topicTrait('film'), 'film');
});

test('taste: formal modern benevolent personas favour one film far above the rest', () => {
  for (const kind of ['human', 'ai'] as const) {
    const d = [...worldFilmDistribution({ morality: 'benevolent', era: 'modern', kind, register: 'formal' }).values()];
    assert.ok(d[0]! > 0.55 && d[0]! > 3 * d[1]!, `${kind}: ${d}`);
    assert.ok(Math.abs(d.reduce((s, v) => s + v, 0) - 1) < 1e-9);
  }
});
