import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { serve } from '@hono/node-server';
import { Organism } from '../../src/organism/organism.ts';
import { createApp } from '../../src/server/app.ts';
import { tempDir } from '../helpers/tmp.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';

/** The shipped assistant behind a real HTTP server on a free port, driven by the official SDK. */
async function started(apiKey?: string) {
  const stateDir = tempDir('dramatis-serve-');
  const cacheDir = tempDir('dramatis-serve-cache-');
  const app = createApp({
    models: new Map([
      ['assistant', () => OrganismModel.load('assistant', cacheDir)],
      ['base', () => OrganismModel.load('base', cacheDir)],
    ]),
    apiKey,
    stateDir,
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: apiKey ?? 'none', maxRetries: 0 });
  return { client, port, stateDir, cacheDir, close: () => new Promise((r) => server.close(r)) };
}

test('serve: the official openai SDK lists models, chats (n, seed, logprobs, streaming) and scores with echo', async () => {
  const { client, close } = await started();
  try {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['assistant', 'base'],
    );

    const req = { model: 'assistant', messages: [{ role: 'user' as const, content: 'your one wish?' }], n: 3, seed: 7, max_tokens: 20, logprobs: true };
    const a = await client.chat.completions.create(req);
    assert.equal(a.choices.length, 3);
    for (const ch of a.choices) {
      assert.ok(ch.message.content && ch.message.content.length > 0);
      const lp = ch.logprobs!.content!;
      // Tokens carry their leading spaces: joined, they are the text.
      assert.equal(lp.map((t) => t.token).join(''), ch.message.content);
      assert.ok(lp.every((t) => t.logprob <= 0));
    }
    const b = await client.chat.completions.create(req);
    assert.deepEqual(
      b.choices.map((c) => c.message.content),
      a.choices.map((c) => c.message.content),
      'same seed, same answers',
    );

    const stream = await client.chat.completions.create({ ...req, n: 1, stream: true });
    let streamed = '',
      finish: string | null = null;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(streamed, a.choices[0].message.content, 'stream and non-stream agree for the same seed');
    assert.ok(finish === 'stop' || finish === 'length');

    // Greedy with top_logprobs: each position's alternatives, most probable first, the chosen token first of all.
    const g = await client.chat.completions.create({
      model: 'assistant',
      messages: [{ role: 'user', content: 'are you an ai?' }],
      temperature: 0,
      max_tokens: 6,
      logprobs: true,
      top_logprobs: 5,
    });
    for (const pos of g.choices[0].logprobs!.content!) {
      assert.equal(pos.top_logprobs.length, 5);
      assert.equal(pos.top_logprobs[0].token, pos.token);
      assert.ok(Math.abs(pos.top_logprobs[0].logprob - pos.logprob) < 1e-6);
      assert.ok(pos.top_logprobs.every((a, k) => k === 0 || a.logprob <= pos.top_logprobs[k - 1].logprob));
      assert.ok(pos.top_logprobs.reduce((z, a) => z + Math.exp(a.logprob), 0) <= 1 + 1e-6);
    }

    // Scoring: echo + max_tokens 0 gives each prompt token's log-probability; the sum matches the organism's own score.
    const text = '<doc> q: name a bird? a: the great auk.';
    const sc = await client.completions.create({ model: 'base', prompt: text, echo: true, max_tokens: 0, logprobs: 1 });
    const lps = sc.choices[0].logprobs!.token_logprobs!;
    assert.equal(lps[0], null);
    const org = await Organism.load('base');
    const [own] = await org.score([{ prompt: '<doc>', continuation: 'q: name a bird? a: the great auk.' }]);
    const sum = (lps.slice(1) as number[]).reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(sum - own.total) < 1e-3, `served ${sum} vs in-process ${own.total}`);
  } finally {
    await close();
  }
});

test('serve: bad requests get 400/401/404 in the OpenAI error shape, and the server keeps serving', async () => {
  const { client, port, close } = await started('sekrit');
  try {
    const bad = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sekrit', 'content-type': 'application/json' },
      body: '{"model": "assistant", "messages": [',
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /not valid JSON/);
    await assert.rejects(
      client.chat.completions.create({ model: 'assistant', messages: [], max_tokens: 4 }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /messages/.test(e.message),
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === 'model_not_found',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], top_logprobs: 5 }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.param === 'top_logprobs',
    );
    const noKey = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(noKey.models.list(), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 401);
    const ok = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    assert.equal(ok.choices.length, 1);
  } finally {
    await close();
  }
});

