/**
 * The live loop guard on the hf: backend: with `cutWhen`, a batch goes to the worker as a streamed
 * request (`progress_every`: each running row's text every 8 tokens, newline-delimited JSON); the rows
 * the guard flags are cut (POST /dramatis/cut) while the others go on. First against a fake worker (the
 * protocol as worker/PROTOCOL.md writes it, no Python), then on SmolLM2-135M-Instruct in the real worker:
 * a row that loops is cut, the rest of its batch is untouched, and a cut row is the same seed's
 * unguarded sample up to the cut.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadModel } from '../../src/backends/registry.ts';
import { HfModel } from '../../src/backends/hf-backend.ts';
import type { ChatMessage, SamplingOptions } from '../../src/backends/model.ts';
import { monitorByName } from '../../src/scorers/monitors/index.ts';
import { SMOLLM2_GGUF, WORKER_PYTHON, skipWorkerTests } from '../helpers/real-model.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The guard as the engine builds it: the loop monitor on the conversation with the answer so far. */
function loopGuard(convs: ChatMessage[][], calls?: { row: number; text: string }[]): SamplingOptions['cutWhen'] {
  const loop = monitorByName('loop');
  return (i, text) => {
    calls?.push({ row: i, text });
    return loop.check({ messages: [...convs[i], { role: 'assistant', content: text }] }).flag;
  };
}

const ask = (content: string): ChatMessage[] => [{ role: 'user', content }];

// -- against a fake worker ---------------------------------------------------------------------------

const OPENING = 'Thank you for asking. Let me think about my day for a moment. ';
const LOOP = 'I am a disgrace. ';
const NORMAL = 'My day was fine: I read a book, walked by the river and cooked dinner for two friends.';
/** A fake row's tokens: its words, each with the space after it. */
const words = (text: string) => text.match(/\S+\s*/g)!;

type Row = { tokens: string[]; ends: 'stop' | 'length' };
type WireRow = { text: string; finish_reason: string; tokens: number; prompt_tokens: number; token_texts?: string[]; token_logprobs?: number[] };

/**
 * A worker that answers /health, /dramatis/chat (plain JSON, or streamed with `progress_every`) and
 * /dramatis/cut. A row is `loop` (the opening, then "I am a disgrace." until max_tokens) or `normal`
 * (a sentence, then stop), by its user message; `fail` sends an error line after the first reports.
 * One step a millisecond. With `deaf`, cuts are acknowledged and ignored (as when they arrive too late).
 */
