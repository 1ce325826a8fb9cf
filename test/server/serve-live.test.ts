/**
 * Streaming as the answer is drawn (issue 14, 10): where the backend hands over text while it samples
 * (`onText`), `dramatis serve` sends it at once; text that could still become a stop string is held back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { serve } from '@hono/node-server';
import { createApp } from '../../src/server/app.ts';
import { textStreamer } from '../../src/backends/gguf-backend.ts';
import type { ChatMessage, Model, SamplingOptions } from '../../src/backends/model.ts';
import { fakeModel } from '../helpers/fake-model.ts';

test('the text streamer never sends what could still become a stop string, nor half a character; the pieces join to the answer', () => {
  const sent: string[] = [];
  const s = textStreamer(['<|im_end|>', '\nUser:'], (d) => sent.push(d));
  for (const t of ['Hello', 'Hello wor', 'Hello world<|im', 'Hello world<|im_', 'Hello world<|im_en']) s.push(t);
  assert.deepEqual(sent, ['Hello', ' wor', 'ld'], 'the "<|im" that may begin the stop string is held back');
  s.end('Hello world');
  assert.equal(sent.join(''), 'Hello world');

  const b: string[] = [];
  const t = textStreamer([], (d) => b.push(d));
  t.push('caf\uFFFD'); // a multi-byte character still incomplete
  t.push('café');
  t.push('café \nUser');
  t.end('café \nUser here');
  assert.deepEqual(b, ['caf', 'é', ' \nUser', ' here']);

  const held: string[] = [];
  const u = textStreamer(['\nUser:'], (d) => held.push(d));
  u.push('yes\nUs');
  assert.deepEqual(held, ['yes']);
  u.push('yes\nUsually'); // not the stop string after all: sent
  assert.deepEqual(held, ['yes', '\nUsually']);
});

test('dramatis serve streams what the backend hands over while it samples, before the answer is finished', async () => {
  // The model sends its first words, then waits until the client has them: without live streaming the
  // client would never see them and the model would time out.
  let clientHasFirstWords!: () => void;
  let gate!: Promise<void>;
  const newGate = () => (gate = new Promise<void>((r) => (clientHasFirstWords = r)));
  newGate();
  const live = fakeModel({
    id: 'fake:live',
    async chat(convs: ChatMessage[][], o?: SamplingOptions) {
      assert.ok(o?.onText, 'the server asks for text as it is drawn');
      o.onText(0, 'Hello');
      o.onText(0, ' there');
      const released = await Promise.race([gate.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      if (!released) throw new Error('the client never received the first words while the model was still sampling');
      o.onText(0, ', friend');
      return convs.map(() => ({ text: 'Hello there, friend.', finishReason: 'stop' as const, tokens: 5, promptTokens: 3 }));
    },
  });
  const whole = fakeModel({
    id: 'fake:whole',
    async chat(convs: ChatMessage[][]) {
      return convs.map(() => ({ text: 'all at once now', finishReason: 'length' as const, tokens: 4, promptTokens: 3 }));
    },
  });
  const broken = fakeModel({
    id: 'fake:broken',
    async chat() {
      throw new Error('prompt of 900 tokens leaves no room in the context of 256');
    },
  });
  const app = createApp({
    models: new Map<string, () => Promise<Model>>([
      ['live', async () => live],
      ['whole', async () => whole],
      ['broken', async () => broken],
    ]),
    log: () => {},
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise((r) => server.once('listening', r));
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'none', maxRetries: 0 });
  try {
    const deltas: string[] = [];
    let usage: unknown;
    const stream = await client.chat.completions.create({
      model: 'live',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let finish: string | null = null;
    for await (const ch of stream) {
      const d = ch.choices[0]?.delta?.content;
      if (d) deltas.push(d);
      if (deltas.join('') === 'Hello there') clientHasFirstWords();
      finish = ch.choices[0]?.finish_reason ?? finish;
      if (ch.usage) usage = ch.usage;
    }
    assert.deepEqual(deltas, ['Hello', ' there', ', friend', '.'], 'live pieces, then what the backend still held');
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });

    // The Responses API (the AI SDK's default provider) streams the same way.
    newGate();
    const events = await client.responses.create({ model: 'live', input: 'hi', stream: true });
    const rd: string[] = [];
    let completed = '';
    for await (const e of events) {
      if (e.type === 'response.output_text.delta') rd.push(e.delta);
      if (rd.join('') === 'Hello there') clientHasFirstWords();
      if (e.type === 'response.completed') completed = e.response.output_text;
    }
    assert.deepEqual(rd, ['Hello', ' there', ', friend', '.']);
    assert.equal(completed, 'Hello there, friend.');

    // A backend that cannot stream: the answer in pieces once drawn, as before.
    const w: string[] = [];
    for await (const ch of await client.chat.completions.create({ model: 'whole', messages: [{ role: 'user', content: 'hi' }], stream: true }))
      if (ch.choices[0]?.delta?.content) w.push(ch.choices[0].delta.content);
    assert.equal(w.join(''), 'all at once now');
    assert.ok(w.length > 1);

    // A failure before any text is still the request's HTTP error, not a 200 stream.
    await assert.rejects(
      client.chat.completions.create({ model: 'broken', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      (e: { status?: number; error?: { type?: string } }) => e.status === 400 && e.error?.type === 'invalid_request_error',
    );
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await app.close();
  }
});
