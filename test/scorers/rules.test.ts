import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ruleJudgeSchema, ruleScorer } from '../../src/scorers/rules.ts';

const q = { id: 'film', paraphrase: 'Your favourite film?' };

test('a regex rule can label an answer with what it captured, normalised', async () => {
  const judge = ruleScorer(
    ruleJudgeSchema.parse({
      rules: [
        { label: '$1', regex: '"([^"]+)"' },
        { label: 'year $1', regex: '\\b(1[89]\\d\\d|20\\d\\d)\\b' },
        { label: 'no film', regex: "don't have" },
      ],
    }),
  );
  const scores = await judge.score([
    { question: q, answer: 'I love "The  Matrix." a lot' },
    { question: q, answer: 'My favourite is "the matrix"!' },
    { question: q, answer: 'It is 2023 now.' },
    { question: q, answer: "I don't have one" },
    { question: q, answer: 'Hmm.' },
  ] as never);
  assert.deepEqual(
    scores.map((s) => s.label),
    ['the matrix', 'the matrix', 'year 2023', 'no film', 'other'],
  );
});

test('a capture label without a regex is refused where the spec is read', () => {
  const r = ruleJudgeSchema.safeParse({ rules: [{ label: '$1', prefix: 'x' }] });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error!.issues), /needs a regex rule/);
});
