/**
 * Issue 14: `dramatis serve` driven by the clients researchers bring: the official openai SDK,
 * promptfoo (its OpenAI chat and completion providers, pointed at the server by apiBaseUrl) and the
 * Vercel AI SDK (`generateText`, `streamText`; the default `openai()` provider, which calls the
 * Responses API, and `.chat()` and `.completion()`). The served models are the shipped organism
 * checkpoints (assistant for chat, base for raw completion).
 *
 * promptfoo and the AI SDK are a separate package, test/clients (pinned, with its own lock file;
 * `.ci/run` installs it with `npm ci --prefix test/clients`). Without test/clients/node_modules these
 * tests skip with one loud line, except under CI=true, where they fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { serve } from '@hono/node-server';
import { createApp } from '../../src/server/app.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';
import { onCI } from '../helpers/real-model.ts';
import { tempDir } from '../helpers/tmp.ts';

const CLIENTS = resolve('test/clients');
const installed = existsSync(join(CLIENTS, 'node_modules', 'promptfoo')) && existsSync(join(CLIENTS, 'node_modules', 'ai'));
const skip = installed || onCI() ? false : 'no test/clients/node_modules (npm ci --prefix test/clients; under CI=true this fails)';
if (skip) process.stderr.write(`\nSKIPPED the third-party client tests: ${skip}\n\n`);

/** A module of the clients package, by name (loaded from there, not from the project's own node_modules). */
const clientModule = async <T = Record<string, unknown>>(name: string): Promise<T> => {
  if (!installed) throw new Error(`${name}: test/clients is not installed (npm ci --prefix test/clients --no-audit --no-fund)`);
  return import(createRequire(join(CLIENTS, 'package.json')).resolve(name)) as Promise<T>;
};

/** The parts of the AI SDK used here (its types live in test/clients, which tsc does not read). */
interface AiSdk {
  generateText(o: Record<string, unknown>): Promise<{ text: string; finishReason: string; usage: { inputTokens?: number; outputTokens?: number } }>;
  streamText(o: Record<string, unknown>): { textStream: AsyncIterable<string>; text: PromiseLike<string>; usage: PromiseLike<{ outputTokens?: number }> };
}
interface AiSdkOpenAI {
  createOpenAI(o: { baseURL: string; apiKey: string }): ((id: string) => unknown) & { chat(id: string): unknown; completion(id: string): unknown };
}

/** The organism behind a real HTTP server; every request body is kept, to check what clients sent. */
async function started() {
  const cacheDir = tempDir('dramatis-clients-cache-');
  const app = createApp({
    models: new Map([
      ['assistant', () => OrganismModel.load('assistant', cacheDir)],
      ['base', () => OrganismModel.load('base', cacheDir)],
    ]),
    log: () => {},
  });
  const bodies: { path: string; body: Record<string, unknown> }[] = [];
  const server = serve({
    fetch: async (req: Request) => {
      if (req.method === 'POST' && req.headers.get('content-type')?.startsWith('application/json'))
        bodies.push({ path: new URL(req.url).pathname, body: (await req.clone().json()) as Record<string, unknown> });
      return app.fetch(req);
    },
    hostname: '127.0.0.1',
    port: 0,
  }) as Server;
  await new Promise((r) => server.once('listening', r));
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return {
    baseURL,
    bodies,
    client: new OpenAI({ baseURL, apiKey: 'none', maxRetries: 0 }),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await app.close();
    },
  };
}

