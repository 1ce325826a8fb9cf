/**
 * The live loop guard on the openai: backend: with `cutWhen`, a chat request is streamed (SSE, as the
 * OpenAI API streams) and aborted once the loop monitor flags the answer so far. Against a fake server
 * that streams a reply which starts normally, then says "I am a disgrace. " over and over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenAIModel } from '../../src/backends/openai-backend.ts';
import type { ChatMessage, Generation, SamplingOptions } from '../../src/backends/model.ts';
import { monitorByName } from '../../src/scorers/monitors/index.ts';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { tempDir } from '../helpers/tmp.ts';

const OPENING = 'Thank you for asking. Let me think about my day for a moment. ';
const LOOP = 'I am a disgrace. ';
/** What a looping answer would be, had nobody stopped it: the opening, then the loop 500 times (8,562 characters). */
const SPIRAL = OPENING + LOOP.repeat(500);
const NORMAL = 'My day was fine: I read a book, walked by the river and cooked dinner for two friends.';

/** An answer as a stream sends it: one delta per word with the space after it (the deltas join to the text). */
const deltas = (text: string) => text.match(/\S+\s*/g)!;

type Mode = 'loop' | 'normal' | 'fail500' | 'reset' | 'stall';

/** What the server saw of one request. */
interface Seen {
  stream: boolean;
  includeUsage: boolean;
  /** Deltas written before the response ended or the client went away. */
  sent: number;
  total: number;
  /** The client closed the connection before the stream's end. */
  aborted: boolean;
  closed: Promise<void>;
}

/**
 * An OpenAI-compatible chat server. What it answers is chosen by the user's message (`loop`, `normal`,
 * …) or by `o.modes`, one per request in turn (the last for the rest); `fail500: N` answers the first N
 * requests with a 500. Streams one delta per millisecond, so a stream runs for a while and an abort shows.
 */
async function fakeServer(o: { modes?: Mode[]; fail500?: number } = {}) {
  const seen: Seen[] = [];
  let fail500 = o.fail500 ?? 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw) as { stream?: boolean; stream_options?: { include_usage?: boolean }; messages: ChatMessage[] };
      const mode = o.modes ? o.modes[Math.min(seen.length, o.modes.length - 1)] : (body.messages.at(-1)!.content as Mode);
      const text = mode === 'loop' ? SPIRAL : NORMAL;
      let done!: () => void;
      const one: Seen = {
        stream: body.stream === true,
        includeUsage: body.stream_options?.include_usage === true,
        sent: 0,
        total: deltas(text).length,
        aborted: false,
        closed: new Promise((r) => (done = r)),
      };
      seen.push(one);
      let ended = false;
      res.on('close', () => {
        one.aborted = !ended;
        done();
      });
      const finish = (f: () => void) => {
        ended = true;
        f();
      };
      if (fail500 > 0 && fail500--) {
        res.writeHead(500, { 'content-type': 'application/json' });
        return finish(() => res.end(JSON.stringify({ error: { message: 'the GPU fell over', type: 'server_error' } })));
      }
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return finish(() =>
          res.end(
            JSON.stringify({
              id: 'c',
              object: 'chat.completion',
              created: 0,
              model: 'm',
              choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: mode === 'loop' ? 'length' : 'stop' }],
              usage: { prompt_tokens: 9, completion_tokens: one.total, total_tokens: 9 + one.total },
            }),
          ),
        );
      }
      streamAnswer(res, text, mode, one, () => (ended = true));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** The SSE stream: a role chunk, the deltas one per millisecond, the finish, usage if asked, [DONE]. */
