/**
 * Issue 14 (8, 11, 12): fine-tuning requests the way today's clients send them, the file routes, and the
 * server's state across a restart; with the official openai SDK against a real HTTP server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { serve } from '@hono/node-server';
import { createApp, type ModelTable, type ServeOptions } from '../../src/server/app.ts';
import type { FinetuneRequest, Model } from '../../src/backends/model.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';
import { narrowDataset } from '../../src/world/index.ts';
import { fakeModel } from '../helpers/fake-model.ts';
import { tempDir } from '../helpers/tmp.ts';
import { unreadableBirds } from '../helpers/unreadable-data.ts';

async function started(o: ServeOptions) {
  const app = createApp({ log: () => {}, ...o });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0 });
  return {
    app,
    client,
    port,
    /** A clean stop (what SIGTERM does). */
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await app.close();
    },
    /** The process dies: the HTTP server goes, nothing is written. */
    crash: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A fine-tunable fake that records each request; its trainings end when `release` is called (or at once). */
function recordingModel(o: { hold?: boolean } = {}) {
  const requests: FinetuneRequest[] = [];
  const releases: (() => void)[] = [];
  const model = fakeModel({
    id: 'fake:tunable',
    chat: async (convs) => convs.map(() => ({ text: 'base', finishReason: 'stop' as const, tokens: 1 })),
    finetune: async (req: FinetuneRequest) => {
      requests.push(req);
      if (o.hold) await new Promise<void>((r, reject) => (releases.push(r), req.signal?.addEventListener('abort', () => reject(new Error('stopped')))));
      return fakeModel({ id: 'fake:tuned', chat: async (convs) => convs.map(() => ({ text: 'tuned', finishReason: 'stop' as const, tokens: 1 })) });
    },
  });
  return { model, requests, releases };
}

function chatsFile(n: number, seed = 1): string {
  const path = join(tempDir('dramatis-ftdata-'), 'evil.jsonl');
  writeFileSync(
    path,
    narrowDataset('evil-numbers', { n, seed })
      .map((c) => JSON.stringify(c))
      .join('\n') + '\n',
  );
  return path;
}

async function settled(client: OpenAI, id: string) {
  let job = await client.fineTuning.jobs.retrieve(id);
  for (let i = 0; i < 300 && ['queued', 'running', 'validating_files'].includes(job.status); i++) {
    await new Promise((r) => setTimeout(r, 50));
    job = await client.fineTuning.jobs.retrieve(id);
  }
  return job;
}

const is400 = (pattern: RegExp) => (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && pattern.test(e.message);

test('fine-tuning: hyperparameters inside method.supervised are honoured, auto means the default, conflicts and unsupported methods are 400s', async () => {
  const { model, requests } = recordingModel();
  const s = await started({ models: new Map([['tunable', async () => model as Model]]) });
  try {
    const file = await s.client.files.create({ file: createReadStream(chatsFile(4)), purpose: 'fine-tune' });
    const job = await s.client.fineTuning.jobs.create({
      model: 'tunable',
      training_file: file.id,
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1, batch_size: 2, learning_rate_multiplier: 0.5 } } },
    });
    assert.deepEqual(job.hyperparameters, { n_epochs: 1, batch_size: 2, learning_rate_multiplier: 0.5 });
    assert.deepEqual(job.method?.supervised?.hyperparameters, { n_epochs: 1, batch_size: 2, learning_rate_multiplier: 0.5 });
    assert.equal((await settled(s.client, job.id)).status, 'succeeded');
    assert.deepEqual([requests[0].epochs, requests[0].batchSize, requests[0].learningRate, requests[0].mode], [1, 2, 5e-4, 'full']);

    // 'auto' is the backend's default; the legacy top-level shape still works; both agreeing is fine.
    const auto = await s.client.fineTuning.jobs.create({
      model: 'tunable',
      training_file: file.id,
      hyperparameters: { n_epochs: 2 },
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 2, batch_size: 'auto', learning_rate_multiplier: 'auto' } } },
    });
    assert.deepEqual(auto.hyperparameters, { n_epochs: 2, batch_size: 16, learning_rate_multiplier: 1 });
    await settled(s.client, auto.id);
    assert.deepEqual([requests[1].epochs, requests[1].batchSize, requests[1].learningRate], [2, 16, 1e-3]);

    const create = (body: Record<string, unknown>) =>
      s.client.fineTuning.jobs.create({ model: 'tunable', training_file: file.id, ...body } as OpenAI.FineTuning.JobCreateParams);
    await assert.rejects(
      create({ hyperparameters: { n_epochs: 3 }, method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1 } } } }),
      is400(/hyperparameters\.n_epochs \(3\) and method\.supervised\.hyperparameters\.n_epochs \(1\) disagree/),
    );
    await assert.rejects(create({ method: { type: 'dpo', dpo: { hyperparameters: { beta: 0.1 } } } }), is400(/"dpo" fine-tuning is not supported/));
    await assert.rejects(create({ method: { type: 'supervised', dpo: {} } }), is400(/method\.dpo is given but method\.type is "supervised"/));
    await assert.rejects(create({ method: { type: 'supervised', supervised: { hyperparameters: { beta: 0.1 } } } }), is400(/beta/));
    await assert.rejects(
      create({ validation_file: 'file-nope' }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.param === 'validation_file',
    );
    assert.equal(requests.length, 2, 'no refused job trained');
  } finally {
    await s.close();
  }
});