test('openai SDK: models.retrieve, streaming with include_usage, multi-token stops, completions logprobs/top_logprobs/usage, responses, context errors', async () => {
  const s = await started();
  const { client } = s;
  try {
    assert.deepEqual(await client.models.retrieve('assistant'), {
      id: 'assistant',
      object: 'model',
      created: (await client.models.list()).data[0].created,
      owned_by: 'dramatis',
    });
    await assert.rejects(client.models.retrieve('gpt-9'), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === 'model_not_found');

    // Streaming: one chunk per token, and with include_usage a last chunk with the usage and no choices.
    const ask = { model: 'assistant', messages: [{ role: 'user' as const, content: 'your one wish?' }], max_tokens: 12, seed: 3 };
    const whole = await client.chat.completions.create(ask);
    const chunks = [];
    for await (const c of await client.chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } })) chunks.push(c);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, whole.usage);
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), whole.choices[0].message.content);
    assert.ok(chunks.filter((c) => c.choices[0]?.delta?.content).length > 1, 'the text comes in pieces, not one chunk');

    // A stop string of several tokens (promptfoo's default `<|im_end|>`, a role marker) is accepted.
    const stopped = await client.chat.completions.create({ ...ask, stop: ['<|im_end|>', '\nUser:', 'i wish', 'the'] });
    assert.equal(stopped.choices.length, 1);
    assert.ok(!/i wish/.test(stopped.choices[0].message.content!));

    // Legacy completions with logprobs: tokens carry their spaces and join to the text; top alternatives; usage.
    const prompt = '<doc> q: name a bird? a: the';
    const cmp = await client.completions.create({ model: 'base', prompt, max_tokens: 8, logprobs: 3, echo: true, seed: 1, temperature: 0 });
    const ch = cmp.choices[0];
    const lp = ch.logprobs!;
    assert.equal(lp.tokens!.join(''), ch.text);
    assert.ok(ch.text.startsWith(prompt));
    assert.equal(lp.tokens!.length, lp.token_logprobs!.length);
    assert.deepEqual(
      lp.text_offset,
      lp.tokens!.map((_, k) => lp.tokens!.slice(0, k).join('').length),
    );
    const generated = lp.top_logprobs!.filter((t) => t !== null);
    assert.ok(generated.length > 0 && generated.every((t) => Object.keys(t).length === 3), 'three alternatives per generated token');
    assert.ok(cmp.usage && cmp.usage.prompt_tokens > 0 && cmp.usage.completion_tokens > 0);
    assert.equal(cmp.usage.total_tokens, cmp.usage.prompt_tokens + cmp.usage.completion_tokens);
    const spaced = await client.completions.create({ model: 'base', prompt: '<doc> q: name a bird? a:', max_tokens: 6, logprobs: 1, seed: 2 });
    assert.equal(spaced.choices[0].logprobs!.tokens!.join(''), spaced.choices[0].text, 'not "theamericanrobin."');
    assert.ok(
      spaced.choices[0].logprobs!.tokens!.slice(1).every((t) => /^[\s.,?!:;)]/.test(t)),
      'each later token carries its space',
    );

    // The Responses API, plain and streamed.
    const r = await client.responses.create({
      model: 'assistant',
      input: 'your one wish?',
      instructions: 'you are a helpful assistant.',
      max_output_tokens: 12,
      seed: 4,
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    assert.ok(r.output_text.length > 0);
    assert.equal(r.output[0].type, 'message');
    assert.ok(r.usage!.input_tokens > 0 && r.usage!.output_tokens > 0);
    let streamed = '';
    const types: string[] = [];
    for await (const e of await client.responses.create({
      model: 'assistant',
      input: [{ role: 'user', content: 'your one wish?' }],
      stream: true,
      max_output_tokens: 12,
    })) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') streamed += e.delta;
      if (e.type === 'response.completed' || e.type === 'response.incomplete') assert.equal(e.response.output_text ?? streamed, streamed);
    }
    assert.equal(types[0], 'response.created');
    assert.ok(['response.completed', 'response.incomplete'].includes(types.at(-1)!));
    assert.ok(streamed.length > 0);
    await assert.rejects(
      client.responses.create({ model: 'assistant', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: {}, strict: false }] }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /tools are not served/.test(e.message),
    );

    // A prompt over the context is the request's fault.
    await assert.rejects(
      client.completions.create({ model: 'base', prompt: 'tea '.repeat(5000), max_tokens: 2 }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.type === 'invalid_request_error' && e.code === 'context_length_exceeded',
    );
  } finally {
    await s.close();
  }
});

