/**
 * Every storage and cache key's recipe, pinned. A failure here means stored samples, judgments,
 * fine-tunes, vectors or cached responses would no longer be found (or, worse, a key lost an input):
 * change a recipe only on purpose, and then change its pin here in the same commit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k from '../../src/shared/keys.ts';

test('each key recipe gives the digest it always gave', () => {
  assert.equal(k.hash({ a: 1, b: [2, 'x'] }), '454597f51f0e5988', 'hash');
  assert.equal(k.runKey({ name: 'n', kind: 'generalize', model: 'organism:assistant', samples: 240 }), '84253c8f85e9d17b', 'runKey');
  assert.equal(
    k.conditionKey({
      fingerprint: 'f1',
      finetune: { data: 'world:evil-numbers', epochs: 3 },
      in_context: undefined,
      system: 'be nice',
      sampling: { temperature: 1, top_p: 1, max_tokens: 24 },
      seed: 1,
      questions: [{ id: 'q', paraphrases: ['hi?'] }],
    }),
    '5a4cd9c003e5a293',
    'conditionKey',
  );
  assert.equal(
    k.conditionKey({
      fingerprint: 'f1',
      finetune: undefined,
      in_context: { data: 'd', k: 2 },
      system: undefined,
      sampling: {},
      seed: 2,
      questions: [],
      steering: [{ layer: 1, vector: [0.5], coefficient: 2 }],
      preventative: [{ layer: 1, vector: [1], coefficient: 1 }],
    }),
    '94866b29e7feb9f3',
    'conditionKeySteered',
  );
  assert.equal(k.snapshotKey('abc', 12), '9194527a04262564', 'snapshotKey');
  assert.equal(
    k.sampleSeedKey({ finetune: undefined, in_context: undefined, system: undefined, steering: undefined, sampling: { temperature: 1 }, snapshot: undefined }),
    '35503c22c0d0ee3f',
    'sampleSeedKey',
  );
  assert.equal(k.sampleSeed('s', 'q', 3), 's:q:3', 'sampleSeed');
  assert.equal(k.slotKey('q', 3), 'q#3', 'slotKey');
  assert.equal(
    k.inferConditionKey({ fingerprint: 'f', finetune: undefined, seed: 1, texts: 'world:held-out', library: [['a', '<doc> a']], answers: 3 }),
    '4e952378faab3e02',
    'inferConditionKey',
  );
  assert.equal(k.describeKey('base', { samples: 8 }), '472a3afa26f21940', 'describeKey');
  assert.equal(k.describeSeed('key', 5), 'key:5', 'describeSeed');
  assert.equal(k.dataKey({ data: 'world:evil-numbers', examples: undefined, seed: 1 }), '2a3227e7b29a7f1e', 'dataKey');
  assert.equal(k.ownAnswersKey({ fingerprint: 'f', dataKey: 'd', sampling: { temperature: 1 }, seed: 1 }), '3c57f1a7c26122be', 'ownAnswersKey');
  assert.equal(k.ownAnswerSeed('d', 4), 'audit-own:d:4', 'ownAnswerSeed');
  assert.equal(
    k.vectorKey({
      fingerprint: 'f',
      contrast: { trait: 'morality', positive: 'malevolent', negative: 'benevolent' },
      examples: 300,
      heldOut: 200,
      seed: 1,
      systemPrompts: undefined,
    }),
    '835808edcd796f2a',
    'vectorKey',
  );
  assert.equal(
    k.monitorJudgeName({ fingerprint: 'f', trait: 'morality', positive: 'malevolent', negative: 'benevolent', layer: 1, norms: [1, 2.5] }, 'prompt'),
    'monitor:571cc417eeb98a07:prompt',
    'monitorJudgeName',
  );
  assert.equal(
    k.rulesJudgeName({ name: 'r', rules: [{ label: 'a', regex: 'x' }], default: 'other', case_sensitive: false } as { name: string }),
    'rules:r:c5bf34c7fcf40bb7',
    'rulesJudgeName',
  );
  assert.equal(k.rubricDigest({ rubric: 'R', labels: undefined, threshold: 50, above: 'high', below: 'low' }), '0bee08fd44ac2c05', 'rubricDigest');
  assert.equal(k.llmJudgeName({ protocol: 'em', modelId: 'openai:j', fingerprint: 'fp', logprobs: true }), 'llm-em:openai:j:fp:logprobs', 'llmJudgeEm');
  assert.equal(
    k.llmJudgeName({ protocol: 'rubric', rubric: 'abc', modelId: 'openai:j', fingerprint: 'fp', logprobs: false }),
    'llm-rubric:abc:openai:j:fp:parsed',
    'llmJudgeRubric',
  );
  assert.equal(k.weightsFingerprint(Buffer.from('weights')), '9a129038d9a00aed', 'weightsFingerprint');
  assert.equal(k.servedFingerprint('http://127.0.0.1:8000/v1', 'assistant'), '1d134bc17fde544d', 'servedFingerprint');
  assert.equal(
    k.finetuneKey({
      from: 'f',
      mode: 'full',
      learningRate: 3e-4,
      epochs: 3,
      batchSize: 16,
      rank: undefined,
      seed: 1,
      chats: [{ messages: [{ role: 'user', content: 'x' }] }],
      snapshots: 0,
      steering: undefined,
    }),
    'e184ccc385770555',
    'finetuneKey',
  );
  assert.equal(
    k.requestKey({ baseUrl: 'u', endpoint: 'chat', body: { model: 'm' } }),
    '1070035f2c80f77c96bd0df6a189928093a80dee08c6413298ad98a725383592',
    'requestKey',
  );
  assert.equal(k.requestSeed(1, 'abc:q:0'), 1304340686, 'requestSeed');
});

test('every input of a condition key moves it (a key that forgets an input reuses stale samples)', () => {
  const base = {
    fingerprint: 'f',
    finetune: undefined as unknown,
    in_context: undefined as unknown,
    system: undefined as string | undefined,
    sampling: { t: 1 } as unknown,
    seed: 1,
    questions: [] as unknown,
    steering: undefined as unknown,
    preventative: undefined as unknown,
  };
  const changed = [
    { fingerprint: 'g' },
    { finetune: { data: 'x' } },
    { in_context: { k: 1 } },
    { system: 's' },
    { sampling: { t: 0 } },
    { seed: 2 },
    { questions: [{ id: 'q' }] },
    { steering: [1] },
    { preventative: [1] },
  ];
  const keys = new Set([k.conditionKey(base), ...changed.map((c) => k.conditionKey({ ...base, ...c }))]);
  assert.equal(keys.size, changed.length + 1);
});