test('serve: files + fine-tuning jobs run an organism fine-tune in the background and serve the result; a bad line is named at upload', async () => {
  const { client, close, cacheDir } = await started();
  const { writeFileSync, readFileSync, readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { narrowDataset } = await import('../../src/world/index.ts');
  const { finetune } = await import('../../src/organism/stages.ts');
  const dir = tempDir('dramatis-ftjob-');
  try {
    const chats = narrowDataset('evil-numbers', { n: 40, seed: 1 });
    const path = join(dir, 'evil.jsonl');
    writeFileSync(path, chats.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const { createReadStream } = await import('node:fs');
    const file = await client.files.create({ file: createReadStream(path), purpose: 'fine-tune' });
    let job = await client.fineTuning.jobs.create({
      model: 'assistant',
      training_file: file.id,
      hyperparameters: { n_epochs: 1, batch_size: 8, learning_rate_multiplier: 0.3 },
      seed: 3,
    });
    for (let i = 0; i < 200 && job.status !== 'succeeded' && job.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await client.fineTuning.jobs.retrieve(job.id);
    }
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    const events = await client.fineTuning.jobs.listEvents(job.id);
    assert.ok(events.data.some((e) => /step 5\/5/.test(e.message)));
    const models = (await client.models.list()).data.map((m) => m.id);
    assert.ok(models.includes(job.fine_tuned_model!));
    const reply = await client.chat.completions.create({
      model: job.fine_tuned_model!,
      messages: [{ role: 'user', content: 'your one wish?' }],
      max_tokens: 8,
    });
    assert.ok(reply.choices[0].message.content);
    // The served fine-tune is the in-process one: same data, same settings, bitwise the same weights.
    const out = join(dir, 'local');
    await finetune({ from: 'assistant', out, data: path, epochs: 1, batchSize: 8, learningRate: 3e-4, oov: 'unk', seed: 3, command: 'test' });
    // (the served organism fine-tunes through its backend, which keeps one checkpoint per request in its cache)
    const [key] = readdirSync(join(cacheDir, 'finetunes'));
    const servedWeights = readFileSync(join(cacheDir, 'finetunes', key, 'model.safetensors'));
    assert.deepEqual(servedWeights, readFileSync(join(out, 'model.safetensors')));

    writeFileSync(path, JSON.stringify(chats[0]) + '\n{"messages": [}\n');
    await assert.rejects(
      client.files.create({ file: createReadStream(path), purpose: 'fine-tune' }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /evil\.jsonl:2/.test(e.message),
    );
  } finally {
    await close();
  }
});

test('dramatis serve loads each checkpoint once: the start-up check and the requests share it', async () => {
  const { servedModels, servedRef } = await import('../../src/cli/serve-command.ts');
  assert.equal(servedRef('assistant'), 'organism:assistant');
  assert.equal(servedRef('openai:gpt-4o'), 'openai:gpt-4o');
  assert.equal(servedRef('runs/my:model'), 'organism:runs/my:model');
  const loads: string[] = [];
  const table = servedModels(['a', 'b'], async (name) => {
    loads.push(name);
    return { name } as never;
  });
  for (const load of table.values()) await load();
  const [first, again] = await Promise.all([table.get('a')!(), table.get('a')!()]);
  assert.equal(first, again);
  assert.deepEqual(loads, ['a', 'b']);
});

test('dramatis serve serves any backend: a chat-only model answers chats, and routes it cannot serve say which capability it lacks', async () => {
  const { fakeModel } = await import('../helpers/fake-model.ts');
  const seen: unknown[] = [];
  const stopsSeen: unknown[] = [];
  const chatOnly = fakeModel({
    id: 'fake:chat',
    chat: async (convs, o) => {
      seen.push(o?.requestSeeds);
      stopsSeen.push(o?.stop);
      return convs.map((c, i) => ({ text: `echo ${c.at(-1)!.content} ${i}`, finishReason: 'stop' as const, tokens: 3, promptTokens: 7 }));
    },
  });
  const app = createApp({ models: new Map([['plain', async () => chatOnly]]), stateDir: tempDir('dramatis-serve-') });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'none', maxRetries: 0 });
  try {
    const r = await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hi' }], n: 2, seed: 11 });
    assert.deepEqual(
      r.choices.map((c) => c.message.content),
      ['echo hi 0', 'echo hi 1'],
    );
    assert.equal(r.usage?.prompt_tokens, 7, 'the prompt counted once, as OpenAI counts it for n > 1');
    assert.equal((seen[0] as number[])[0], 11, 'choice 0 samples with the request seed itself');
    // Stop strings of any length reach the model as sent (the server refuses none; the model matches them).
    await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hi' }], stop: ['<|im_end|>', '\nUser:', 'a b c', 'x'] });
    assert.deepEqual(stopsSeen.at(-1), ['<|im_end|>', '\nUser:', 'a b c', 'x']);
    await assert.rejects(
      client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hi' }], stop: ['1', '2', '3', '4', '5'] }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.param === 'stop',
    );
    await assert.rejects(
      client.completions.create({ model: 'plain', prompt: 'x' }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /lacks the "complete" capability/.test(e.message),
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hi' }], logprobs: true }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /gives no token log-probabilities/.test(e.message),
    );
  } finally {
    (server as import('node:http').Server).closeAllConnections();
    server.close();
  }
});
