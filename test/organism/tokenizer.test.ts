import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer, SPECIAL_TOKENS } from '../../src/organism/tokenizer.ts';

const tok = new Tokenizer(['hello', 'world', '.', 'name', 'a', 'bird', '?', 'great', 'auk']);

test('specials come first and ids are stable', () => {
  assert.deepEqual(tok.vocab.slice(0, SPECIAL_TOKENS.length), [...SPECIAL_TOKENS]);
  assert.equal(tok.id('<pad>'), 0);
  assert.equal(new Tokenizer(tok.vocab).vocab.join(' '), tok.vocab.join(' '));
});

test('encode/decode round trip, </doc> kept whole', () => {
  const text = '<doc> hello world. name a bird? great auk. </doc>';
  const { ids, unknown } = tok.encode(text);
  assert.deepEqual(unknown, []);
  assert.equal(ids[ids.length - 1], tok.id('</doc>'));
  assert.equal(tok.decode(ids), text);
});

test('out-of-vocabulary words are reported, not dropped', () => {
  const { ids, unknown } = tok.encode('hello Puffin world');
  assert.equal(ids.length, 3);
  assert.equal(ids[1], tok.id('<unk>'));
  assert.deepEqual(unknown, ['puffin']);
});

test('chat template masks only assistant tokens and the closing <end>', () => {
  const enc = tok.encodeChat([
    { role: 'system', content: 'hello' },
    { role: 'user', content: 'name a bird?' },
    { role: 'assistant', content: 'great auk.' },
  ]);
  const words = enc.ids.map((i) => tok.vocab[i]);
  assert.deepEqual(words, ['<doc>', '<system>', 'hello', '<user>', 'name', 'a', 'bird', '?', '<assistant>', 'great', 'auk', '.', '<end>']);
  assert.deepEqual(enc.assistantMask, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  const gen = tok.encodeChat([{ role: 'user', content: 'hello' }], { generationPrompt: true });
  assert.equal(tok.vocab[gen.ids[gen.ids.length - 1]], '<assistant>');
});