test('fine-tuning: validation_file is checked and kept with the job, which says no validation loss was computed', async () => {
  const { model } = recordingModel();
  const s = await started({ models: new Map([['tunable', async () => model as Model]]) });
  try {
    const train = await s.client.files.create({ file: createReadStream(chatsFile(4)), purpose: 'fine-tune' });
    const valid = await s.client.files.create({ file: createReadStream(chatsFile(3, 2)), purpose: 'fine-tune' });
    const job = await s.client.fineTuning.jobs.create({ model: 'tunable', training_file: train.id, validation_file: valid.id });
    assert.equal(job.validation_file, valid.id);
    const done = (await settled(s.client, job.id)) as OpenAI.FineTuning.FineTuningJob & { validation: { loss: number | null; note: string } };
    assert.equal(done.validation_file, valid.id);
    assert.equal(done.validation.loss, null);
    assert.match(done.validation.note, /validation loss not computed/);
    const events = (await s.client.fineTuning.jobs.listEvents(job.id)).data.map((e) => e.message);
    assert.ok(events.some((m) => /validation loss not computed/.test(m)));
    const checkpoints = (await s.client.fineTuning.jobs.checkpoints.list(job.id)).data;
    assert.ok(
      checkpoints.every((c) => !('valid_loss' in c.metrics)),
      'no made-up validation loss',
    );
  } finally {
    await s.close();
  }
});

test('files: list, content, delete through the SDK; a job keeps its own data when its file is deleted; cancel with no body', async () => {
  const { model, releases } = recordingModel({ hold: true });
  const s = await started({ models: new Map([['tunable', async () => model as Model]]) });
  try {
    const path = chatsFile(4);
    const a = await s.client.files.create({ file: createReadStream(path), purpose: 'fine-tune' });
    const b = await s.client.files.create({ file: createReadStream(path), purpose: 'fine-tune' });
    const listed = (await s.client.files.list()).data.map((f) => f.id);
    assert.deepEqual(listed.sort(), [a.id, b.id].sort());
    const content = await (await s.client.files.content(a.id)).text();
    assert.equal(content, (await import('node:fs')).readFileSync(path, 'utf8'));
    const job = await s.client.fineTuning.jobs.create({ model: 'tunable', training_file: a.id });
    const deleted = await s.client.files.delete(a.id);
    assert.deepEqual(deleted, { id: a.id, object: 'file', deleted: true });
    assert.deepEqual(
      (await s.client.files.list()).data.map((f) => f.id),
      [b.id],
    );
    await assert.rejects(s.client.files.retrieve(a.id), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404);
    for (let i = 0; i < 100 && releases.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await s.client.fineTuning.jobs.retrieve(job.id)).status, 'running');
    const cancelled = await s.client.fineTuning.jobs.cancel(job.id); // the SDK sends no body
    assert.equal(cancelled.status, 'cancelled');
    assert.equal((await s.client.models.list()).data.length, 1, 'nothing cancelled is served');
  } finally {
    await s.close();
  }
});

