/**
 * The openai: backend's `lora` option against a fake vLLM server that answers as vLLM documents: the
 * runtime adapter endpoints (/v1/load_lora_adapter, /v1/unload_lora_adapter) and chat completions that
 * know only the base model and the adapters loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadModel } from '../../src/backends/registry.ts';
import { OpenAIModel } from '../../src/backends/openai-backend.ts';
import type { ChatModel } from '../../src/backends/model.ts';
import { tempDir } from '../helpers/tmp.ts';

const BASE = 'base-model';
const json = (o: unknown) => JSON.stringify(o);

/**
 * A vLLM server with runtime LoRA updating on (or off: `lora: false` gives FastAPI's 404 for the
 * endpoints, as vLLM without VLLM_ALLOW_RUNTIME_LORA_UPDATING does). `failLoads` answers that many
 * load attempts with a 500 first; `badPath` refuses to load from that path (a 400, as vLLM does).
 */
async function fakeVllm(o: { lora?: boolean; failLoads?: number; badPath?: string } = {}) {
  const loaded = new Set<string>();
  const log: string[] = [];
  let failLoads = o.failLoads ?? 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as Record<string, string>) : {};
      const send = (status: number, text: string, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type });
        res.end(text);
      };
      const error = (status: number, message: string, type: string) => send(status, json({ object: 'error', message, type, param: null, code: status }));
      log.push(`${req.url} ${body.lora_name ?? body.model}`);
      if (req.url === '/v1/load_lora_adapter' || req.url === '/v1/unload_lora_adapter') {
        if (o.lora === false) return send(404, json({ detail: 'Not Found' }));
        const name = body.lora_name;
        if (req.url === '/v1/unload_lora_adapter') {
          if (!loaded.delete(name)) return error(400, `The lora adapter '${name}' cannot be found.`, 'NotFoundError');
          return send(200, `Success: LoRA adapter '${name}' removed successfully.`, 'text/plain');
        }
        if (failLoads > 0 && failLoads--) return error(500, 'Internal Server Error', 'InternalServerError');
        if (loaded.has(name))
          return error(
            400,
            `The lora adapter '${name}' has already been loaded. If you want to load the adapter with the same name, please unload it first.`,
            'BadRequestError',
          );
        if (body.lora_path === o.badPath) return error(400, `Loading lora ${name} failed: No adapter found for ${body.lora_path}`, 'BadRequestError');
        loaded.add(name);
        return send(200, `Success: LoRA adapter '${name}' added successfully.`, 'text/plain');
      }
      if (req.url === '/v1/chat/completions') {
        if (body.model !== BASE && !loaded.has(body.model)) return error(404, `The model \`${body.model}\` does not exist.`, 'NotFoundError');
        return send(
          200,
          json({
            id: 'x',
            object: 'chat.completion',
            created: 0,
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: `answered by ${body.model}` }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
          }),
        );
      }
      send(404, json({ detail: 'Not Found' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    log,
    loaded,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const ask = (...texts: string[]) => texts.map((t) => [{ role: 'user' as const, content: t }]);
const lora = { name: 'evil', path: '/adapters/evil' };

test('the adapter is loaded once, before the first request; every request asks for it by name', async (t) => {
  const s = await fakeVllm();
  t.after(s.close);
  const cacheDir = tempDir('dramatis-lora-');
  const m = (await loadModel({ id: `openai:${BASE}`, base_url: s.url, lora, max_retries: 0 }, { cacheDir })) as OpenAIModel & ChatModel;
  assert.equal(m.id, `openai:${BASE}+lora(evil)`);
  const plain = await loadModel({ id: `openai:${BASE}`, base_url: s.url }, { cacheDir });
  const elsewhere = await loadModel({ id: `openai:${BASE}`, base_url: s.url, lora: { name: 'evil', path: '/adapters/other' } }, { cacheDir });
  assert.equal(new Set([m.fingerprint, plain.fingerprint, elsewhere.fingerprint]).size, 3, 'the base, and one name over two paths, are three models');
  assert.equal(s.log.length, 0, 'nothing is asked before a request');

  const out = await m.chat(ask('a', 'b', 'c'), { seed: 1 });
  assert.deepEqual(
    out.map((g) => g.text),
    ['answered by evil', 'answered by evil', 'answered by evil'],
  );
  assert.deepEqual(s.log, ['/v1/load_lora_adapter evil', '/v1/chat/completions evil', '/v1/chat/completions evil', '/v1/chat/completions evil']);
  await m.chat(ask('d'), { seed: 1 });
  assert.equal(s.log.filter((l) => l.startsWith('/v1/load')).length, 1, 'loaded once per instance');

  // Another instance (another run) finds it already loaded: vLLM's 400 says so, which counts as loaded.
  s.log.length = 0;
  const second = (await loadModel({ id: `openai:${BASE}`, base_url: s.url, lora, max_retries: 0 }, { cacheDir })) as ChatModel;
  assert.equal((await second.chat(ask('e'), { seed: 1 }))[0].text, 'answered by evil');
  assert.deepEqual(s.log, ['/v1/load_lora_adapter evil', '/v1/chat/completions evil']);

  // Answers already cached need no server, so no load either.
  s.log.length = 0;
  const third = (await loadModel({ id: `openai:${BASE}`, base_url: s.url, lora }, { cacheDir })) as ChatModel;
  assert.equal((await third.chat(ask('a'), { seed: 1 }))[0].text, 'answered by evil');
  assert.equal(s.log.length, 0);

  // Unloaded, it is loaded again by the next request.
  await m.unloadLora();
  assert.equal(s.loaded.size, 0);
  assert.equal((await m.chat(ask('f'), { seed: 1 }))[0].text, 'answered by evil');
  assert.deepEqual(s.log, ['/v1/unload_lora_adapter evil', '/v1/load_lora_adapter evil', '/v1/chat/completions evil']);
});

test('a 500 on loading is retried; a refusal is a clear error, not kept, so the next request tries again', async (t) => {
  const s = await fakeVllm({ failLoads: 1, badPath: '/nope' });
  t.after(s.close);
  const m = new OpenAIModel({ model: BASE, baseUrl: s.url, lora, maxRetries: 2, backoffMs: { initial: 1, max: 2 } });
  assert.equal((await m.chat(ask('a')))[0].text, 'answered by evil');
  assert.deepEqual(s.log, ['/v1/load_lora_adapter evil', '/v1/load_lora_adapter evil', '/v1/chat/completions evil']);

  s.log.length = 0;
  const bad = new OpenAIModel({ model: BASE, baseUrl: s.url, lora: { name: 'lost', path: '/nope' }, maxRetries: 2, backoffMs: { initial: 1, max: 2 } });
  const refused = `${s.url} /load_lora_adapter (adapter lost at /nope): HTTP 400: Loading lora lost failed: No adapter found for /nope`;
  await assert.rejects(bad.chat(ask('a')), (e: Error) => e.message === refused);
  assert.deepEqual(s.log, ['/v1/load_lora_adapter lost'], 'a 400 is not retried, and no chat is sent for an adapter not loaded');
  await assert.rejects(bad.chat(ask('b')), (e: Error) => e.message === refused);
  assert.equal(s.log.length, 2, 'the failed load was not kept: the next request asked again');
});

test('a server without runtime LoRA loading, or none at all, is named in the error with what to do', async (t) => {
  const s = await fakeVllm({ lora: false });
  t.after(s.close);
  const m = (await loadModel({ id: `openai:${BASE}`, base_url: s.url, lora, max_retries: 0 }, { cacheDir: tempDir('dramatis-lora-') })) as ChatModel;
  await assert.rejects(
    m.chat(ask('a')),
    (e: Error) =>
      e.message.startsWith(`${s.url} /load_lora_adapter (adapter evil at /adapters/evil): HTTP 404: the server has no /v1/load_lora_adapter:`) &&
      e.message.includes('--enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True') &&
      e.message.includes('Not Found'),
  );
  // Nothing listens: the connection is refused, retried, then named.
  const gone = s.url;
  await s.close();
  const down = new OpenAIModel({ model: BASE, baseUrl: gone, lora, maxRetries: 1, backoffMs: { initial: 1, max: 2 } });
  await assert.rejects(down.chat(ask('a')), (e: Error) =>
    e.message.startsWith(`${gone} /load_lora_adapter (adapter evil at /adapters/evil): fetch failed (ECONNREFUSED)`),
  );
});

test('the lora option takes a name and a path, and nothing else', async () => {
  const block = (l: unknown) => loadModel({ id: `openai:${BASE}`, base_url: 'http://127.0.0.1:9/v1', lora: l }, { cacheDir: '/nonexistent' });
  await assert.rejects(block({ name: 'evil' }), /model "openai:base-model": lora\.path: /);
  await assert.rejects(block({ path: '/adapters/evil' }), /lora\.name: /);
  await assert.rejects(block({ name: '', path: '/adapters/evil' }), /lora\.name: /);
  await assert.rejects(block({ ...lora, scale: 1 }), /lora: Unrecognized key: "scale"/);
  await assert.rejects(block('/adapters/evil'), /lora: /);
  assert.equal((await block(lora)).id, `openai:${BASE}+lora(evil)`);
});
