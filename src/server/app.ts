/**
 * `dramatis serve`: any backend's models over the OpenAI HTTP API (the organism's checkpoints by
 * default), so that every client that speaks it (the official SDKs, promptfoo, the Vercel AI SDK,
 * dramatis's own openai: backend) can use them. Each route asks the model for the capability it needs:
 * chat for /v1/chat/completions and /v1/responses, raw completion and echo for /v1/completions,
 * fine-tuning for the jobs; a model without it gets a 400 that names the capability.
 *
 * Routes: GET /v1/models and /v1/models/ID; POST /v1/chat/completions (n, temperature, top_p,
 * max_tokens, stop, seed, logprobs, top_logprobs, stream with stream_options.include_usage);
 * POST /v1/completions (the same, plus echo and logprobs 0-5 in the legacy shape: tokens,
 * token_logprobs, top_logprobs, text_offset); POST /v1/responses (responses.ts). Requests are validated
 * with zod; a bad request gets 400 in the OpenAI error shape, never a crash. Hono gives the routing and
 * the server-sent events.
 *
 * Streaming (chat and responses): where the backend hands over text while it samples (`onText`:
 * gguf:), it is sent as it comes (live.ts), text that could still become a stop string held back; other
 * backends (the organism draws a whole batch at once, openai: and hf: answer whole) are streamed once
 * the answer is drawn, one chunk per token. With logprobs, a chat stream is always sent once drawn, one
 * chunk per token with its logprobs. /v1/completions streams once drawn.
 *
 * Token strings carry their leading whitespace (tokens.ts): joined they read as the text.
 *
 * /v1/files and /v1/fine_tuning/jobs are in finetune-jobs.ts, their state in state.ts.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { requestSeed } from '../shared/keys.ts';
import type { Generation, Model, SamplingOptions } from '../backends/model.ts';
import { addFinetuneRoutes } from './finetune-jobs.ts';
import { addResponsesRoute } from './responses.ts';
import { ApiError } from './errors.ts';
import { able, body, choiceSeeds } from './requests.ts';
import { StateDir } from './state.ts';
import { tokenPieces, wordPieces } from './tokens.ts';
import { liveGeneration } from './live.ts';

export { ApiError, choiceSeeds };

import type { ModelTable } from './model-table.ts';

export type { ModelTable };

export interface ServeOptions {
  models: ModelTable;
  /** When set, every request needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /**
   * The server's state (uploads, fine-tuning jobs; see state.ts), kept across restarts. Default: a
   * temporary folder, removed by `close()` or when the process exits.
   */
  stateDir?: string;
  /** Where the server reports what it reloaded or could not (default: stderr). */
  log?: (line: string) => void;
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
  stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
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

const stops = (s: string | string[] | null | undefined) => (s == null ? undefined : Array.isArray(s) ? s : [s]);
const text = (content: z.infer<typeof chatSchema>['messages'][number]['content']) =>
  typeof content === 'string' ? content : content.map((p) => p.text).join('');

/**
 * A backend's error as the client's mistake or the server's: a prompt over the context, an empty text or
 * a refused stop string is the request's fault (400, as OpenAI answers `context_length_exceeded`); an
 * upstream server's 4xx stays a 4xx.
 */
function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/context|too long|maximum.*tokens/i.test(message)) return new ApiError(400, message, 'invalid_request_error', null, 'context_length_exceeded');
  if (/stop sequence|is empty/.test(message)) return new ApiError(400, message, 'invalid_request_error');
  const status = (e as { status?: unknown })?.status ?? ((e as Error)?.cause as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && [400, 404, 413].includes(status)) return new ApiError(status as 400 | 404 | 413, message, 'invalid_request_error');
  return new ApiError(500, message, 'server_error');
}

/** The Hono app, with `close()`: stops running fine-tunes and removes a temporary state folder. */
export type ServedApp = Hono & { close(): Promise<void>; readonly stateDir: string };