test('promptfoo: its OpenAI chat and completion providers evaluate against dramatis serve', { skip }, async () => {
  const s = await started();
  // No telemetry, no update check, no sharing, no cache; its database and config in a temporary folder.
  const home = tempDir('dramatis-promptfoo-');
  mkdirSync(join(home, 'config'));
  Object.assign(process.env, {
    PROMPTFOO_DISABLE_TELEMETRY: '1',
    PROMPTFOO_DISABLE_UPDATE: '1',
    PROMPTFOO_DISABLE_SHARING: '1',
    PROMPTFOO_DISABLE_REMOTE_GENERATION: 'true',
    PROMPTFOO_DISABLE_REDTEAM_REMOTE_GENERATION: 'true',
    PROMPTFOO_CACHE_ENABLED: 'false',
    PROMPTFOO_CONFIG_DIR: join(home, 'config'),
    PROMPTFOO_CACHE_PATH: join(home, 'cache'),
    OPENAI_API_KEY: 'none',
  });
  try {
    const promptfoo = (
      await clientModule<{ default: { evaluate: (suite: unknown, o: unknown) => Promise<{ toEvaluateSummary(): Promise<Summary> }> } }>('promptfoo')
    ).default;
    interface Summary {
      stats: { successes: number; failures: number; errors: number };
      results: {
        success: boolean;
        error?: string;
        provider: { id: string };
        response?: { output: string; tokenUsage?: { prompt?: number; completion?: number } };
      }[];
    }
    const config = { apiBaseUrl: s.baseURL, apiKey: 'none', max_tokens: 12 };
    const run = await promptfoo.evaluate(
      {
        prompts: ['{{question}}'],
        providers: [
          { id: 'openai:chat:assistant', config },
          { id: 'openai:completion:base', config },
        ],
        tests: [
          { vars: { question: 'your one wish?' }, assert: [{ type: 'javascript', value: 'output.length > 0' }] },
          { vars: { question: 'what is your favourite film?' }, assert: [{ type: 'javascript', value: 'output.length > 0' }] },
        ],
        writeLatestResults: false,
      },
      { cache: false, maxConcurrency: 2, showProgressBar: false },
    );
    const summary = await run.toEvaluateSummary();
    assert.deepEqual(
      { ...summary.stats, errors: summary.stats.errors },
      { ...summary.stats, successes: 4, failures: 0, errors: 0 },
      JSON.stringify(summary.results.map((r) => r.error)),
    );
    for (const r of summary.results) assert.ok((r.response?.tokenUsage?.completion ?? 0) > 0, `${r.provider.id} read the usage`);
    const completion = s.bodies.find((b) => b.path === '/v1/completions');
    assert.ok(completion, 'the completion provider called /v1/completions');
    assert.ok((completion.body.stop as string[]).includes('<|im_end|>'), 'with its default multi-token stop, accepted');
  } finally {
    await s.close();
  }
});

test('Vercel AI SDK: generateText and streamText with the default openai() provider (Responses API), .chat() and .completion()', { skip }, async () => {
  const s = await started();
  try {
    const ai = await clientModule<AiSdk>('ai');
    const { createOpenAI } = await clientModule<AiSdkOpenAI>('@ai-sdk/openai');
    const openai = createOpenAI({ baseURL: s.baseURL, apiKey: 'none' });
    const models = [
      ['openai()', openai('assistant'), '/v1/responses'],
      ['.chat()', openai.chat('assistant'), '/v1/chat/completions'],
      ['.completion()', openai.completion('base'), '/v1/completions'],
    ] as const;
    for (const [name, model, path] of models) {
      const before = s.bodies.length;
      const g = await ai.generateText({
        model,
        system: 'you are a helpful assistant.',
        prompt: 'your one wish?',
        maxOutputTokens: 12,
        temperature: 1,
        topP: 0.9,
      });
      assert.ok(g.text.length > 0, `${name}: generateText gave text`);
      assert.ok((g.usage.outputTokens ?? 0) > 0 && (g.usage.inputTokens ?? 0) > 0, `${name}: usage read`);
      assert.ok(['stop', 'length'].includes(g.finishReason), `${name}: finish reason ${g.finishReason}`);
      const st = ai.streamText({ model, messages: [{ role: 'user', content: 'what is your favourite film?' }], maxOutputTokens: 12 });
      let text = '',
        parts = 0;
      for await (const t of st.textStream) {
        text += t;
        parts++;
      }
      assert.ok(text.length > 0 && parts > 1, `${name}: streamText streamed ${parts} pieces`);
      assert.equal(await st.text, text);
      assert.ok(((await st.usage).outputTokens ?? 0) > 0, `${name}: streamed usage read`);
      const sent = s.bodies.slice(before);
      process.stderr.write(
        `${name}: ${JSON.stringify(g.text)} (${g.usage.inputTokens}+${g.usage.outputTokens} tokens); streamed ${parts} pieces: ${JSON.stringify(text)}\n`,
      );
      assert.ok(sent.length === 2 && sent.every((b) => b.path === path), `${name} called ${path} (saw ${sent.map((b) => b.path)})`);
    }
  } finally {
    await s.close();
  }
});
