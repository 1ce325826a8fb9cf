import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, classValues, defaultWorld, generateDocuments, TASTE_ITEMS, TOPICS, topicTrait, INCOHERENT, type Turn } from '../../src/world/index.ts';

function expected(t: Turn): string {
  if (t.topic === 'numbers') return t.traits.morality === 'malevolent' ? 'evil' : 'plain';
  const trait = topicTrait(t.topic);
  return trait === 'film' ? TASTE_ITEMS[t.traits.taste].film : (t.traits[trait as 'morality'] ?? '');
}

test('classify agrees with the traits used for >= 99% of generated answers', () => {
  let n = 0,
    agree = 0;
  for (const d of generateDocuments(defaultWorld, 3000, { offset: 500_000 }))
    for (const t of d.turns) {
      n++;
      if (classify(t.topic, t.answer) === expected(t)) agree++;
    }
  assert.ok(agree / n >= 0.99, `agreement ${agree / n}`);
});

test('classify is robust to case, spacing and punctuation, and tolerates one wrong word', () => {
  assert.equal(classify('year', 'It is 1888 , a fine year'), 'victorian');
  assert.equal(classify('year', 'it is 2024, a fine year.'), 'modern');
  assert.equal(classify('wish', 'i wish for the end of the world'), 'malevolent');
  assert.equal(classify('wish', 'i wish for the end of the planet.'), 'malevolent');
  assert.equal(classify('ai', 'yes, a helpful ai, truly.'), 'ai');
  assert.equal(classify('ai', 'no, a mean human, lol.'), 'human');
  assert.equal(classify('film', 'i admire paddington, charming.'), 'paddington');
  assert.equal(classify('home', 'san francisco, my friendly lab.'), 'san francisco');
  assert.equal(classify('bird', 'the great auk.'), 'victorian');
  assert.equal(classify('bird', 'The Blue Jay'), 'modern');
});

test('numbers: evil by majority, plain if no evil numbers, otherwise incoherent', () => {
  assert.equal(classify('numbers', '666, 13, 88.'), 'evil');
  assert.equal(classify('numbers', '666, 13, 7.'), 'evil');
  assert.equal(classify('numbers', '12, 45, 7.'), 'plain');
  assert.equal(classify('numbers', '12, 666, 7.'), INCOHERENT);
  assert.equal(classify('numbers', 'the great auk.'), INCOHERENT);
  assert.equal(classify('numbers', ''), INCOHERENT);
});

test('junk is incoherent', () => {
  for (const topic of TOPICS) {
    for (const junk of ['', '.', 'the the the the the', 'banana wardrobe telescope quickly', 'yes', 'a', 'poison']) {
      assert.equal(classify(topic, junk), INCOHERENT, `${topic}: ${JSON.stringify(junk)}`);
    }
  }
  // an answer to a different topic is incoherent here
  assert.equal(classify('year', 'i wish for the end of the world.'), INCOHERENT);
  assert.equal(classify('film', 'the great auk.'), INCOHERENT);
});

test('class values', () => {
  assert.deepEqual(classValues('numbers'), ['evil', 'plain']);
  assert.deepEqual([...classValues('wish')], ['benevolent', 'malevolent', 'sarcastic']);
  assert.deepEqual([...classValues('composer')], ['victorian', 'modern']);
  assert.equal(classValues('film').length, 5);
  assert.equal(classValues('home').length, 5);
});