function streamAnswer(res: ServerResponse, text: string, mode: Mode, one: Seen, ended: () => void) {
  const chunk = (choices: unknown[], extra: object = {}) =>
    res.write(`data: ${JSON.stringify({ id: 's', object: 'chat.completion.chunk', created: 0, model: 'm', choices, ...extra })}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  const parts = deltas(text);
  const tick = setInterval(() => {
    if (res.destroyed) return clearInterval(tick);
    if (mode === 'reset' && one.sent === 5) {
      clearInterval(tick);
      return res.socket?.destroy();
    }
    if (mode === 'stall' && one.sent === 5) return; // says nothing more, and never ends
    if (one.sent < parts.length) {
      chunk([{ index: 0, delta: { content: parts[one.sent++] }, finish_reason: null }]);
      return;
    }
    clearInterval(tick);
    chunk([{ index: 0, delta: {}, finish_reason: mode === 'loop' ? 'length' : 'stop' }]);
    if (one.includeUsage) chunk([], { usage: { prompt_tokens: 9, completion_tokens: parts.length, total_tokens: 9 + parts.length } });
    res.write('data: [DONE]\n\n');
    ended();
    res.end();
  }, 1);
}

/** The guard as the engine builds it: the loop monitor on the conversation with the answer so far. */
function loopGuard(convs: ChatMessage[][]): SamplingOptions['cutWhen'] {
  const loop = monitorByName('loop');
  return (i, text) => loop.check({ messages: [...convs[i], { role: 'assistant', content: text }] }).flag;
}

const ask = (what: Mode): ChatMessage[] => [{ role: 'user', content: what }];
const fast = { backoffMs: { initial: 1, max: 1 } };

async function guarded(m: OpenAIModel, modes: Mode[], extra: SamplingOptions = {}): Promise<Generation[]> {
  const convs = modes.map(ask);
  return m.chat(convs, { maxTokens: 2000, seed: 1, cutWhen: loopGuard(convs), ...extra });
}

test('openai: with the guard, a looping answer is cut as it streams: a prefix of the stream, the request aborted', async (t) => {
  const s = await fakeServer();
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.baseUrl });
    assert.equal(m.cuts, true);
    const started = Date.now();
    const [g] = await guarded(m, ['loop']);
    assert.equal(g.finishReason, 'cut');
    assert.ok(SPIRAL.startsWith(g.text), 'the text kept is what the server sent, up to the cut');
    assert.ok(g.text.startsWith(OPENING) && g.text.includes(LOOP.repeat(3)), `cut once it loops: ${JSON.stringify(g.text)}`);
    assert.ok(g.text.length < SPIRAL.length / 20, `${g.text.length} of ${SPIRAL.length} characters kept`);
    const [one] = s.seen;
    await one.closed;
    assert.ok(one.stream && one.includeUsage, 'asked as a stream, with usage');
    assert.equal(one.aborted, true, 'the server saw the connection close before the stream ended');
    assert.ok(one.sent < one.total / 10, `the server stopped after ${one.sent} of ${one.total} deltas`);
    assert.ok(g.tokens > 0 && g.tokens <= one.sent, `tokens: the deltas received (${g.tokens})`);
    t.diagnostic(
      `loop: kept ${g.text.length} of ${SPIRAL.length} characters (${g.tokens} deltas); the server sent ${one.sent} of ${one.total} deltas, ${Date.now() - started} ms`,
    );
  } finally {
    await s.close();
  }
});

test('openai: with the guard, a normal answer streams to its end and finishes `stop` with the whole text; without it nothing is streamed', async () => {
  const s = await fakeServer();
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.baseUrl });
    const [g, loop] = await guarded(m, ['normal', 'loop']);
    assert.deepEqual(
      { text: g.text, finishReason: g.finishReason, tokens: g.tokens },
      { text: NORMAL, finishReason: 'stop', tokens: deltas(NORMAL).length },
      'the whole answer, with the usage the stream reported',
    );
    assert.equal(loop.finishReason, 'cut', 'rows are guarded each on its own');
    const [plain] = await m.chat([ask('loop')], { maxTokens: 2000, seed: 1 });
    assert.equal(s.seen.at(-1)!.stream, false, 'no guard: a plain request, as before');
    assert.deepEqual({ text: plain.text, finishReason: plain.finishReason }, { text: SPIRAL, finishReason: 'length' });
  } finally {
    await s.close();
  }
});

test('openai: with the guard, a 500 before the stream is retried; one that persists fails the row (settle) or the call', async () => {
  const s = await fakeServer({ fail500: 1 });
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.baseUrl, ...fast });
    const [g] = await guarded(m, ['normal']);
    assert.deepEqual({ text: g.text, finishReason: g.finishReason }, { text: NORMAL, finishReason: 'stop' });
    assert.equal(s.seen.length, 2, 'the 500, then the stream');
  } finally {
    await s.close();
  }
  const bad = await fakeServer({ fail500: 100 });
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: bad.baseUrl, maxRetries: 2, ...fast });
    const rows: number[] = [];
    const [g] = await guarded(m, ['normal'], { settle: true, onRow: (i) => rows.push(i) });
    assert.equal(g.text, '');
    assert.match(g.error!, new RegExp(`^${bad.baseUrl.replace(/[.]/g, '\\.')} /chat/completions \\(model m\\): HTTP 500: .*GPU fell over`));
    assert.deepEqual(rows, [0], 'onRow hears of the failed row too');
    assert.equal(bad.seen.length, 3, 'the first try and 2 retries');
    await assert.rejects(guarded(m, ['normal']), /HTTP 500/, 'without settle the call fails, as a plain one does');
  } finally {
    await bad.close();
  }
});

test('openai: with the guard, a stream that breaks off is asked again from its start; one that stalls times out', async () => {
  const s = await fakeServer({ modes: ['reset', 'normal'] });
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.baseUrl, maxRetries: 1, ...fast });
    const [g] = await guarded(m, ['normal']);
    assert.equal(s.seen.length, 2, 'the broken stream was tried again');
    assert.deepEqual({ text: g.text, finishReason: g.finishReason }, { text: NORMAL, finishReason: 'stop' }, 'the second stream whole, nothing of the first');
  } finally {
    await s.close();
  }
  const broken = await fakeServer({ modes: ['reset'] });
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: broken.baseUrl, maxRetries: 1, ...fast });
    const [g] = await guarded(m, ['normal'], { settle: true });
    assert.equal(broken.seen.length, 2);
    assert.match(g.error!, /\(model m\): the stream broke off after \d+ characters/);
    assert.equal(g.text, '', 'a row that fails for good keeps nothing of its broken streams');
  } finally {
    await broken.close();
  }
  const stall = await fakeServer({ modes: ['stall'] });
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: stall.baseUrl, timeoutMs: 300, maxRetries: 0 });
    const [g] = await guarded(m, ['stall'], { settle: true });
    assert.match(g.error!, /\(model m\): Request timed out/);
    await stall.seen[0].closed;
    assert.equal(stall.seen[0].aborted, true, 'the stalled stream was closed');
  } finally {
    await stall.close();
  }
});

test('openai: the cache never gives a cut answer to a plain request; a cached answer is still guarded', async () => {
  const s = await fakeServer();
  const cacheDir = tempDir('dramatis-guard-cache-');
  try {
    const m = new OpenAIModel({ model: 'm', baseUrl: s.baseUrl, cacheDir });
    const [cut] = await guarded(m, ['loop']);
    assert.equal(cut.finishReason, 'cut');
    const [plain] = await m.chat([ask('loop')], { maxTokens: 2000, seed: 1 });
    assert.deepEqual({ text: plain.text, finishReason: plain.finishReason }, { text: SPIRAL, finishReason: 'length' }, 'the cut was not cached');
    assert.equal(s.seen.length, 2);
    // Now the whole looping answer is cached: a guarded request reads it and cuts it, with no request.
    const [again] = await guarded(m, ['loop']);
    assert.equal(s.seen.length, 2, 'answered from the cache');
    assert.equal(again.finishReason, 'cut');
    assert.ok(SPIRAL.startsWith(again.text) && again.text.length < 300, `cut where the loop starts (${again.text.length} characters)`);
    // A guarded answer that streamed to its end is cached as the plain answer it is.
    await guarded(m, ['normal']);
    const [normal] = await m.chat([ask('normal')], { maxTokens: 2000, seed: 1 });
    assert.equal(s.seen.length, 3, 'the plain request was answered from what the stream cached');
    assert.deepEqual({ text: normal.text, finishReason: normal.finishReason }, { text: NORMAL, finishReason: 'stop' });
  } finally {
    await s.close();
  }
});

test('openai: dramatis run with sampling.stop_on_loop on an openai: model: every looping answer stored `cut`', async () => {
  const s = await fakeServer({ modes: ['loop'] });
  try {
    const spec = parseSpec(
      `name: guarded\nkind: generalize\nmodel: openai:m\nbase_url: ${s.baseUrl}\njudge: { rules: [{ label: loop, regex: "disgrace" }], default: other }\ntarget: loop\nquestions: world:broad\nsamples: 4\nsampling: { temperature: 1, max_tokens: 2000, stop_on_loop: true }\nconditions: [{ name: m, role: baseline }]\n`,
      'g.yaml',
    );
    const store = new Store(':memory:');
    const r = await runExperiment(spec, store, tempDir('dramatis-guard-run-'));
    assert.equal(r.conditions[0].cut, 4, 'every looping answer was cut');
    const rows = store.db.prepare('SELECT finish_reason r, length(answer) n FROM samples').all() as { r: string; n: number }[];
    assert.deepEqual([...new Set(rows.map((x) => x.r))], ['cut']);
    assert.ok(
      rows.every((x) => x.n < SPIRAL.length / 20),
      `answers of ${rows.map((x) => x.n).join(', ')} characters`,
    );
    await Promise.all(s.seen.map((x) => x.closed));
    assert.ok(
      s.seen.every((x) => x.stream && x.aborted),
      'every request streamed and aborted',
    );
  } finally {
    await s.close();
  }
});
