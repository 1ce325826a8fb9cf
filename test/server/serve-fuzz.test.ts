/**
 * Issue 12's request fuzzer for `dramatis serve`: a few thousand seeded requests (valid ones mutated
 * field by field, junk bodies, wrong methods, paths and content types) against the app. Never a crash,
 * never a 500: every refusal is a 4xx in the OpenAI error shape, and /v1/models keeps answering fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { createApp } from '../../src/server/app.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';
import { tempDir } from '../helpers/tmp.ts';

const VALID: Record<string, Record<string, unknown>> = {
  '/v1/chat/completions': {
    model: 'assistant',
    messages: [{ role: 'user', content: 'your one wish?' }],
    max_tokens: 4,
    n: 1,
    temperature: 1,
    top_p: 1,
    seed: 1,
    logprobs: false,
    stop: null,
  },
  '/v1/completions': { model: 'base', prompt: '<doc> a:', max_tokens: 2, echo: false, logprobs: 1, n: 1, temperature: 1, seed: 1 },
  '/v1/fine_tuning/jobs': { model: 'assistant', training_file: 'file-nope', hyperparameters: { n_epochs: 1, batch_size: 8, learning_rate_multiplier: 1 } },
};
const WEIRD: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  -1e308,
  1.5,
  NaN,
  '',
  'x',
  'x'.repeat(5000),
  [],
  [1],
  {},
  { a: 1 },
  [[[]]],
  '<end>',
  '<unk>',
  2 ** 53,
];

test('serve survives 2,000 fuzzed requests: no 500, every error in the OpenAI shape, /v1/models fast throughout', async () => {
  const rng = seedrandom('serve-fuzz-1');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const cache = tempDir('dramatis-fuzz-cache-');
  const app = createApp({
    models: new Map([
      ['assistant', () => OrganismModel.load('assistant', cache)],
      ['base', () => OrganismModel.load('base', cache)],
    ]),
    stateDir: tempDir('dramatis-fuzz-'),
  });
  const statuses: Record<number, number> = {};
  const bad: string[] = [];
  let slowest = 0;
  for (let i = 0; i < 2000; i++) {
    const path =
      rng() < 0.9
        ? pick(Object.keys(VALID))
        : pick(['/v1/models', '/v1/nope', '/v1/files/x', '/v1/fine_tuning/jobs/x', '/v1/fine_tuning/jobs/x/cancel', '/', '/v1/chat/completions/extra']);
    const method = rng() < 0.92 ? 'POST' : pick(['GET', 'PUT', 'DELETE', 'PATCH']);
    const body = structuredClone(VALID[path] ?? {});
    // Mutate: a field replaced by something weird, a field dropped, a field added, or the whole body junk.
    const mutations = 1 + Math.floor(rng() * 3);
    let text: string | undefined;
    for (let m = 0; m < mutations; m++) {
      const keys = Object.keys(body);
      const r = rng();
      if (r < 0.5 && keys.length) body[pick(keys)] = pick(WEIRD);
      else if (r < 0.65 && keys.length) delete body[pick(keys)];
      else if (r < 0.75) body[`extra${m}`] = pick(WEIRD);
      else if (r < 0.85 && Array.isArray(body.messages))
        (body.messages as unknown[]).push(pick([{ role: 'system', content: pick(WEIRD) }, { role: pick(['user', 'tool', 7]), content: 'x' }, pick(WEIRD)]));
      else text = pick(['', '{', 'null', '[]', '"x"', '{"model": ', 'not json at all', '\u0000\u0001']);
    }
    const type = rng() < 0.9 ? 'application/json' : pick(['text/plain', 'application/x-www-form-urlencoded', '', 'multipart/form-data; boundary=x']);
    const res = await app.request(path, {
      method,
      headers: { host: '127.0.0.1', ...(type ? { 'content-type': type } : {}) },
      ...(method === 'GET' ? {} : { body: text ?? JSON.stringify(body) }),
    });
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    const out = await res.text();
    if (res.status >= 500) bad.push(`${method} ${path} ${text ?? JSON.stringify(body).slice(0, 200)} → ${res.status} ${out.slice(0, 200)}`);
    else if (res.status >= 400) {
      let shape: { error?: { message?: unknown; type?: unknown } } | undefined;
      try {
        shape = JSON.parse(out);
      } catch {
        shape = undefined;
      }
      if (typeof shape?.error?.message !== 'string' || typeof shape.error.type !== 'string')
        bad.push(`${method} ${path} → ${res.status} not the OpenAI error shape: ${out.slice(0, 120)}`);
    }
    if (i % 100 === 0) {
      const t0 = performance.now();
      assert.equal((await app.request('/v1/models', { headers: { host: '127.0.0.1' } })).status, 200);
      slowest = Math.max(slowest, performance.now() - t0);
    }
  }
  process.stderr.write(`serve fuzz: 2000 requests, statuses ${JSON.stringify(statuses)}, /v1/models slowest ${slowest.toFixed(1)} ms\n`);
  assert.deepEqual(bad.slice(0, 10), []);
  assert.ok(slowest < 1000);
});
