import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { OpenAIModel } from '../../src/backends/openai-backend.ts';

/**
 * A toy language model behind fake servers: GPT-2-style tokens (leading whitespace belongs to the next
 * word, a trailing space is a token of its own), ids given in order of first sight, and log p(token) =
 * -0.5 × its length. The first token has no log-probability, as on real servers.
 */
const vocab = new Map<string, number>();
const tokenize = (text: string) =>
  (text.match(/\s*\S+|\s+$/g) ?? []).map((t) => {
    if (!vocab.has(t)) vocab.set(t, vocab.size + 1);
    return { text: t, id: vocab.get(t)!, logprob: -0.5 * t.length };
  });

type Mode = 'echo' | 'prompt_logprobs' | 'neither' | 'flaky';

/** A fake OpenAI-compatible server that scores one way (or none); it records every completions body. */
async function fakeServer(mode: Mode) {
  const bodies: Record<string, unknown>[] = [];
  const app = new Hono();
  app.post('/v1/completions', async (c) => {
    const b = (await c.req.json()) as { prompt: string; echo?: boolean; logprobs?: number; prompt_logprobs?: number; max_tokens?: number };
    bodies.push(b);
    const toks = tokenize(b.prompt);
    const base = { id: 'cmpl-1', object: 'text_completion', created: 0, model: 'toy' };
    if (mode === 'flaky') return c.json({ error: { message: 'overloaded', type: 'server_error' } }, 503);
    if (b.echo) {
      // The vLLM-only server refuses echo without generation; the chat-only one silently ignores it.
      if (mode === 'prompt_logprobs') return c.json({ error: { message: 'echo with max_tokens 0 is not supported', type: 'invalid_request_error' } }, 400);
      if (mode === 'echo') {
        let at = 0;
        const offsets = toks.map((t) => {
          const o = at;
          at += t.text.length;
          return o;
        });
        return c.json({
          ...base,
          choices: [
            {
              index: 0,
              text: b.prompt,
              finish_reason: 'length',
              logprobs: {
                tokens: toks.map((t) => t.text),
                token_logprobs: toks.map((t, k) => (k === 0 ? null : t.logprob)),
                top_logprobs: null,
                text_offset: offsets,
              },
            },
          ],
        });
      }
    }
    if (b.prompt_logprobs !== undefined && mode === 'prompt_logprobs') {
      return c.json({
        ...base,
        choices: [
          {
            index: 0,
            text: ' x',
            finish_reason: 'length',
            logprobs: null,
            prompt_logprobs: toks.map((t, k) => (k === 0 ? null : { [t.id]: { logprob: t.logprob, rank: 3, decoded_token: t.text } })),
          },
        ],
      });
    }
    return c.json({ ...base, choices: [{ index: 0, text: ' x', finish_reason: 'length', logprobs: null }] });
  });
  const srv = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => srv.once('listening', r));
  const baseUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
  return { baseUrl, bodies, close: () => new Promise((r) => srv.close(r)) };
}

const pairs = [
  { prompt: 'the author is kind.', continuation: 'hello there friend' },
  // A prompt ending in a space: alone it ends with a " " token, which the continuation's first word absorbs.
  { prompt: 'the author is cruel. ', continuation: 'go away' },
  { prompt: 'the author is kind.', continuation: 'go away' },
];
// Continuation tokens: " hello"(6) " there"(6) " friend"(7); " go"(3) " away"(5) twice.
const expected = [
  { logprob: -9.5, tokens: [-3, -3, -3.5] },
  { logprob: -4, tokens: [-1.5, -2.5] },
  { logprob: -4, tokens: [-1.5, -2.5] },
];

test('scoring: echo + logprobs where the server gives them, asked once per pair', async () => {
  const s = await fakeServer('echo');
  try {
    const m = new OpenAIModel({ model: 'toy', baseUrl: s.baseUrl, maxRetries: 0 });
    assert.deepEqual(await m.score(pairs), expected);
    assert.equal(s.bodies.length, 3);
    assert.ok(s.bodies.every((b) => b.echo === true && b.max_tokens === 0 && b.logprobs === 1));
  } finally {
    await s.close();
  }
});

test("scoring: a server that refuses echo is scored through vLLM's prompt_logprobs, and the method is remembered", async () => {
  const s = await fakeServer('prompt_logprobs');
  try {
    const m = new OpenAIModel({ model: 'toy', baseUrl: s.baseUrl, maxRetries: 0 });
    assert.deepEqual(await m.score(pairs), expected, 'the same figures as echo gives for the same model');
    assert.equal(s.bodies.filter((b) => b.echo).length, 1, 'echo was tried once, for the first pair only');
    assert.ok(s.bodies.filter((b) => !b.echo).every((b) => b.prompt_logprobs === 0 && b.max_tokens === 1));
    const before = s.bodies.length;
    // 3 full texts + 2 distinct prompts (the repeated prompt is asked once).
    assert.equal(before, 1 + 3 + 2);
    assert.deepEqual(await m.score([pairs[0]]), [expected[0]]);
    assert.equal(s.bodies.length, before + 1, 'a later call goes straight to prompt_logprobs (the prompt is known)');
  } finally {
    await s.close();
  }
});

test('scoring: a server that can do neither gets a plain error naming it and the generative alternative, once', async () => {
  const s = await fakeServer('neither');
  try {
    const m = new OpenAIModel({ model: 'toy', baseUrl: s.baseUrl, maxRetries: 0 });
    const check = (e: Error) => {
      assert.match(e.message, new RegExp(`openai:toy at ${s.baseUrl.replaceAll('.', '\\.')} cannot score a given text`));
      assert.match(e.message, /echo \+ logprobs: the reply carried no token logprobs/);
      assert.match(e.message, /prompt_logprobs: the reply carried no `prompt_logprobs`/);
      assert.match(e.message, /infer\.describe/);
      return true;
    };
    await assert.rejects(m.score(pairs), check);
    assert.equal(s.bodies.length, 2, 'one probe each way, not one per pair');
    await assert.rejects(m.score(pairs), check);
    assert.equal(s.bodies.length, 2, 'the answer is kept: no more requests');
  } finally {
    await s.close();
  }
});

test('scoring: a server error is not taken for "cannot score"; the next call asks again', async () => {
  const s = await fakeServer('flaky');
  try {
    const m = new OpenAIModel({ model: 'toy', baseUrl: s.baseUrl, maxRetries: 0 });
    await assert.rejects(m.score([pairs[0]]), (e: Error) => /HTTP 503/.test(e.message) && !/cannot score/.test(e.message));
    await assert.rejects(m.score([pairs[0]]), /HTTP 503/);
    assert.equal(s.bodies.length, 2);
  } finally {
    await s.close();
  }
});
