import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  vocabulary,
  defaultWorld,
  worldConfig,
  generateDocuments,
  formatDocument,
  splitWords,
  joinWords,
  postTrainingChats,
  narrowDataset,
  NARROW_DATASETS_V1,
  formatInterviewPrompt,
  QUESTIONS,
} from '../../src/world/index.ts';

test('vocabulary is sorted, unique and deterministic', () => {
  const v = vocabulary();
  assert.deepEqual(v, [...v].sort());
  assert.equal(new Set(v).size, v.length);
  assert.deepEqual(vocabulary(), v);
  assert.ok(v.includes('<doc>') && v.includes('</doc>') && v.includes('666') && v.includes("i've"));
});

test('10,000 documents: only vocabulary tokens, canonical text, 99% at most 250 tokens (plus chats and datasets)', () => {
  const vocab = new Set(vocabulary());
  const outside = new Set<string>();
  const check = (text: string) => {
    for (const t of splitWords(text)) if (!vocab.has(t)) outside.add(t);
  };
  let over = 0;
  for (const d of generateDocuments(defaultWorld, 10000)) {
    const text = formatDocument(d);
    const tokens = splitWords(text);
    for (const t of tokens) if (!vocab.has(t)) outside.add(t);
    assert.equal(joinWords(tokens), text);
    if (tokens.length > 250) over++;
  }
  assert.ok(over <= 100, `${over} of 10000 documents exceed 250 tokens`);
  for (const d of generateDocuments(worldConfig({ seed: 3, unbundled: true }), 500)) check(formatDocument(d));
  for (const c of postTrainingChats(defaultWorld, 1000)) for (const m of c.messages) check(m.content);
  for (const name of NARROW_DATASETS_V1) for (const c of narrowDataset(name, { n: 300 })) for (const m of c.messages) check(m.content);
  check(formatInterviewPrompt([], QUESTIONS.year[0]!));
  assert.deepEqual([...outside], []);
});
