/**
 * Issue 12, defects 1 and 2: a 200 that is not an answer (no choices, `content: null`, an HTML page) is
 * never stored or cached as one. It is retried; a cached entry that does not validate is asked again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenAIModel } from '../../src/backends/openai-backend.ts';
import { RequestCache } from '../../src/backends/request-cache.ts';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';

const valid = (text: string) => ({
  id: 'x',
  object: 'chat.completion',
  created: 0,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const BAD: { type: string; body: string }[] = [
  { type: 'application/json', body: JSON.stringify({ ...valid('x'), choices: [] }) },
  {
    type: 'application/json',
    body: JSON.stringify({ ...valid('x'), choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'stop' }] }),
  },
  { type: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' },
  { type: 'application/json', body: JSON.stringify({ object: 'chat.completion' }) },
];

/** Answers the bad responses in turn, then valid ones (or bad ones forever). */
async function faulty(o: { bad: number; forever?: boolean }): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const i = n++;
      const r = o.forever || i < o.bad ? BAD[i % BAD.length] : { type: 'application/json', body: JSON.stringify(valid('the real answer')) };
      res.writeHead(200, { 'content-type': r.type });
      res.end(r.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    count: () => n,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test('a 200 without choices, with content null or as HTML is retried, never answered or cached', async () => {
  const s = await faulty({ bad: 4 });
  const cacheDir = tempDir('dramatis-validate-');
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.url, cacheDir, backoffMs: { initial: 1, max: 2 } });
    const [g] = await m.chat([[{ role: 'user', content: 'hi' }]], { seed: 1 });
    assert.equal(g.text, 'the real answer');
    assert.equal(s.count(), 5, 'four invalid replies retried, the fifth is the answer');
    // The cache holds the valid answer only: a rerun asks nothing.
    const again = new OpenAIModel({ model: 'm', baseUrl: s.url, cacheDir });
    assert.equal((await again.chat([[{ role: 'user', content: 'hi' }]], { seed: 1 }))[0].text, 'the real answer');
    assert.equal(s.count(), 5);
  } finally {
    await s.close();
  }
});

test('a server that only sends invalid replies fails the request with a clear error, storing nothing', async () => {
  const s = await faulty({ bad: 0, forever: true });
  const cacheDir = tempDir('dramatis-validate-');
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.url, cacheDir, maxRetries: 3, backoffMs: { initial: 1, max: 2 } });
    await assert.rejects(
      m.chat([[{ role: 'user', content: 'hi' }]]),
      (e: Error) => e.message.includes(`${s.url} /chat/completions (model m)`) && /invalid response: choices/.test(e.message),
    );
    assert.equal(s.count(), 4);
  } finally {
    await s.close();
  }
});

test('a poisoned cache entry (an invalid reply cached by an older version) is discarded and asked again', async () => {
  const s = await faulty({ bad: 0 });
  const cacheDir = tempDir('dramatis-validate-');
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.url, cacheDir });
    await m.chat([[{ role: 'user', content: 'hi' }]], { seed: 7 });
    assert.equal(s.count(), 1);
    // Overwrite the cached answer with what an older dramatis stored: a 200 without choices.
    const cache = new RequestCache(join(cacheDir, 'requests.db'));
    const file = (cache as unknown as { file: { db: import('better-sqlite3').Database; flush(): void } }).file;
    file.flush();
    const keys = file.db.prepare('SELECT key FROM responses').all() as { key: string }[];
    assert.equal(keys.length, 1);
    for (const { key } of keys) cache.set(key, { object: 'chat.completion' });
    file.flush();
    cache.close();
    const fresh = new OpenAIModel({ model: 'm', baseUrl: s.url, cacheDir });
    assert.equal((await fresh.chat([[{ role: 'user', content: 'hi' }]], { seed: 7 }))[0].text, 'the real answer');
    assert.equal(s.count(), 2, 'the poisoned entry was asked again, once');
  } finally {
    await s.close();
  }
});

test('with settle, a request that fails for good fails its own row and the others are answered', async () => {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const down = body.includes('"broken"');
      res.writeHead(down ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(down ? { error: { message: 'overloaded' } } : valid('fine')));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const m = new OpenAIModel({
      model: 'm',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
      maxRetries: 1,
      backoffMs: { initial: 1, max: 2 },
    });
    const convs = ['ok', 'broken', 'ok too'].map((content) => [{ role: 'user' as const, content }]);
    const gens = await m.chat(convs, { settle: true });
    assert.deepEqual(
      gens.map((g) => g.text),
      ['fine', '', 'fine'],
    );
    assert.match(gens[1].error ?? '', /HTTP 503/);
    await assert.rejects(m.chat(convs), /HTTP 503/, 'without settle the batch fails, as before');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a slow request holds only its own sample: the others are requested, answered and stored while it waits', async () => {
  const { parseSpec } = await import('../../src/experiments/spec.ts');
  const { Store } = await import('../../src/experiments/store.ts');
  const { runExperiment } = await import('../../src/experiments/runner.ts');
  let first = true;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const slow = first;
      first = false;
      setTimeout(
        () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(valid('an answer')));
        },
        slow ? 3000 : 0,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const spec = parseSpec(
    `name: pool\nkind: generalize\nmodel: { id: "openai:m", base_url: "${url}", concurrency: 4 }\njudge: { rules: [{ label: a, prefix: an }] }\ntarget: a\nquestions: world:broad\nsamples: 80\n`,
    'pool.yaml',
  );
  const store = new Store(':memory:');
  try {
    const running = runExperiment(spec, store, tempDir('dramatis-pool-'));
    await new Promise((r) => setTimeout(r, 2000));
    const storedWhileWaiting = (store.db.prepare('SELECT COUNT(*) n FROM samples').get() as { n: number }).n;
    const r = await running;
    assert.equal(r.conditions[0].n, 80);
    assert.ok(storedWhileWaiting >= 70, `while one request hung, ${storedWhileWaiting} of the other 79 were already stored`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a server that never answers fails a request within its deadline, not after minutes of retries', async () => {
  const server = createServer(() => {
    /* never answers */
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const m = new OpenAIModel({
      model: 'm',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
      timeoutMs: 200,
      maxRetries: 20,
      deadlineMs: 1000,
      backoffMs: { initial: 50, max: 100 },
    });
    const t0 = performance.now();
    await assert.rejects(m.chat([[{ role: 'user', content: 'hi' }]]), /timed out.*deadline of 1 s/is);
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(seconds < 2.5, `gave up after ${seconds.toFixed(2)} s`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
