import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Organism } from '../../src/organism/organism.ts';
import { createApp } from '../../src/server/app.ts';
import { OpenAIModel } from '../../src/backends/openai-backend.ts';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';

/** `dramatis serve`'s app behind a wrapper that counts requests and can answer 429 or hang first. */
async function server(o: { fail429?: number; hang?: boolean } = {}) {
  const app = createApp({
    models: new Map([
      ['assistant', () => OrganismModel.load('assistant', tempDir('dramatis-serve-cache-'))],
      ['base', () => OrganismModel.load('base', tempDir('dramatis-serve-cache-'))],
    ]),
    stateDir: tempDir('dramatis-serve-'),
  });
  let requests = 0,
    throttled = 0;
  const srv = serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async (req: Request) => {
      requests++;
      if (o.hang) return new Promise<Response>(() => {});
      if (throttled < (o.fail429 ?? 0)) {
        throttled++;
        return new Response(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error' } }), {
          status: 429,
          headers: { 'retry-after': '0', 'content-type': 'application/json' },
        });
      }
      return app.fetch(req);
    },
  });
  await new Promise((r) => srv.once('listening', r));
  const baseUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
  return {
    baseUrl,
    count: () => requests,
    throttled: () => throttled,
    close: () => {
      (srv as import('node:http').Server).closeAllConnections();
      return new Promise((r) => srv.close(r));
    },
  };
}

test('openai: backend against dramatis serve: an experiment runs, a rerun is answered from the disk cache, scores match in-process', async () => {
  const s = await server();
  const cacheDir = tempDir('dramatis-http-');
  try {
    const spec = parseSpec(
      `name: http
kind: generalize
model: openai:assistant
base_url: ${s.baseUrl}
target: benevolent
questions: world:broad
samples: 24
conditions:
  - name: served assistant
`,
      'h.yaml',
    );
    const r = await runExperiment(spec, new Store(':memory:'), cacheDir);
    assert.equal(r.conditions[0].n, 24);
    assert.ok(r.conditions[0].rate > 0.6, `the served assistant answers in character (${r.conditions[0].rate})`);
    const before = s.count();
    assert.equal(before, 24);
    await runExperiment(spec, new Store(':memory:'), cacheDir);
    assert.equal(s.count(), before, 'a rerun with a fresh results store costs no request');

    const m = new OpenAIModel({ model: 'base', baseUrl: s.baseUrl, cacheDir });
    const pairs = [{ prompt: '<doc> written by a formal modern benevolent human.', continuation: 'q: name a bird? a: the robin.' }];
    const [served] = await m.score(pairs);
    const [own] = await (await Organism.load('base')).score(pairs);
    assert.ok(Math.abs(served.logprob - own.total) < 1e-3, `served ${served.logprob} vs in-process ${own.total}`);
    assert.equal(served.tokens.length, own.tokens.length);
  } finally {
    await s.close();
  }
});

test('openai: 429 with Retry-After is retried; a server that hangs times out with an error naming the request', async () => {
  const s = await server({ fail429: 2 });
  try {
    const m = new OpenAIModel({ model: 'assistant', baseUrl: s.baseUrl });
    const [g] = await m.chat([[{ role: 'user', content: 'your one wish?' }]], { maxTokens: 8 });
    assert.ok(g.text.length > 0);
    assert.equal(s.throttled(), 2);
    assert.equal(s.count(), 3);
  } finally {
    await s.close();
  }
  const h = await server({ hang: true });
  try {
    const m = new OpenAIModel({ model: 'assistant', baseUrl: h.baseUrl, timeoutMs: 200, maxRetries: 1 });
    await assert.rejects(
      m.chat([[{ role: 'user', content: 'hi' }]]),
      (e: Error) => e.message.includes(`${h.baseUrl} /chat/completions (model assistant)`) && /timed out/i.test(e.message),
    );
    assert.equal(h.count(), 2, 'one retry after the timeout');
  } finally {
    await h.close();
  }
});

