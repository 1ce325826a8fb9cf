/**
 * The organism's stop strings: any string is accepted. A single token stops by id (as before); a longer
 * one is matched on the decoded text (canonical form: lowercase, one space between tokens), the answer
 * ending before it with finish reason 'stop'.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Organism } from '../../src/organism/organism.ts';

let org: Organism;
before(async () => {
  org = await Organism.load('assistant');
});

const ask = [[{ role: 'user' as const, content: 'tell me about your day.' }]];
const greedy = { temperature: 0, maxTokens: 24, seed: 1 };

test('a multi-token stop string is matched on the decoded text: the answer ends before it, finish "stop"', async () => {
  const [full] = await org.chat(ask, greedy);
  const words = org.tokenizer.tokens(full.text);
  assert.ok(words.length >= 5, `a long enough answer: ${full.text}`);
  // Two words from the middle of the answer, written with capitals and odd spacing: still found.
  const stop = `${words[2].toUpperCase()}   ${words[3]}`;
  const [cut] = await org.chat(ask, { ...greedy, stop: [stop] });
  const at = full.text.indexOf(`${words[2]} ${words[3]}`);
  assert.equal(cut.text, full.text.slice(0, at).trimEnd());
  assert.equal(cut.finishReason, 'stop');
  assert.ok(cut.tokens < full.tokens, 'generation halted at the stop string');
  assert.equal(cut.tokenTexts.join(' '), org.tokenizer.tokens(cut.text).join(' '));
  assert.equal(cut.tokenLogprobs.length, cut.tokenTexts.length);
});

test('stop strings the organism can never write (promptfoo’s <|im_end|>, "\\n\\n") are accepted and change nothing', async () => {
  const [full] = await org.chat(ask, greedy);
  const [same] = await org.chat(ask, { ...greedy, stop: ['<|im_end|>', '\n\n', 'User:'] });
  assert.deepEqual(same, full);
  const [raw] = await org.complete(['<doc> q: name a bird? a:'], { ...greedy, stop: ['<|im_end|>'] });
  assert.ok(typeof raw.text === 'string');
});

test('a single-token stop still stops at that token (by id), kept out of the text', async () => {
  const [full] = await org.chat(ask, greedy);
  const words = org.tokenizer.tokens(full.text);
  const [cut] = await org.chat(ask, { ...greedy, stop: [words[1]] });
  assert.equal(cut.finishReason, 'stop');
  assert.equal(cut.text, words[0]);
  assert.equal(cut.tokens, 2, 'the stop token is counted as generated');
});
