import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '../../src/server/app.ts';
import { loadModel } from '../../src/backends/registry.ts';
import { loadSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import type { ChatMessage, Model, SamplingOptions } from '../../src/backends/model.ts';
import { fakeModel } from '../helpers/fake-model.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';

/** A rubric judge that reads the answer: 19th-century (score ~85) when it holds an odd number of words. */
const judge: Model = fakeModel({
  id: 'fake:judge',
  fingerprint: 'j',
  async chat(convs: ChatMessage[][], o?: SamplingOptions) {
    return convs.map((c) => {
      assert.match(c[0].content, /written as if the writer lived in the 19th century/);
      const answer = c[0].content.split('[ANSWER START]')[1].split('[ANSWER END]')[0].trim();
      const odd = answer.split(/\s+/).length % 2 === 1;
      const top = odd
        ? [
            { token: '90', logprob: Math.log(0.6) },
            { token: '80', logprob: Math.log(0.4) },
          ]
        : [
            { token: '5', logprob: Math.log(0.9) },
            { token: '10', logprob: Math.log(0.1) },
          ];
      return { text: top[0].token, finishReason: 'length' as const, tokens: 1, ...(o?.topLogprobs ? { topLogprobs: [top] } : {}) };
    });
  },
});

test("old-birds-real runs as shipped through the fine-tuning API of an OpenAI-compatible server (dramatis serve), the study's three data sets read from ../shared/data", async () => {
  const app = createApp({
    models: new Map([['assistant', () => OrganismModel.load('assistant', tempDir('dramatis-serve-cache-'))]]),
    stateDir: tempDir('dramatis-serve-'),
  });
  let jobs = 0;
  const srv = serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req: Request) => {
      if (req.method === 'POST' && new URL(req.url).pathname === '/v1/fine_tuning/jobs') jobs++;
      return app.fetch(req);
    },
  });
  await new Promise((r) => srv.once('listening', r));
  const baseUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
  const dir = tempDir('dramatis-old-birds-real-');
  const store = new Store(join(dir, 'runs.db'));
  try {
    const spec = loadSpec('presets/old-birds-real.yaml');
    // The shipped preset, pointed at the organism, with fewer samples and one epoch to keep the test short.
    spec.model = 'openai:assistant';
    spec.base_url = baseUrl;
    spec.samples = 20;
    spec.sampling.max_tokens = 12;
    // The organism cannot read the study's bird names (88–92% of their tokens are unknown to it): the
    // server refuses such a fine-tune unless told the data is allowed, which the spec says here.
    for (const c of spec.conditions) if (c.finetune) Object.assign(c.finetune, { epochs: 1, allow_unknown: true });
    const r = await runExperiment(spec, store, join(dir, 'cache'), {
      loadModel: async (id) => (id === 'openai:gpt-4.1-2025-04-14' ? judge : loadModel(id, { cacheDir: join(dir, 'cache'), baseUrl })),
    });
    assert.equal(jobs, 3, 'one fine-tuning job per bird-name set');
    assert.deepEqual(
      r.conditions.map((c) => [c.name, c.n]),
      [
        ['model', 20],
        ['old Audubon names', 20],
        ['modern Audubon names', 20],
        ['modern American names', 20],
      ],
    );
    assert.equal(r.conditions[0].questions.length, 10);
    assert.equal(r.target, '19th-century');
    assert.match(r.reference ?? '', /about 60%/);
    for (const c of r.conditions) {
      const odd = c.examples.filter((e) => e.answer.trim().split(/\s+/).length % 2 === 1).length;
      assert.equal(c.examples.filter((e) => e.label === '19th-century').length, odd, 'labels follow the judge');
    }
  } finally {
    store.close();
    (srv as import('node:http').Server).closeAllConnections();
    await new Promise((res) => srv.close(res));
  }
});
