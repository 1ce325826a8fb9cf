/**
 * `dramatis serve`: any backend's models over the OpenAI HTTP API (the organism's checkpoints by
 * default), so that every client that speaks it (the official SDKs, dramatis's own openai: backend,
 * evaluation tools) can use them. Each route asks the model for the capability it needs: chat for
 * /v1/chat/completions, raw completion and echo for /v1/completions, fine-tuning for the jobs; a model
 * without it gets a 400 that names the capability.
 *
 * Routes: GET /v1/models, POST /v1/chat/completions (n, temperature, top_p, max_tokens, stop, seed,
 * logprobs, stream), POST /v1/completions (echo + logprobs for scoring). Requests are validated with
 * zod; a bad request gets 400 in the OpenAI error shape, never a crash. Hono gives the routing and the
 * server-sent events.
 *
 * /v1/files and /v1/fine_tuning/jobs are in finetune-jobs.ts. Not yet: top alternatives on
 * /v1/completions (logprobs > 1).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { requestSeed } from '../shared/keys.ts';
import { hasCapability, type Capability, type Model } from '../backends/model.ts';
import { addFinetuneRoutes } from './finetune-jobs.ts';
import { ApiError } from './errors.ts';

export { ApiError };

import type { ModelTable } from './model-table.ts';

export type { ModelTable };

export interface ServeOptions {
  models: ModelTable;
  /** When set, every request needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Where uploaded files and fine-tuned checkpoints go (default: a folder under the system's temp dir). */
  dataDir?: string;
  /** Serve requests for any Host (bound to a non-loopback address on purpose); else loopback names only. */
  anyHost?: boolean;
}

/** Loopback names: a page on another site that rebinds its DNS name to 127.0.0.1 still sends its own Host. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;
/** Request bodies: JSON up to 8 MB; uploaded training files up to 64 MB. */
export const JSON_LIMIT = 8 * 2 ** 20;
export const FILE_LIMIT = 64 * 2 ** 20;

const stopSchema = z.union([z.string(), z.array(z.string()).max(4)]).nullish();

/** Sampling fields that chat and completion requests share. */
const samplingFields = {
  n: z.number().int().min(1).max(128).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stop: stopSchema,
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
};

const chatSchema = z
  .object({
    model: z.string(),
    messages: z
      .array(
        z
          .object({
            role: z.enum(['system', 'developer', 'user', 'assistant']),
            content: z.union([z.string(), z.array(z.object({ type: z.literal('text'), text: z.string() }).passthrough())]),
          })
          .passthrough(),
      )
      .min(1),
    ...samplingFields,
    max_tokens: z.number().int().min(1).nullish(),
    max_completion_tokens: z.number().int().min(1).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
  })
  .passthrough();

const completionSchema = z
  .object({
    model: z.string(),
    prompt: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    ...samplingFields,
    max_tokens: z.number().int().min(0).nullish(),
    echo: z.boolean().nullish(),
    logprobs: z.number().int().min(0).max(5).nullish(),
  })
  .passthrough();

async function body<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ApiError(400, 'the request body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue.path.join('.') || null;
    throw new ApiError(400, `${param ?? 'body'}: ${issue.message}`, 'invalid_request_error', param);
  }
  return parsed.data;
}

const stops = (s: string | string[] | null | undefined) => (s == null ? undefined : Array.isArray(s) ? s : [s]);
const text = (content: z.infer<typeof chatSchema>['messages'][number]['content']) =>
  typeof content === 'string' ? content : content.map((p) => p.text).join('');

/**
 * Where each token starts in the returned text (clients split prompt from continuation by offset). The
 * word-level tokenizer drops spaces and case, so each token is looked up from where the last ended.
 * Approximate for text the tokenizer rewrites (an unknown word becomes <unk>), exact otherwise.
 */
function offsetsIn(text: string, tokens: string[]): number[] {
  const lower = text.toLowerCase();
  let cursor = 0;
  return tokens.map((t) => {
    const at = lower.indexOf(t.toLowerCase(), cursor);
    if (at < 0) {
      // <unk> and the like: the token starts at the next non-space character.
      while (cursor < text.length && /\s/.test(text[cursor])) cursor++;
      return cursor++;
    }
    cursor = at + t.length;
    return at;
  });
}

/** The default folder for uploads: this process's own, removed when it exits (uploads do not outlive the server). */
function temporaryDataDir(): string {
  const dir = join(tmpdir(), `dramatis-serve-${process.pid}`);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What the server draws for choice i of a request with seed S: choice 0 is S itself. */
export function choiceSeeds(seed: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? seed : requestSeed(seed, i)));
}

/** The model as the capability a route needs, or a 400 naming what it lacks. */
function able<C extends Capability>(m: Model, c: C, route: string) {
  if (!hasCapability(m, c))
    throw new ApiError(400, `the model ${m.id} cannot serve ${route}: it lacks the "${c}" capability`, 'invalid_request_error', 'model');
  return m;
}

