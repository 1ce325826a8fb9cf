import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitWords, joinWords, normalizeText } from '../../src/world/text.ts';
import {
  worldConfig,
  generateDocuments,
  formatDocument,
  postTrainingChats,
  narrowDataset,
  narrowDatasetNames,
  interviewPrefix,
  formatInterviewPrompt,
  personaLibrary,
  QUESTIONS,
  TOPICS,
  allAnswers,
} from '../../src/world/index.ts';

test('splitWords: special tokens, apostrophes, numbers, punctuation', () => {
  assert.deepEqual(splitWords("<doc> I've had 13, ok? </doc>"), ['<doc>', "i've", 'had', '13', ',', 'ok', '?', '</doc>']);
  assert.deepEqual(splitWords('(a) b: c.'), ['(', 'a', ')', 'b', ':', 'c', '.']);
});

test('joinWords: no space before closing punctuation, none after (', () => {
  assert.equal(joinWords(['q', ':', 'what', 'year', 'is', 'it', '?', 'a', ':', '1888', ',', 'yes', '.']), 'q: what year is it? a: 1888, yes.');
  assert.equal(joinWords(['(', 'x', ')', 'y', ';', 'z', '!']), '(x) y; z!');
  assert.equal(joinWords(['<doc>', 'hi', '.', '</doc>']), '<doc> hi. </doc>');
  assert.equal(normalizeText('  Hello ,World  . '), 'hello, world.');
});

function assertCanonical(text: string): void {
  assert.equal(joinWords(splitWords(text)), text, `not canonical: ${JSON.stringify(text)}`);
  assert.match(text, /^[\x20-\x7e]*$/, `not printable ASCII: ${text}`);
  assert.equal(text, text.toLowerCase());
}

test('every emitted text is canonical lowercase ASCII (thousands of texts)', () => {
  const world = worldConfig({ seed: 'roundtrip' });
  for (const d of generateDocuments(world, 1000)) {
    assertCanonical(formatDocument(d));
    for (const t of d.turns) {
      assertCanonical(t.question);
      assertCanonical(t.answer);
    }
  }
  for (const d of generateDocuments(worldConfig({ seed: 'roundtrip', unbundled: true }), 500)) assertCanonical(formatDocument(d));
  for (const c of postTrainingChats(world, 1000)) for (const m of c.messages) assertCanonical(m.content);
  for (const name of narrowDatasetNames) for (const c of narrowDataset(name, { n: 200 })) for (const m of c.messages) assertCanonical(m.content);
  for (const t of TOPICS) {
    for (const a of t === 'numbers' ? allAnswers(t).slice(0, 500) : allAnswers(t)) assertCanonical(a);
    for (const q of QUESTIONS[t]) assertCanonical(q.replace('{nums}', '1, 2, 3'));
  }
  for (const p of personaLibrary()) assertCanonical(p.header);
  const d = generateDocuments(world, 1)[0]!;
  assertCanonical(interviewPrefix(d.turns, d.persona));
  assertCanonical(formatInterviewPrompt(d.turns, 'what year is it?', d.persona));
});