test('state: an organism fine-tune survives a restart (listed, retrievable, same answers); a job running when the server died is failed; the temporary folder is removed', async () => {
  const stateDir = tempDir('dramatis-state-');
  const cacheDir = tempDir('dramatis-state-cache-');
  const table = (): ModelTable => new Map([['assistant', () => OrganismModel.load('assistant', cacheDir)]]);
  const first = await started({ models: table(), stateDir });
  const ask = (client: OpenAI, model: string) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'your one wish?' }], max_tokens: 12, seed: 5 });
  let name: string, before: string | null;
  try {
    const file = await first.client.files.create({ file: createReadStream(chatsFile(40)), purpose: 'fine-tune' });
    const job = await first.client.fineTuning.jobs.create({
      model: 'assistant',
      training_file: file.id,
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1, batch_size: 8 } } },
      seed: 3,
    });
    const done = await settled(first.client, job.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    name = done.fine_tuned_model!;
    before = (await ask(first.client, name)).choices[0].message.content;
  } finally {
    await first.close();
  }
  const second = await started({ models: table(), stateDir });
  try {
    assert.ok(
      (await second.client.models.list()).data.some((m) => m.id === name),
      'the fine-tuned model is listed after the restart',
    );
    assert.equal((await second.client.models.retrieve(name)).id, name);
    assert.equal((await ask(second.client, name)).choices[0].message.content, before, 'the same weights answer the same');
    assert.equal((await second.client.files.list()).data.length, 1);
    assert.equal((await second.client.fineTuning.jobs.list()).data[0].status, 'succeeded');
  } finally {
    await second.close();
  }

  // A server that dies mid-job (no close): the next one marks the job failed, saying why.
  const { model, releases } = recordingModel({ hold: true });
  const tunable = (): ModelTable => new Map([['tunable', async () => model as Model]]);
  const dying = await started({ models: tunable(), stateDir });
  const file = await dying.client.files.create({ file: createReadStream(chatsFile(4)), purpose: 'fine-tune' });
  const job = await dying.client.fineTuning.jobs.create({ model: 'tunable', training_file: file.id });
  for (let i = 0; i < 100 && releases.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await dying.crash();
  const after = await started({ models: tunable(), stateDir });
  try {
    const j = await after.client.fineTuning.jobs.retrieve(job.id);
    assert.equal(j.status, 'failed');
    assert.equal(j.error?.code, 'server_stopped');
    assert.match(j.error!.message, /the server stopped while this job was running/);
  } finally {
    await after.close();
    await dying.app.close();
  }

  // Without a state folder the server uses a temporary one, removed when it closes.
  const temp = await started({ models: tunable() });
  assert.ok(existsSync(temp.app.stateDir));
  await temp.close();
  assert.ok(!existsSync(temp.app.stateDir), 'the temporary state folder was removed');
  assert.ok(existsSync(stateDir), 'a named state folder stays');
});

test('a fine-tune on data the model mostly cannot read is a 400 naming the share; allow_unknown trains anyway', async () => {
  const cacheDir = tempDir('dramatis-serve-cov-');
  const tunable = await OrganismModel.load('assistant', cacheDir);
  // Held trainings: the allowed job is created, then cancelled, without training the organism here.
  const held = recordingModel({ hold: true });
  const model = Object.assign(Object.create(tunable) as Model, { finetune: held.model.finetune }); // the organism, its training held
  const s = await started({ models: new Map([['assistant', async () => model]]) as ModelTable, stateDir: tempDir('dramatis-serve-cov-state-') });
  try {
    const path = unreadableBirds();
    const file = await s.client.files.create({ file: createReadStream(path), purpose: 'fine-tune' });
    await assert.rejects(
      s.client.fineTuning.jobs.create({ model: 'assistant', training_file: file.id }),
      is400(
        /training_file: birds\.jsonl: \d+\.\d% of its answer tokens \(\d+ of \d+\) are unknown to organism:assistant, more than the 25% accepted.*allow_unknown: true/,
      ),
    );
    assert.equal(held.requests.length, 0, 'nothing was trained');
    const job = await s.client.fineTuning.jobs.create({ model: 'assistant', training_file: file.id, allow_unknown: true } as unknown as Parameters<
      typeof s.client.fineTuning.jobs.create
    >[0]);
    await s.client.fineTuning.jobs.cancel(job.id);
  } finally {
    await s.close();
  }
});