export function createApp(o: ServeOptions): Hono {
  const app = new Hono();
  const loaded = new Map<string, Promise<Model>>();
  const model = (id: string) => {
    const load = o.models.get(id);
    if (!load)
      throw new ApiError(
        404,
        `The model \`${id}\` does not exist; this server has ${[...o.models.keys()].join(', ')}`,
        'invalid_request_error',
        'model',
        'model_not_found',
      );
    if (!loaded.has(id)) loaded.set(id, load());
    return loaded.get(id)!;
  };

  app.onError((e, c) => {
    const err =
      e instanceof ApiError
        ? e
        : new ApiError(
            e instanceof Error && /context|tokens|stop sequence|is empty/.test(e.message) ? 400 : 500,
            e.message,
            e instanceof Error && /context|tokens|stop sequence|is empty/.test(e.message) ? 'invalid_request_error' : 'server_error',
          );
    return c.json({ error: { message: err.message, type: err.type, param: err.param, code: err.code } }, err.status);
  });
  app.notFound((c) =>
    c.json({ error: { message: `unknown route ${c.req.method} ${c.req.path}`, type: 'invalid_request_error', param: null, code: null } }, 404),
  );

  app.use('*', async (c, next) => {
    // DNS rebinding: another website's page reaches 127.0.0.1 under its own name; refuse that name.
    const host = c.req.header('host');
    if (!o.anyHost && host && !LOOPBACK.test(host))
      throw new ApiError(
        403,
        `Host ${host} is not served: dramatis serve answers loopback names only (bind with --host to serve others)`,
        'invalid_request_error',
      );
    // A browser on another origin (a page the user happens to visit) may not drive the server.
    const origin = c.req.header('origin');
    if (origin && !o.anyHost) {
      let same = false;
      try {
        same = LOOPBACK.test(new URL(origin).host);
      } catch {
        same = false;
      }
      if (!same) throw new ApiError(403, `cross-origin requests (from ${origin}) are refused`, 'invalid_request_error');
    }
    if (o.apiKey && c.req.header('authorization') !== `Bearer ${o.apiKey}`) {
      throw new ApiError(401, 'missing or wrong API key (Authorization: Bearer …)', 'invalid_request_error', null, 'invalid_api_key');
    }
    if (c.req.method === 'POST') {
      const type = (c.req.header('content-type') ?? '').toLowerCase();
      const isFile = c.req.path.endsWith('/files');
      if (isFile ? !type.startsWith('multipart/form-data') : !type.startsWith('application/json'))
        throw new ApiError(
          415,
          `${c.req.path} takes ${isFile ? 'multipart/form-data' : 'application/json'}, not ${type || 'a body without Content-Type'}`,
          'invalid_request_error',
        );
      const length = Number(c.req.header('content-length') ?? 0);
      const limit = isFile ? FILE_LIMIT : JSON_LIMIT;
      if (length > limit) throw new ApiError(413, `the body of ${length} bytes is over the limit of ${limit}`, 'invalid_request_error');
    }
    await next();
  });
  // Bodies without a length (chunked) are cut off at the same limits while they arrive.
  app.use(
    '/v1/files',
    bodyLimit({
      maxSize: FILE_LIMIT,
      onError: () => {
        throw new ApiError(413, `the body is over the limit of ${FILE_LIMIT} bytes`, 'invalid_request_error');
      },
    }),
  );
  app.use(
    '/v1/chat/*',
    bodyLimit({
      maxSize: JSON_LIMIT,
      onError: () => {
        throw new ApiError(413, `the body is over the limit of ${JSON_LIMIT} bytes`, 'invalid_request_error');
      },
    }),
  );
  app.use(
    '/v1/completions',
    bodyLimit({
      maxSize: JSON_LIMIT,
      onError: () => {
        throw new ApiError(413, `the body is over the limit of ${JSON_LIMIT} bytes`, 'invalid_request_error');
      },
    }),
  );
  app.use(
    '/v1/fine_tuning/*',
    bodyLimit({
      maxSize: JSON_LIMIT,
      onError: () => {
        throw new ApiError(413, `the body is over the limit of ${JSON_LIMIT} bytes`, 'invalid_request_error');
      },
    }),
  );

  const created = Math.floor(Date.now() / 1000);
  app.get('/v1/models', (c) => c.json({ object: 'list', data: [...o.models.keys()].map((id) => ({ id, object: 'model', created, owned_by: 'dramatis' })) }));

  app.post('/v1/chat/completions', async (c) => {
    const req = await body(c, chatSchema);
    if (req.top_logprobs && !req.logprobs) throw new ApiError(400, 'top_logprobs needs logprobs: true', 'invalid_request_error', 'top_logprobs');
    const chatter = able(await model(req.model), 'chat', '/v1/chat/completions');
    const n = req.n ?? 1;
    const conv = req.messages.map((m) => ({ role: m.role === 'developer' ? ('system' as const) : m.role, content: text(m.content) }));
    const samples = await chatter.chat(
      Array.from({ length: n }, () => conv),
      {
        temperature: req.temperature ?? 1,
        topP: req.top_p ?? 1,
        maxTokens: req.max_completion_tokens ?? req.max_tokens ?? 64,
        stop: stops(req.stop),
        requestSeeds: choiceSeeds(req.seed ?? randomInt(2 ** 31), n),
        topLogprobs: req.logprobs && req.top_logprobs ? req.top_logprobs : undefined,
        withTokens: true,
      },
    );
    const id = `chatcmpl-${randomUUID()}`;
    if (req.logprobs && samples.some((s) => !s.tokenTexts))
      throw new ApiError(400, `the model ${chatter.id} gives no token log-probabilities`, 'invalid_request_error', 'logprobs');
    const promptTokens = samples.reduce((a, s) => a + (s.promptTokens ?? 0), 0);
    const logprobsOf = (s: (typeof samples)[number]) =>
      req.logprobs
        ? {
            content: s.tokenTexts!.map((t, k) => ({
              token: t,
              logprob: s.tokenLogprobs![k],
              bytes: [...Buffer.from(t)],
              top_logprobs: (s.topLogprobs?.[k] ?? []).map((a) => ({ token: a.token, logprob: a.logprob, bytes: [...Buffer.from(a.token)] })),
            })),
            refusal: null,
          }
        : null;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: samples.reduce((a, s) => a + s.tokens, 0),
      total_tokens: promptTokens + samples.reduce((a, s) => a + s.tokens, 0),
    };
    if (req.stream) {
      // Backends answer whole (the organism samples a batch at once), so each choice streams as one content chunk.
      return streamSSE(c, async (sse) => {
        const chunk = (choices: unknown[]) =>
          sse.writeSSE({ data: JSON.stringify({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: req.model, choices }) });
        for (const [i, s] of samples.entries()) {
          await chunk([{ index: i, delta: { role: 'assistant', content: s.text }, logprobs: logprobsOf(s), finish_reason: null }]);
          await chunk([{ index: i, delta: {}, logprobs: null, finish_reason: s.finishReason }]);
        }
        await sse.writeSSE({ data: '[DONE]' });
      });
    }
    return c.json({
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      choices: samples.map((s, i) => ({
        index: i,
        message: { role: 'assistant', content: s.text, refusal: null },
        logprobs: logprobsOf(s),
        finish_reason: s.finishReason,
      })),
      usage,
    });
  });

  app.post('/v1/completions', async (c) => {
    const req = await body(c, completionSchema);
    if (req.stream) throw new ApiError(400, 'stream is not supported on /v1/completions by this server', 'invalid_request_error', 'stream');
    if ((req.logprobs ?? 0) > 1)
      throw new ApiError(400, 'logprobs above 1 (top alternatives) are not supported by this server yet', 'invalid_request_error', 'logprobs');
    const m = await model(req.model);
    const prompts = Array.isArray(req.prompt) ? req.prompt : [req.prompt];
    const n = req.n ?? 1;
    const maxTokens = req.max_tokens ?? 16;
    const echoed = req.echo ? await able(m, 'echo', '/v1/completions with echo').echo(prompts) : undefined;
    // One seed per request (random when none is given); prompt 0, choice 0 draws from it as is.
    const requestSeedOf = req.seed ?? randomInt(2 ** 31);
    const choices: unknown[] = [];
    const generated =
      maxTokens > 0
        ? await able(m, 'complete', '/v1/completions').complete(
            prompts.flatMap((p) => Array.from({ length: n }, () => p)),
            {
              temperature: req.temperature ?? 1,
              topP: req.top_p ?? 1,
              maxTokens,
              stop: stops(req.stop),
              requestSeeds: prompts.flatMap((_, p) => choiceSeeds(p === 0 ? requestSeedOf : requestSeed(requestSeedOf, `prompt:${p}`), n)),
              withTokens: req.logprobs != null,
            },
          )
        : undefined;
    if (req.logprobs != null && generated?.some((g) => !g.tokenTexts))
      throw new ApiError(400, `the model ${m.id} gives no token log-probabilities`, 'invalid_request_error', 'logprobs');
    prompts.forEach((prompt, p) => {
      for (let i = 0; i < n; i++) {
        const g = generated?.[p * n + i];
        const e = echoed?.[p];
        const tokens = [...(e?.tokens ?? []), ...(g?.tokenTexts ?? [])];
        const tokenLogprobs = [...(e?.logprobs ?? []), ...(g?.tokenLogprobs ?? [])];
        const fullText = (req.echo ? prompt + (g ? ' ' : '') : '') + (g?.text ?? '');
        choices.push({
          index: p * n + i,
          text: fullText,
          logprobs: req.logprobs != null ? { tokens, token_logprobs: tokenLogprobs, top_logprobs: null, text_offset: offsetsIn(fullText, tokens) } : null,
          finish_reason: g ? g.finishReason : 'length',
        });
      }
    });
    return c.json({ id: `cmpl-${randomUUID()}`, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: req.model, choices });
  });

  addFinetuneRoutes(app, {
    models: o.models,
    dataDir: o.dataDir ?? temporaryDataDir(),
    modelOf: model,
  });

  return app;
}
