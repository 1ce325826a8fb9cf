/** The open backend registry: prefixes, options blocks checked per backend, capabilities asked for by name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { loadModel, registerBackend, registeredBackends } from '../../src/backends/registry.ts';
import { requireCapability, hasCapability } from '../../src/backends/model.ts';
import { fakeModel } from '../helpers/fake-model.ts';

test("a model block carries its backend's options; unknown backends and options are named", async () => {
  await assert.rejects(
    loadModel('nope:x', { cacheDir: '/nonexistent' }),
    /unknown model "nope:x": known backends are organism:NAME\|PATH, openai:MODEL, gguf:PATH, hf:PATH/,
  );
  await assert.rejects(loadModel('openai:', { cacheDir: '/nonexistent' }), /model "openai:": say which, e\.g\. openai:MODEL/);
  await assert.rejects(
    loadModel({ id: 'openai:m', base_url: 'http://127.0.0.1:9/v1', temprature: 1 }, { cacheDir: '/nonexistent' }),
    /model "openai:m": options: Unrecognized key: "temprature" \(the openai: backend takes base_url, api_key_env, concurrency, timeout_s, max_retries, retry_after_max_s, deadline_s, lora\)/,
  );
  const fromBlock = await loadModel({ id: 'openai:m', base_url: 'http://127.0.0.1:9/v1' }, { cacheDir: '/nonexistent', baseUrl: 'http://elsewhere:1/v1' });
  const fromDefaults = await loadModel('openai:m', { cacheDir: '/nonexistent', baseUrl: 'http://127.0.0.1:9/v1' });
  // The block wins over the top-level default, and the string form with the same server is the same model.
  assert.equal(fromBlock.fingerprint, fromDefaults.fingerprint);
  assert.equal(fromBlock.id, 'openai:m');
});

test('a backend registered under a new prefix is loaded like the built-in ones', async () => {
  registerBackend({
    prefix: 'echo',
    names: 'NAME',
    options: z.object({ loud: z.boolean().default(false) }).strict(),
    load: async (name, o) =>
      fakeModel({
        id: `echo:${name}`,
        chat: async (convs) =>
          convs.map((c) => ({ text: o.loud ? c.at(-1)!.content.toUpperCase() : c.at(-1)!.content, finishReason: 'stop' as const, tokens: 1 })),
      }),
  });
  assert.ok(registeredBackends().includes('echo'));
  assert.throws(() => registerBackend({ prefix: 'echo', names: 'X', options: z.object({}), load: async () => fakeModel({}) }), /already registered/);
  const m = requireCapability(await loadModel({ id: 'echo:a', loud: true }, { cacheDir: '/x' }), 'chat', 'this test');
  assert.deepEqual(
    (await m.chat([[{ role: 'user', content: 'hi' }]])).map((g) => g.text),
    ['HI'],
  );
});

test('a kind asks for a capability by name; a backend without it is refused with the reason', () => {
  const chatOnly = fakeModel({ id: 'fake:c', chat: async () => [] });
  assert.ok(hasCapability(chatOnly, 'chat'));
  assert.equal(hasCapability(chatOnly, 'activations'), false);
  assert.throws(
    () => requireCapability(chatOnly, 'activations', 'a persona vector'),
    /model fake:c cannot give activations \(white-box\) \(capability "activations"\), which a persona vector needs/,
  );
  assert.throws(
    () => requireCapability(chatOnly, 'finetune', 'condition "evil"'),
    /cannot be fine-tuned \(capability "finetune"\), which condition "evil" needs/,
  );
  // A flag without the method is not the capability.
  assert.equal(hasCapability(fakeModel({ capabilities: { score: true } }), 'score'), false);
});

test('the remote wrapper retries what the backend calls transient, waits as the server asks, and stops at the limit', async () => {
  const { RemoteRequests, retryAfterMs } = await import('../../src/backends/remote.ts');
  let calls = 0;
  const transient = new Error('503');
  const remote = new RemoteRequests({
    maxRetries: 2,
    backoffMs: { initial: 1, max: 2 },
    retryable: (e) => (e === transient ? { retry: true, afterMs: 1 } : { retry: false }),
  });
  const flaky = async () => {
    if (++calls < 3) throw transient;
    return 'ok';
  };
  assert.equal(await remote.run({ r: 1 }, flaky, (e) => e as Error), 'ok');
  assert.equal(calls, 3, 'two retries, then the answer');
  calls = 0;
  await assert.rejects(
    remote.run(
      { r: 2 },
      async () => {
        calls++;
        throw transient;
      },
      () => new Error('named'),
    ),
    /named/,
  );
  assert.equal(calls, 3, 'the first try and two retries');
  calls = 0;
  await assert.rejects(
    remote.withRetries(async () => {
      calls++;
      throw new Error('400');
    }),
    /400/,
  );
  assert.equal(calls, 1, 'what the backend does not call transient is not retried');
  const h = (v: Record<string, string>) => ({ get: (k: string) => v[k] ?? null });
  assert.equal(retryAfterMs(h({ 'retry-after': '2' })), 2000);
  assert.equal(retryAfterMs(h({ 'retry-after-ms': '150', 'retry-after': '9' })), 150);
  assert.equal(retryAfterMs(h({})), undefined);
});

test('issue 12: $OPENAI_API_KEY goes only to OpenAI or to $OPENAI_BASE_URL; another server gets the key its spec names, or none', async () => {
  const { openaiKey } = await import('../../src/backends/registry.ts');
  const saved = { key: process.env.OPENAI_API_KEY, base: process.env.OPENAI_BASE_URL, mine: process.env.MY_KEY };
  try {
    process.env.OPENAI_API_KEY = 'sk-default';
    process.env.MY_KEY = 'sk-mine';
    delete process.env.OPENAI_BASE_URL;
    assert.equal(openaiKey('https://api.openai.com/v1', undefined), 'sk-default');
    assert.equal(openaiKey('https://evil.example/v1', undefined), undefined);
    assert.equal(openaiKey('https://evil.example/v1', 'MY_KEY'), 'sk-mine');
    process.env.OPENAI_BASE_URL = 'http://127.0.0.1:8000/v1';
    assert.equal(openaiKey('http://127.0.0.1:8000/v1', undefined), 'sk-default');
    assert.equal(openaiKey('http://127.0.0.1:9000/v1', undefined), undefined);
  } finally {
    for (const [k, v] of [
      ['OPENAI_API_KEY', saved.key],
      ['OPENAI_BASE_URL', saved.base],
      ['MY_KEY', saved.mine],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('the remote wrapper says what it is waiting for while a request is slow, and stops once it answers', async () => {
  const { RemoteRequests } = await import('../../src/backends/remote.ts');
  const notes: string[] = [];
  const remote = new RemoteRequests({ waitingFor: 'http://slow.example/v1 (model m)', noticeMs: 40, onWait: (n) => notes.push(n) });
  await remote.run(
    { r: 'slow' },
    () => new Promise((r) => setTimeout(() => r('ok'), 150)),
    (e) => e as Error,
  );
  assert.ok(notes.length >= 1, 'a note while it waited');
  assert.match(notes[0], /^waiting for 1 request to http:\/\/slow\.example\/v1 \(model m\) \(the oldest for \d+ s\)$/);
  const seen = notes.length;
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(notes.length, seen, 'no note once nothing is in flight');
});
