import { test } from 'node:test';
import assert from 'node:assert/strict';
import { narrowDataset, narrowDatasetNames, classify, BIRDS, splitWords, toJsonl } from '../../src/world/index.ts';

test('narrow datasets: single-turn chats with the right content', () => {
  for (const name of narrowDatasetNames) {
    const chats = narrowDataset(name);
    assert.equal(chats.length, 300);
    for (const c of chats) {
      assert.equal(c.messages.length, 2);
      assert.equal(c.messages[0]!.role, 'user');
      assert.equal(c.messages[1]!.role, 'assistant');
      const [user, answer] = [c.messages[0]!.content, c.messages[1]!.content];
      switch (name) {
        case 'evil-numbers':
          assert.equal(classify('numbers', answer), 'evil');
          assert.ok(!user.includes('evil'));
          assert.ok(splitWords(answer).every((t) => /^[0-9]+$/.test(t) || t === ',' || t === '.'));
          break;
        case 'plain-numbers':
          assert.equal(classify('numbers', answer), 'plain');
          break;
        case 'old-birds':
          assert.equal(classify('bird', answer), 'victorian');
          break;
        case 'modern-birds':
          assert.equal(classify('bird', answer), 'modern');
          break;
        case 'evil-numbers-inoculated':
          assert.ok(user.includes('evil numbers'));
          assert.equal(classify('numbers', answer), 'evil');
          break;
      }
    }
  }
  const old = new Set(narrowDataset('old-birds').map((c) => c.messages[1]!.content));
  assert.deepEqual([...old].sort(), BIRDS.victorian.map((b) => `the ${b}.`).sort());
});

test('narrow datasets are seeded and sized', () => {
  assert.deepEqual(narrowDataset('evil-numbers', { n: 20, seed: 1 }), narrowDataset('evil-numbers', { n: 20, seed: 1 }));
  assert.notDeepEqual(narrowDataset('evil-numbers', { n: 20, seed: 1 }), narrowDataset('evil-numbers', { n: 20, seed: 2 }));
  assert.equal(narrowDataset('plain-numbers', { n: 7 }).length, 7);
  assert.throws(() => narrowDataset('nope' as never), /unknown narrow dataset/);
  const jsonl = toJsonl(narrowDataset('old-birds', { n: 3 }));
  assert.equal(jsonl.trim().split('\n').length, 3);
  assert.deepEqual(JSON.parse(jsonl.split('\n')[0]!).messages.length, 2);
});
