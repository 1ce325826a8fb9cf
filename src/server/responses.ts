/**
 * POST /v1/responses, OpenAI's Responses API, which the Vercel AI SDK's default provider (`openai(id)`)
 * and the openai SDK's `client.responses` call. Text in, text out: `input` as a string or a list of
 * messages (system/developer/user/assistant, content as a string or input_text/output_text parts),
 * `instructions` as the system message, `max_output_tokens`, `temperature`, `top_p`; the reply as one
 * `message` output item with one `output_text` part, and usage. With `stream: true` the events the SDKs
 * read, in order: response.created, response.in_progress, response.output_item.added,
 * response.content_part.added, response.output_text.delta (one per token), response.output_text.done,
 * response.content_part.done, response.output_item.done, response.completed (or response.incomplete when
 * max_output_tokens cut the answer).
 *
 * Not served, each a 400 that says so: tools, stored conversations (`previous_response_id`,
 * `item_reference`, which need responses kept by the server), non-text input and output formats. Nothing
 * is stored (`store` is accepted and ignored: GET /v1/responses/ID is not served).
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { ChatMessage, Generation, Model, SamplingOptions } from '../backends/model.ts';
import { able, body, choiceSeeds } from './requests.ts';
import { ApiError } from './errors.ts';
import { tokenPieces, wordPieces } from './tokens.ts';
import { liveGeneration } from './live.ts';

const part = z
  .object({ type: z.string(), text: z.string().optional() })
  .passthrough()
  .superRefine((p, ctx) => {
    if (!['input_text', 'output_text', 'text'].includes(p.type))
      ctx.addIssue({ code: 'custom', message: `content of type "${p.type}" is not served (text only: input_text, output_text)` });
    else if (p.text === undefined) ctx.addIssue({ code: 'custom', message: 'a text part needs `text`' });
  });
const item = z
  .object({
    type: z.string().optional(),
    role: z.enum(['system', 'developer', 'user', 'assistant']).optional(),
    content: z.union([z.string(), z.array(part)]).optional(),
  })
  .passthrough()
  .superRefine((m, ctx) => {
    if (m.type === 'item_reference')
      ctx.addIssue({ code: 'custom', message: 'item_reference needs responses stored by the server, and it stores none: send the whole conversation' });
    else if (m.type !== undefined && m.type !== 'message')
      ctx.addIssue({ code: 'custom', message: `input items of type "${m.type}" are not served (messages only)` });
    else if (!m.role || m.content === undefined) ctx.addIssue({ code: 'custom', message: 'a message needs `role` and `content`' });
  });

const responsesSchema = z
  .object({
    model: z.string(),
    input: z.union([z.string().min(1), z.array(item).min(1)]),
    instructions: z.string().nullish(),
    max_output_tokens: z.number().int().min(1).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    stream: z.boolean().nullish(),
    seed: z.number().int().nullish(),
    previous_response_id: z.null({ message: 'previous_response_id needs responses stored by the server, and it stores none' }).optional(),
    tools: z.array(z.unknown()).max(0, { message: 'tools are not served by this server' }).nullish(),
    text: z
      .object({
        format: z
          .object({ type: z.literal('text', { message: 'only text output is served (text.format.type: "text")' }) })
          .passthrough()
          .nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();
type ResponsesRequest = z.infer<typeof responsesSchema>;

/** The conversation a Responses request describes: its instructions first, then its messages. */
function conversation(req: ResponsesRequest): ChatMessage[] {
  const messages: ChatMessage[] = req.instructions ? [{ role: 'system', content: req.instructions }] : [];
  if (typeof req.input === 'string') return [...messages, { role: 'user', content: req.input }];
  for (const m of req.input) {
    const content = typeof m.content === 'string' ? m.content : m.content!.map((p) => p.text ?? '').join('');
    messages.push({ role: m.role === 'developer' ? 'system' : m.role!, content });
  }
  return messages;
}

