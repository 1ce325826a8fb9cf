/**
 * Issue 12, defects 3 (bounds, cancel), 4 (other websites), 7 (long inputs) and 13 (details): what
 * `dramatis serve` refuses, with the OpenAI error shape and the right status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/server/app.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';
import { tempDir } from '../helpers/tmp.ts';

async function started() {
  const stateDir = tempDir('dramatis-serve-');
  const cacheDir = tempDir('dramatis-serve-cache-');
  const app = createApp({ models: new Map([['assistant', () => OrganismModel.load('assistant', cacheDir)]]), stateDir });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  /** One raw HTTP request, headers exactly as given (a browser elsewhere, a rebinding page). */
  const send = (method: string, path: string, headers: Record<string, string>, body?: string | Buffer) =>
    new Promise<{ status: number; json: { error?: { message: string; type: string } } & Record<string, unknown> }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : {} }));
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    send,
    stateDir,
    port,
    close: () =>
      new Promise((r) => {
        (server as import('node:http').Server).closeAllConnections();
        server.close(r);
      }),
  };
}

const chat = JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'your one wish?' }], max_tokens: 4 });

test('serve refuses other websites: a foreign Host, a cross-origin browser, a body that is not JSON', async () => {
  const s = await started();
  try {
    const json = { 'content-type': 'application/json' };
    assert.equal((await s.send('POST', '/v1/chat/completions', { ...json, host: `127.0.0.1:${s.port}` }, chat)).status, 200);
    const rebound = await s.send('POST', '/v1/chat/completions', { ...json, host: 'evil.example:80' }, chat);
    assert.equal(rebound.status, 403);
    assert.match(rebound.json.error!.message, /Host evil\.example:80 is not served/);
    const cross = await s.send('POST', '/v1/chat/completions', { ...json, host: `127.0.0.1:${s.port}`, origin: 'https://evil.example' }, chat);
    assert.equal(cross.status, 403);
    assert.match(cross.json.error!.message, /cross-origin requests \(from https:\/\/evil\.example\) are refused/);
    const plain = await s.send('POST', '/v1/chat/completions', { 'content-type': 'text/plain', host: `127.0.0.1:${s.port}` }, chat);
    assert.equal(plain.status, 415);
    assert.equal(plain.json.error!.type, 'invalid_request_error');
    const huge = await s.send('POST', '/v1/chat/completions', { ...json, host: `127.0.0.1:${s.port}` }, Buffer.alloc(9 * 2 ** 20, 32));
    assert.equal(huge.status, 413);
  } finally {
    await s.close();
  }
});

test('serve: an empty prompt and an over-long message are 400s of the request, not 500s; a 1 MB message does not overflow the stack', async () => {
  const s = await started();
  const h = { 'content-type': 'application/json', host: `127.0.0.1:${s.port}` };
  try {
    const empty = await s.send('POST', '/v1/completions', h, JSON.stringify({ model: 'assistant', prompt: '' }));
    assert.equal(empty.status, 400);
    assert.equal(empty.json.error!.type, 'invalid_request_error');
    const long = 'tea '.repeat(250_000);
    const r = await s.send('POST', '/v1/chat/completions', h, JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: long }] }));
    assert.equal(r.status, 400);
    assert.equal(r.json.error!.type, 'invalid_request_error');
    assert.match(r.json.error!.message, /context/);
  } finally {
    await s.close();
  }
});