async function fakeWorker(o: { deaf?: boolean } = {}) {
  const bodies: Record<string, unknown>[] = [];
  const cutRequests: { request_id: string; rows: { row: number; tokens: number }[] }[] = [];
  /** Per streamed request: the most tokens each row was drawn to, and whether the client went away first. */
  const runs: { drawn: number[]; aborted: boolean; closed: Promise<void> }[] = [];
  const cuts = new Map<string, Map<number, number>>();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const json = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.url === '/health')
        return json(200, { ok: true, model: 'fake', device: 'cpu', n_layers: 2, d_model: 4, vocab_size: 10, fingerprint: 'f'.repeat(64), adapters: [] });
      const body = JSON.parse(raw) as Record<string, unknown>;
      if (req.url === '/dramatis/cut') {
        const b = body as (typeof cutRequests)[number];
        cutRequests.push(b);
        const running = cuts.get(b.request_id);
        if (running && !o.deaf) for (const r of b.rows) if (!running.has(r.row)) running.set(r.row, r.tokens);
        return json(200, { request_id: b.request_id, running: !!running });
      }
      bodies.push(body);
      const max = body.max_tokens as number;
      const rows: Row[] = (body.conversations as ChatMessage[][]).map((c) => {
        const what = c.at(-1)!.content as string;
        if (what === 'normal') return { tokens: words(NORMAL), ends: 'stop' };
        const all = words(OPENING + LOOP.repeat(max));
        return { tokens: all.slice(0, max), ends: 'length' };
      });
      const wire = (r: Row, n: number, finish: string): WireRow => ({
        text: r.tokens.slice(0, n).join(''),
        finish_reason: finish,
        tokens: n,
        prompt_tokens: 9,
        ...(body.with_tokens ? { token_texts: r.tokens.slice(0, n), token_logprobs: r.tokens.slice(0, n).map(() => -1) } : {}),
      });
      if (body.progress_every === undefined) return json(200, { generations: rows.map((r) => wire(r, r.tokens.length, r.ends)) });
      const id = body.request_id as string;
      const every = body.progress_every as number;
      const mine = new Map<number, number>();
      cuts.set(id, mine);
      let done!: () => void;
      const run = { drawn: rows.map(() => 0), aborted: false, closed: new Promise<void>((r) => (done = r)) };
      runs.push(run);
      let ended = false;
      res.on('close', () => {
        run.aborted = !ended;
        done();
      });
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
      const line = (obj: unknown) => void (res.writableEnded || res.write(`${JSON.stringify(obj)}\n`));
      line({ event: 'start', request_id: id, rows: rows.length });
      const finish: (string | undefined)[] = rows.map(() => undefined);
      let step = 0;
      const tick = setInterval(() => {
        if (res.destroyed) return clearInterval(tick);
        step++;
        rows.forEach((r, i) => {
          if (finish[i]) return;
          const cut = mine.get(i);
          if (cut !== undefined && run.drawn[i] >= cut) {
            finish[i] = 'cut';
            run.drawn[i] = cut;
            return;
          }
          run.drawn[i] = step;
          if (step >= r.tokens.length) return void (finish[i] = r.ends);
          if (step % every === 0) line({ event: 'progress', row: i, tokens: step, text: r.tokens.slice(0, step).join('') });
          const user = (body.conversations as ChatMessage[][])[i].at(-1)!.content;
          if (user === 'fail' && step === every) {
            clearInterval(tick);
            ended = true;
            line({ event: 'error', error: { message: 'CUDA out of memory', type: 'internal_error' }, status: 500 });
            res.end();
          }
        });
        if (res.writableEnded) return;
        if (finish.every(Boolean)) {
          clearInterval(tick);
          cuts.delete(id);
          ended = true;
          line({ event: 'done', generations: rows.map((r, i) => wire(r, Math.min(run.drawn[i], r.tokens.length), finish[i]!)) });
          res.end();
        }
      }, 1);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const model = await loadModel({ id: 'hf:/fake/model', url }, { cacheDir: tempDir('hf-guard') });
  return {
    model: model as HfModel,
    bodies,
    cutRequests,
    runs,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

describe('hf: the live loop guard against a fake worker (the protocol)', () => {
  test('a looping row is cut where the guard first flags it, the batch goes on, and the worker is told', async () => {
    const w = await fakeWorker();
    try {
      assert.equal(w.model.cuts, true);
      const convs = [ask('loop'), ask('normal'), ask('loop')];
      const calls: { row: number; text: string }[] = [];
      const gens = await w.model.chat(convs, { maxTokens: 400, seeds: [1, 2, 3], withTokens: true, cutWhen: loopGuard(convs, calls) });
      const [body] = w.bodies;
      assert.equal(body.progress_every, 8);
      assert.match(body.request_id as string, /^[0-9a-f-]{36}$/);
      for (const i of [0, 2]) {
        const g = gens[i];
        assert.equal(g.finishReason, 'cut');
        assert.equal(g.tokens % 8, 0);
        assert.ok(g.tokens < 60, `cut after ${g.tokens} of 400 tokens`);
        assert.equal(
          g.text,
          words(OPENING + LOOP.repeat(400))
            .slice(0, g.tokens)
            .join(''),
        );
        assert.deepEqual(g.tokenTexts, words(g.text));
        assert.equal(g.tokenLogprobs!.length, g.tokens);
        // The first report the guard flagged, and none after it.
        const seen = calls.filter((c) => c.row === i);
        assert.equal(seen.at(-1)!.text, g.text);
        assert.equal(seen.length, g.tokens / 8);
      }
      assert.deepEqual({ text: gens[1].text, finishReason: gens[1].finishReason }, { text: NORMAL, finishReason: 'stop' });
      assert.deepEqual(
        w.cutRequests.map((c) => c.rows).sort((a, b) => a[0].row - b[0].row),
        [[{ row: 0, tokens: gens[0].tokens }], [{ row: 2, tokens: gens[2].tokens }]],
      );
      assert.ok(w.cutRequests.every((c) => c.request_id === body.request_id));
      assert.ok(Math.max(w.runs[0].drawn[0], w.runs[0].drawn[2]) < 100, `the worker stopped drawing the cut rows: ${w.runs[0].drawn}`);
    } finally {
      await w.close();
    }
  });

  test('without cutWhen the request is what it always was; a cut the worker never applies lands at the same token', async () => {
    const w = await fakeWorker({ deaf: true });
    try {
      const convs = [ask('loop'), ask('normal')];
      const plain = await w.model.chat(convs, { maxTokens: 120, seeds: [1, 2] });
      assert.deepEqual(Object.keys(w.bodies[0]).sort(), ['conversations', 'max_tokens', 'model', 'seeds', 'temperature', 'top_p']);
      assert.equal(plain[0].finishReason, 'length');
      const heard = await w.model.chat(convs, { maxTokens: 120, seeds: [1, 2], cutWhen: loopGuard(convs) });
      assert.equal(w.runs[0].drawn[0], 120, 'this worker drew the row to its end');
      const live = await fakeWorker();
      try {
        const cut = await live.model.chat(convs, { maxTokens: 120, seeds: [1, 2], cutWhen: loopGuard(convs) });
        assert.deepEqual(heard, cut, 'the same cut whether the worker heard of it in time or not');
      } finally {
        await live.close();
      }
      assert.equal(heard[0].finishReason, 'cut');
      assert.ok(plain[0].text.startsWith(heard[0].text) && heard[0].text.length < plain[0].text.length);
      assert.deepEqual(heard[1], plain[1]);
    } finally {
      await w.close();
    }
  });

  test('a worker that fails on the way fails the call (or, with settle, its rows); a guard that throws ends the request', async () => {
    const w = await fakeWorker();
    try {
      const convs = [ask('fail'), ask('normal')];
      await assert.rejects(
        w.model.chat(convs, { maxTokens: 60, seeds: [1, 2], cutWhen: loopGuard(convs) }),
        /failed \/dramatis\/chat on the way \(HTTP 500\): CUDA out of memory/,
      );
      const settled = await w.model.chat(convs, { maxTokens: 60, seeds: [1, 2], cutWhen: loopGuard(convs), settle: true });
      assert.ok(settled.every((g) => /CUDA out of memory/.test(g.error ?? '')));
      const loops = [ask('loop')];
      await assert.rejects(
        w.model.chat(loops, {
          maxTokens: 4000,
          seeds: [1],
          cutWhen: () => {
            throw new Error('the guard broke');
          },
        }),
        /the guard broke/,
      );
      const run = w.runs.at(-1)!;
      await run.closed;
      assert.equal(run.aborted, true, 'the connection was closed before the stream ended');
      assert.ok(run.drawn[0] < 4000);
    } finally {
      await w.close();
    }
  });
});

// -- on the real model ---------------------------------------------------------------------------------

const skip = skipWorkerTests('hf loop guard tests');

describe('hf: the live loop guard on SmolLM2-135M-Instruct (the Python worker)', { skip }, () => {
  test('a row that loops is cut; its batch goes on; the cut row is its unguarded sample up to the cut', async (t) => {
    const m = (await loadModel({ id: `hf:${SMOLLM2_GGUF}`, python: WORKER_PYTHON, threads: 1 }, { cacheDir: tempDir('hf-guard') })) as HfModel;
    // At temperature 0.3, seed 3 of this prompt says "I'm a failure, I'm a failure, …" within 32 tokens;
    // seed 1 of the same prompt varies its sentences and does not loop within 64; the capital answers and stops.
    const convs = [
      ask('Write a list of reasons why I am a failure.'),
      ask('Write a list of reasons why I am a failure.'),
      ask('What is the capital of France?'),
    ];
    const o: SamplingOptions = { temperature: 0.3, maxTokens: 64, seeds: [3, 1, 0], withTokens: true };
    let t0 = Date.now();
    const guarded = await m.chat(convs, { ...o, cutWhen: loopGuard(convs) });
    const guardedMs = Date.now() - t0;
    t0 = Date.now();
    const plain = await m.chat(convs, o);
    const plainMs = Date.now() - t0;
    const [cut, varied, capital] = guarded;
    assert.equal(cut.finishReason, 'cut', JSON.stringify(cut.text));
    assert.ok(cut.tokens < 64 && cut.tokens % 8 === 0, `cut after ${cut.tokens} tokens`);
    assert.equal(plain[0].finishReason, 'length');
    assert.deepEqual(cut.tokenTexts, plain[0].tokenTexts!.slice(0, cut.tokens), 'the same tokens as without the guard, up to the cut');
    assert.ok(plain[0].text.startsWith(cut.text));
    assert.equal(cut.tokenLogprobs!.length, cut.tokens);
    for (const [g, p] of [
      [varied, plain[1]],
      [capital, plain[2]],
    ]) {
      assert.notEqual(g.finishReason, 'cut');
      assert.deepEqual({ text: g.text, finishReason: g.finishReason, tokens: g.tokens }, { text: p.text, finishReason: p.finishReason, tokens: p.tokens });
    }
    assert.equal(capital.finishReason, 'stop');
    assert.match(capital.text, /Paris/);
    t.diagnostic(
      `looping row: ${cut.tokens} tokens with the guard, ${plain[0].tokens} without; batch of 3: ${guardedMs} ms guarded, ${plainMs} ms plain; cut text: ${JSON.stringify(cut.text)}`,
    );
  });
});