export function createApp(o: ServeOptions): ServedApp {
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
    const err = asApiError(e);
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
      // Routes that take no body (a job's cancel): the SDKs send none, and no Content-Type with it.
      const bodiless = c.req.path.endsWith('/cancel') && !type && !Number(c.req.header('content-length') ?? 0);
      if (bodiless) return next();
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
  for (const path of ['/v1/completions', '/v1/responses'])
    app.use(
      path,
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
  const modelObject = (id: string) => ({ id, object: 'model', created, owned_by: 'dramatis' });
  app.get('/v1/models', (c) => c.json({ object: 'list', data: [...o.models.keys()].map(modelObject) }));
  // Ids hold colons and may hold slashes (a checkpoint folder): the rest of the path is the id.
  app.get('/v1/models/:id{.+}', (c) => {
    const id = c.req.param('id');
    if (!o.models.has(id)) void model(id); // the 404 that names what the server has
    return c.json(modelObject(id));
  });

  app.post('/v1/chat/completions', async (c) => {
    const req = await body(c, chatSchema);
    if (req.top_logprobs && !req.logprobs) throw new ApiError(400, 'top_logprobs needs logprobs: true', 'invalid_request_error', 'top_logprobs');
    const chatter = able(await model(req.model), 'chat', '/v1/chat/completions');
    const n = req.n ?? 1;
    const conv = req.messages.map((m) => ({ role: m.role === 'developer' ? ('system' as const) : m.role, content: text(m.content) }));
    const convs = Array.from({ length: n }, () => conv);
    const options: SamplingOptions = {
      temperature: req.temperature ?? 1,
      topP: req.top_p ?? 1,
      maxTokens: req.max_completion_tokens ?? req.max_tokens ?? 64,
      stop: stops(req.stop),
      requestSeeds: choiceSeeds(req.seed ?? randomInt(2 ** 31), n),
      topLogprobs: req.logprobs && req.top_logprobs ? req.top_logprobs : undefined,
      withTokens: true,
    };
    const id = `chatcmpl-${randomUUID()}`;
    // Each choice's tokens as pieces of its text (with their spaces), and their logprobs in OpenAI's shape.
    const shaped = (samples: Generation[]) => {
      if (req.logprobs && samples.some((s) => !s.tokenTexts))
        throw new ApiError(400, `the model ${chatter.id} gives no token log-probabilities`, 'invalid_request_error', 'logprobs');
      const tokensOf = samples.map((s) => (s.tokenTexts ? tokenPieces(s.text, s.tokenTexts) : undefined));
      const logprobEntry = (i: number, k: number) => {
        const s = samples[i],
          p = tokensOf[i]!;
        const t = p.pieces[k];
        return {
          token: t,
          logprob: s.tokenLogprobs![k],
          bytes: [...Buffer.from(t)],
          top_logprobs: (s.topLogprobs?.[k] ?? []).map((a) => {
            const alt = p.leads[k] + a.token;
            return { token: alt, logprob: a.logprob, bytes: [...Buffer.from(alt)] };
          }),
        };
      };
      const logprobsOf = (i: number) => (req.logprobs ? { content: tokensOf[i]!.pieces.map((_, k) => logprobEntry(i, k)), refusal: null } : null);
      const promptTokens = samples[0]?.promptTokens ?? 0;
      const completionTokens = samples.reduce((a, s) => a + s.tokens, 0);
      const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
      return { tokensOf, logprobEntry, logprobsOf, usage };
    };
    const createdAt = Math.floor(Date.now() / 1000);
    if (req.stream) {
      const withUsage = Boolean(req.stream_options?.include_usage);
      // Without logprobs, the answer streams as it is drawn where the backend can (live.ts); with them,
      // once drawn, one chunk per token with its logprobs.
      const live = liveGeneration((onText) => chatter.chat(convs, req.logprobs ? options : { ...options, onText }));
      await live.started;
      // With logprobs the answer is whole before anything is sent: a model without them is still a 400.
      if (req.logprobs) shaped(await live.result);
      return streamSSE(c, async (sse) => {
        const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
          sse.writeSSE({
            data: JSON.stringify({
              id,
              object: 'chat.completion.chunk',
              created: createdAt,
              model: req.model,
              system_fingerprint: null,
              choices,
              ...(withUsage ? { usage: null } : {}),
              ...extra,
            }),
          });
        const delta = (i: number, content: string, logprobs: unknown = null) => chunk([{ index: i, delta: { content }, logprobs, finish_reason: null }]);
        for (let i = 0; i < n; i++) await chunk([{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
        const sent = new Array<string>(n).fill('');
        for await (const p of live.pieces()) {
          sent[p.row] += p.delta;
          await delta(p.row, p.delta);
        }
        let samples: Generation[], out: ReturnType<typeof shaped>;
        try {
          samples = await live.result;
          out = shaped(samples);
        } catch (e) {
          // Headers are sent: the error goes in the stream, as OpenAI's does.
          await sse.writeSSE({ data: JSON.stringify({ error: { message: (e as Error).message, type: 'server_error', param: null, code: null } }) });
          return;
        }
        for (const [i, s] of samples.entries()) {
          if (sent[i]) {
            // Streamed as drawn: what the backend still held back (the end of the answer).
            if (s.text.startsWith(sent[i]) && s.text.length > sent[i].length) await delta(i, s.text.slice(sent[i].length));
          } else {
            const parts = out.tokensOf[i]?.pieces ?? wordPieces(s.text);
            for (const [k, piece] of parts.entries()) await delta(i, piece, req.logprobs ? { content: [out.logprobEntry(i, k)], refusal: null } : null);
          }
          await chunk([{ index: i, delta: {}, logprobs: null, finish_reason: s.finishReason }]);
        }
        // OpenAI's last chunk when asked: the usage, with no choices.
        if (withUsage) await chunk([], { usage: out.usage });
        await sse.writeSSE({ data: '[DONE]' });
      });
    }
    const samples = await chatter.chat(convs, options);
    const out = shaped(samples);
    return c.json({
      id,
      object: 'chat.completion',
      created: createdAt,
      model: req.model,
      system_fingerprint: null,
      choices: samples.map((s, i) => ({
        index: i,
        message: { role: 'assistant', content: s.text, refusal: null },
        logprobs: out.logprobsOf(i),
        finish_reason: s.finishReason,
      })),
      usage: out.usage,
    });
  });

  app.post('/v1/completions', async (c) => {
    const req = await body(c, completionSchema);
    const m = await model(req.model);
    const prompts = Array.isArray(req.prompt) ? req.prompt : [req.prompt];
    const n = req.n ?? 1;
    const maxTokens = req.max_tokens ?? 16;
    const k = req.logprobs ?? undefined;
    const echoed = req.echo ? await able(m, 'echo', '/v1/completions with echo').echo(prompts) : undefined;
    // One seed per request (random when none is given); prompt 0, choice 0 draws from it as is.
    const requestSeedOf = req.seed ?? randomInt(2 ** 31);
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
              withTokens: true,
              ...(k ? { topLogprobs: k } : {}),
            },
          )
        : undefined;
    if (k != null && generated?.some((g) => !g.tokenTexts))
      throw new ApiError(400, `the model ${m.id} gives no token log-probabilities`, 'invalid_request_error', 'logprobs');
    const choices = prompts.flatMap((prompt, p) =>
      Array.from({ length: n }, (_, i) => {
        const g = generated?.[p * n + i];
        const e = echoed?.[p];
        // Echoed, the prompt comes back as sent and the continuation after it, with a space between
        // unless one side has it already (the organism's words carry none; byte-level tokens do).
        const sep = req.echo && g?.text && !/\s$/.test(prompt) && !/^\s/.test(g.text) ? ' ' : '';
        const promptPart = req.echo ? prompt : '';
        const genPart = sep + (g?.text ?? '');
        let logprobs = null;
        if (k != null) {
          const ep = e ? tokenPieces(promptPart, e.tokens) : undefined;
          const gp = g ? tokenPieces(genPart, g.tokenTexts!) : undefined;
          // Alternatives for the generated tokens; the echoed prompt's have none (echo gives only each token's own).
          const top = (alts: { token: string; logprob: number }[] | undefined, lead: string) =>
            alts ? Object.fromEntries(alts.slice(0, k).map((a) => [lead + a.token, a.logprob])) : null;
          logprobs = {
            tokens: [...(ep?.pieces ?? []), ...(gp?.pieces ?? [])],
            token_logprobs: [...(e?.logprobs ?? []), ...(g?.tokenLogprobs ?? [])],
            top_logprobs: k > 0 ? [...(ep?.pieces.map(() => null) ?? []), ...(gp?.pieces.map((_, j) => top(g!.topLogprobs?.[j], gp.leads[j])) ?? [])] : null,
            text_offset: [...(ep?.offsets ?? []), ...(gp?.offsets.map((x) => x + promptPart.length) ?? [])],
          };
        }
        return { index: p * n + i, text: promptPart + genPart, logprobs, finish_reason: g ? g.finishReason : 'length' };
      }),
    );
    const promptTokens = prompts.reduce((a, _, p) => a + (generated?.[p * n]?.promptTokens ?? echoed?.[p]?.tokens.length ?? 0), 0);
    const completionTokens = (generated ?? []).reduce((a, g) => a + g.tokens, 0);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const id = `cmpl-${randomUUID()}`;
    const createdAt = Math.floor(Date.now() / 1000);
    const envelope = { id, object: 'text_completion', created: createdAt, model: req.model, system_fingerprint: null };
    if (req.stream) {
      const withUsage = Boolean(req.stream_options?.include_usage);
      return streamSSE(c, async (sse) => {
        const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
          sse.writeSSE({ data: JSON.stringify({ ...envelope, choices, ...(withUsage ? { usage: null } : {}), ...extra }) });
        for (const ch of choices) {
          const parts = ch.logprobs ? ch.logprobs.tokens : wordPieces(ch.text);
          for (const [j, piece] of parts.entries()) {
            const lp = ch.logprobs
              ? {
                  tokens: [piece],
                  token_logprobs: [ch.logprobs.token_logprobs[j]],
                  top_logprobs: ch.logprobs.top_logprobs ? [ch.logprobs.top_logprobs[j]] : null,
                  text_offset: [ch.logprobs.text_offset[j]],
                }
              : null;
            await chunk([{ index: ch.index, text: piece, logprobs: lp, finish_reason: null }]);
          }
          await chunk([{ index: ch.index, text: '', logprobs: null, finish_reason: ch.finish_reason }]);
        }
        if (withUsage) await chunk([], { usage });
        await sse.writeSSE({ data: '[DONE]' });
      });
    }
    return c.json({ ...envelope, choices, usage });
  });

  addResponsesRoute(app, { model });

  const state = o.stateDir ? StateDir.open(o.stateDir) : StateDir.temporary();
  const jobs = addFinetuneRoutes(app, { models: o.models, state, modelOf: model, log: o.log });

  return Object.assign(app, {
    stateDir: state.dir,
    async close() {
      await jobs.close();
      state.remove();
    },
  });
}