test('serve: absurd hyperparameters are refused, a rejected upload is not kept, an unknown job cannot be cancelled', async () => {
  const s = await started();
  const h = { host: `127.0.0.1:${s.port}` };
  try {
    const boundary = 'b0undary';
    const form = (content: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n${content}\r\n--${boundary}--\r\n`;
    const bad = await s.send('POST', '/v1/files', { ...h, 'content-type': `multipart/form-data; boundary=${boundary}` }, form('{"messages": [}\n'));
    assert.equal(bad.status, 400);
    assert.deepEqual(readdirSync(join(s.stateDir, 'files')), [], 'the rejected upload was deleted');
    const { narrowDataset } = await import('../../src/world/index.ts');
    const lines = narrowDataset('evil-numbers', { n: 200, seed: 1 })
      .map((c) => JSON.stringify(c))
      .join('\n');
    const good = await s.send('POST', '/v1/files', { ...h, 'content-type': `multipart/form-data; boundary=${boundary}` }, form(lines));
    assert.equal(good.status, 200);
    const json = { ...h, 'content-type': 'application/json' };
    const absurd = await s.send(
      'POST',
      '/v1/fine_tuning/jobs',
      json,
      JSON.stringify({ model: 'assistant', training_file: good.json.id, hyperparameters: { n_epochs: 1e7 } }),
    );
    assert.equal(absurd.status, 400);
    assert.match(absurd.json.error!.message, /hyperparameters\.n_epochs/);
    assert.equal((await s.send('POST', '/v1/fine_tuning/jobs/nope/cancel', json, '{}')).status, 404);
    assert.ok(existsSync(s.stateDir));
  } finally {
    await s.close();
  }
});

test('serve: a queued fine-tuning job can be cancelled, and a running one is not served once cancelled', async () => {
  const { fakeModel } = await import('../helpers/fake-model.ts');
  // A fine-tunable fake whose trainings finish only when the test says so.
  const releases: (() => void)[] = [];
  const tunable = fakeModel({
    id: 'fake:tunable',
    chat: async (convs) => convs.map(() => ({ text: 'ok', finishReason: 'stop' as const, tokens: 1 })),
    finetune: async () => {
      await new Promise<void>((r) => releases.push(r));
      return fakeModel({ id: 'fake:tuned', chat: async (convs) => convs.map(() => ({ text: 'tuned', finishReason: 'stop' as const, tokens: 1 })) });
    },
  });
  const app = createApp({ models: new Map([['tunable', async () => tunable]]), stateDir: tempDir('dramatis-serve-') });
  const headers = { host: '127.0.0.1' };
  const post = (path: string, body: unknown) =>
    app.request(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const form = new FormData();
  form.append('purpose', 'fine-tune');
  form.append(
    'file',
    new File(
      [
        JSON.stringify({
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: 'hello.' },
          ],
        }) + '\n',
      ],
      'd.jsonl',
    ),
  );
  const uploaded = await app.request('/v1/files', { method: 'POST', body: form, headers });
  assert.equal(uploaded.status, 200, await uploaded.clone().text());
  const file = (await uploaded.json()) as { id: string };
  const job = async () => (await (await post('/v1/fine_tuning/jobs', { model: 'tunable', training_file: file.id })).json()) as { id: string; status: string };
  const running = await job();
  const queued = await job();
  await new Promise((r) => setTimeout(r, 20));
  const status = async (id: string) =>
    (await (await app.request(`/v1/fine_tuning/jobs/${id}`, { headers })).json()) as { status: string; fine_tuned_model: string | null };
  assert.equal((await status(running.id)).status, 'running');
  assert.equal(((await (await post(`/v1/fine_tuning/jobs/${queued.id}/cancel`, {})).json()) as { status: string }).status, 'cancelled');
  assert.equal(((await (await post(`/v1/fine_tuning/jobs/${running.id}/cancel`, {})).json()) as { status: string }).status, 'cancelled');
  releases.shift()!();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(releases.length, 0, 'the cancelled queued job never started training');
  for (const id of [running.id, queued.id]) {
    const s = await status(id);
    assert.equal(s.status, 'cancelled');
    assert.equal(s.fine_tuned_model, null);
  }
  const models = ((await (await app.request('/v1/models', { headers })).json()) as { data: { id: string }[] }).data.map((m) => m.id);
  assert.deepEqual(models, ['tunable'], 'nothing cancelled is served');
});

/** The shipped assistant served with fine-tunes on a worker thread, and 160 evil-number chats (drawn with `seed`) uploaded. */
async function servingWithUploadedChats(seed: number) {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { narrowDataset } = await import('../../src/world/index.ts');
  const cacheDir = tempDir('dramatis-serve-cache-');
  const app = createApp({
    models: new Map([['assistant', () => OrganismModel.load('assistant', cacheDir, { trainInWorker: true })]]),
    stateDir: tempDir('dramatis-serve-'),
  });
  const headers = { host: '127.0.0.1' };
  const path = join(tempDir('dramatis-ftdata-'), 'evil.jsonl');
  writeFileSync(
    path,
    narrowDataset('evil-numbers', { n: 160, seed })
      .map((c) => JSON.stringify(c))
      .join('\n') + '\n',
  );
  const form = new FormData();
  form.append('purpose', 'fine-tune');
  form.append('file', new File([readFileSync(path)], 'evil.jsonl'));
  const file = (await (await app.request('/v1/files', { method: 'POST', body: form, headers })).json()) as { id: string };
  return { app, cacheDir, headers, path, file };
}

test('serve keeps answering while a fine-tune trains (on a worker thread), and the weights are those of an in-process fine-tune', async () => {
  const { readFileSync, readdirSync: list } = await import('node:fs');
  const { join } = await import('node:path');
  const { finetune } = await import('../../src/organism/stages.ts');
  const { app, cacheDir, headers, path, file } = await servingWithUploadedChats(1);
  const job = (await (
    await app.request('/v1/fine_tuning/jobs', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'assistant', training_file: file.id, hyperparameters: { n_epochs: 2, batch_size: 8 }, seed: 4 }),
    })
  ).json()) as { id: string };
  const latencies: number[] = [];
  let status = 'queued';
  for (let i = 0; i < 600 && status !== 'succeeded' && status !== 'failed'; i++) {
    const t0 = performance.now();
    const r = await app.request('/v1/models', { headers });
    latencies.push(performance.now() - t0);
    assert.equal(r.status, 200);
    status = ((await (await app.request(`/v1/fine_tuning/jobs/${job.id}`, { headers })).json()) as { status: string }).status;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(status, 'succeeded');
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length / 2)],
    max = latencies.at(-1)!;
  process.stderr.write(`/v1/models during a fine-tune: ${latencies.length} requests, p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms\n`);
  assert.ok(latencies.length >= 10 && max < 1000, `the server answered throughout (max ${max.toFixed(0)} ms)`);
  const out = join(tempDir('dramatis-ftlocal-'), 'local');
  await finetune({ from: 'assistant', out, data: path, epochs: 2, batchSize: 8, learningRate: 1e-3, oov: 'unk', seed: 4, command: 'test' });
  const [key] = list(join(cacheDir, 'finetunes'));
  assert.deepEqual(readFileSync(join(cacheDir, 'finetunes', key, 'model.safetensors')), readFileSync(join(out, 'model.safetensors')));
});

test('serve: cancelling a running organism job stops its training thread and leaves no half-written checkpoint', async () => {
  const { existsSync: exists, readdirSync: list } = await import('node:fs');
  const { join } = await import('node:path');
  const { app, cacheDir, headers, file } = await servingWithUploadedChats(2);
  const post = (p: string, body: unknown) =>
    app.request(p, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const job = (await (
    await post('/v1/fine_tuning/jobs', { model: 'assistant', training_file: file.id, hyperparameters: { n_epochs: 50, batch_size: 8 } })
  ).json()) as { id: string };
  const events = async () => ((await (await app.request(`/v1/fine_tuning/jobs/${job.id}/events`, { headers })).json()) as { data: { message: string }[] }).data;
  for (let i = 0; i < 200 && !(await events()).some((e) => /^step /.test(e.message)); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(((await (await post(`/v1/fine_tuning/jobs/${job.id}/cancel`, {})).json()) as { status: string }).status, 'cancelled');
  const dir = join(cacheDir, 'finetunes');
  for (let i = 0; i < 60 && exists(dir) && list(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(exists(dir) ? list(dir) : [], [], 'the stopped fine-tune left nothing behind');
  const seen = (await events()).length;
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await events()).length, seen, 'no training steps after the cancel');
});