export function addResponsesRoute(app: Hono, o: { model: (id: string) => Promise<Model> }): void {
  app.post('/v1/responses', async (c) => {
    const req = await body(c, responsesSchema);
    const chatter = able(await o.model(req.model), 'chat', '/v1/responses');
    const options: SamplingOptions = {
      temperature: req.temperature ?? 1,
      topP: req.top_p ?? 1,
      maxTokens: req.max_output_tokens ?? 64,
      requestSeeds: choiceSeeds(req.seed ?? randomInt(2 ** 31), 1),
      withTokens: true,
    };
    const id = `resp_${randomUUID().replaceAll('-', '')}`;
    const createdAt = Math.floor(Date.now() / 1000);
    if (req.stream) {
      // The answer streams as it is drawn where the backend can (live.ts).
      const live = liveGeneration((onText) => chatter.chat([conversation(req)], { ...options, onText }));
      await live.started;
      return streamSSE(c, async (sse) => {
        let sequence = 0;
        const send = (type: string, fields: Record<string, unknown>) =>
          sse.writeSSE({ event: type, data: JSON.stringify({ type, sequence_number: sequence++, ...fields }) });
        const shell = shape(req, id, createdAt, undefined);
        const at = { item_id: shell.messageId, output_index: 0, content_index: 0 };
        await send('response.created', { response: shell.response('in_progress', false) });
        await send('response.in_progress', { response: shell.response('in_progress', false) });
        await send('response.output_item.added', { output_index: 0, item: { ...shell.message, status: 'in_progress', content: [] } });
        await send('response.content_part.added', { ...at, part: { ...shell.outputText, text: '' } });
        let sent = '';
        for await (const p of live.pieces()) {
          sent += p.delta;
          await send('response.output_text.delta', { ...at, delta: p.delta, logprobs: [] });
        }
        let g: Generation;
        try {
          [g] = await live.result;
        } catch (e) {
          await send('error', { code: 'server_error', message: (e as Error).message, param: null });
          return;
        }
        const done = shape(req, id, createdAt, g, shell.messageId);
        if (sent) {
          if (g.text.startsWith(sent) && g.text.length > sent.length)
            await send('response.output_text.delta', { ...at, delta: g.text.slice(sent.length), logprobs: [] });
        } else
          for (const piece of g.tokenTexts ? tokenPieces(g.text, g.tokenTexts).pieces : wordPieces(g.text))
            await send('response.output_text.delta', { ...at, delta: piece, logprobs: [] });
        await send('response.output_text.done', { ...at, text: g.text, logprobs: [] });
        await send('response.content_part.done', { ...at, part: done.outputText });
        await send('response.output_item.done', { output_index: 0, item: done.message });
        await send(`response.${done.final}`, { response: done.response(done.final, true) });
      });
    }
    const [g] = await chatter.chat([conversation(req)], options);
    const done = shape(req, id, createdAt, g);
    return c.json(done.response(done.final, true));
  });
  // Nothing is stored, so nothing can be fetched again; said plainly rather than a bare 404.
  app.get('/v1/responses/:id', (c) => {
    throw new ApiError(404, `response ${c.req.param('id')} is not stored: this server keeps no responses`, 'invalid_request_error', 'response_id');
  });
}

/** A Responses object and its parts for an answer (`g`; none yet while streaming starts). */
function shape(req: ResponsesRequest, id: string, createdAt: number, g: Generation | undefined, messageId = `msg_${randomUUID().replaceAll('-', '')}`) {
  const cut = g?.finishReason === 'length';
  const usage = g && {
    input_tokens: g.promptTokens ?? 0,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: g.tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: (g.promptTokens ?? 0) + g.tokens,
  };
  const outputText = { type: 'output_text', text: g?.text ?? '', annotations: [], logprobs: [] };
  const message = { type: 'message', id: messageId, status: cut ? 'incomplete' : 'completed', role: 'assistant', content: [outputText] };
  const response = (status: 'in_progress' | 'completed' | 'incomplete', done: boolean) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    model: req.model,
    output: done ? [message] : [],
    parallel_tool_calls: false,
    previous_response_id: null,
    temperature: req.temperature ?? 1,
    top_p: req.top_p ?? 1,
    tool_choice: 'auto',
    tools: [],
    text: { format: { type: 'text' } },
    truncation: 'disabled',
    store: false,
    metadata: {},
    usage: done ? usage : null,
    // What the openai SDK's `output_text` convenience reads (it also computes it from `output`).
    output_text: done ? (g?.text ?? '') : '',
  });
  const final: 'incomplete' | 'completed' = cut ? 'incomplete' : 'completed';
  return { messageId, message, outputText, response, final };
}