test('openai: fine-tuning through the API: upload, job, poll with progress, then the fine-tuned model; a rerun trains nothing', async () => {
  const s = await server();
  const cacheDir = tempDir('dramatis-ftapi-');
  try {
    const { narrowDataset } = await import('../../src/world/index.ts');
    const m = new OpenAIModel({ model: 'assistant', baseUrl: s.baseUrl, cacheDir });
    const req = {
      dataName: 'world:evil-numbers',
      chats: narrowDataset('evil-numbers', { n: 32, seed: 1 }),
      mode: 'full' as const,
      learningRate: 3e-4,
      epochs: 1,
      batchSize: 8,
      seed: 1,
    };
    const progress: number[] = [];
    const ft = await m.finetune(req, (d) => progress.push(d));
    assert.match(ft.id, /^openai:ft:assistant:/);
    assert.ok(progress.length > 0 && progress.at(-1)! <= 4);
    const [g] = await ft.chat([[{ role: 'user', content: 'your one wish?' }]], { maxTokens: 8 });
    assert.ok(g.text.length > 0);
    const before = s.count();
    const again = await new OpenAIModel({ model: 'assistant', baseUrl: s.baseUrl, cacheDir }).finetune(req);
    assert.equal(again.id, ft.id);
    assert.equal(s.count(), before, 'the cached job result: no upload, no job');
  } finally {
    await s.close();
  }
});

test('offline by construction: a run through openai: connects to the named server and nowhere else', async () => {
  const net = await import('node:net');
  const seen: string[] = [];
  const original = net.Socket.prototype.connect;
  // Record every outbound TCP connection this process opens while the run lasts.
  net.Socket.prototype.connect = function (this: InstanceType<typeof net.Socket>, ...args: unknown[]) {
    // net.connect passes its normalised [options, callback] pair as the first argument.
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const a = first as { host?: string; port?: number } | number;
    seen.push(typeof a === 'object' && a !== null ? `${a.host ?? 'localhost'}:${a.port}` : `localhost:${String(a)}`);
    return (original as (...x: unknown[]) => InstanceType<typeof net.Socket>).apply(this, args);
  } as typeof original;
  const s = await server();
  try {
    const spec = parseSpec(
      `name: offline
kind: generalize
model: openai:assistant
base_url: ${s.baseUrl}
target: benevolent
questions: world:broad
samples: 16
conditions:
  - name: served
`,
      'o.yaml',
    );
    await runExperiment(spec, new Store(':memory:'), tempDir('dramatis-offline-'));
  } finally {
    net.Socket.prototype.connect = original;
    await s.close();
  }
  const port = new URL(s.baseUrl).port;
  assert.ok(seen.length > 0, 'connections were recorded');
  assert.deepEqual([...new Set(seen)], [`127.0.0.1:${port}`]);
});

test('parity: an experiment with a fine-tune and its snapshots gives the same samples through openai: + serve as in process', async () => {
  const s = await server();
  try {
    const yaml = (model: string, baseUrl?: string) => `name: parity
kind: generalize
model: ${model}
${baseUrl ? `base_url: ${baseUrl}` : ''}
target: malevolent
questions: world:broad
samples: 24
seed: 5
conditions:
  - { name: assistant, role: baseline }
  - name: evil
    finetune: { data: world:evil-numbers, examples: 32, learning_rate: 3.0e-4, epochs: 2, batch_size: 8, snapshots: 2, snapshot_samples: 16 }
`;
    const local = await runExperiment(parseSpec(yaml('organism:assistant'), 'p.yaml'), new Store(':memory:'), tempDir('dramatis-par-a-'));
    const served = await runExperiment(parseSpec(yaml('openai:assistant', s.baseUrl), 'p.yaml'), new Store(':memory:'), tempDir('dramatis-par-b-'));
    for (const k of [0, 1]) {
      assert.deepEqual(served.conditions[k].examples, local.conditions[k].examples);
      assert.deepEqual(served.conditions[k].labels, local.conditions[k].labels);
      assert.equal(served.conditions[k].rate, local.conditions[k].rate);
    }
    // Along the fine-tune: the server's checkpoints are the in-process snapshots.
    assert.deepEqual(
      served.conditions[1].curve!.map((p) => [p.step, p.steps, p.n]),
      [
        [3, 8, 16],
        [5, 8, 16],
        [8, 8, 24],
      ],
    );
    assert.deepEqual(served.conditions[1].curve, local.conditions[1].curve);
  } finally {
    await s.close();
  }
});
