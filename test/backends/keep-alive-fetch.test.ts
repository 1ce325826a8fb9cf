import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepAliveFetch } from '../../src/backends/keep-alive-fetch.ts';

test('keep-alive fetch: status, headers, body and method pass through; connections are reused; bodies read once; redirects followed; abort rejects', async () => {
  const sockets = new Set<unknown>();
  const srv = createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (req.url === '/empty') {
        res.writeHead(204);
        return res.end();
      }
      if (req.url === '/hang') return;
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/echo' });
        return res.end();
      }
      res.writeHead(req.url === '/fail' ? 503 : 200, {
        'content-type': 'application/json',
        'x-trace': req.headers['x-trace'] ?? '',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(JSON.stringify({ method: req.method, body }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const f = keepAliveFetch();
  try {
    for (let i = 0; i < 10; i++) {
      const r = await f(`${base}/echo`, { method: 'POST', headers: new Headers({ 'x-trace': `t${i}` }), body: `{"i":${i}}` });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-trace'), `t${i}`);
      assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
      assert.deepEqual(await r.json(), { method: 'POST', body: `{"i":${i}}` });
    }
    assert.ok(sockets.size <= 2, `10 requests one after another took ${sockets.size} connections`);
    const first = await f(`${base}/echo`, { method: 'POST', body: 'once' });
    await first.text();
    assert.equal(first.bodyUsed, true);
    await assert.rejects(first.json(), TypeError, 'a body is read once, as with any Response');
    const streamed = await f(`${base}/echo`, { method: 'POST', body: 'as a stream' });
    assert.deepEqual(JSON.parse(await new Response(streamed.body).text()), { method: 'POST', body: 'as a stream' });
    const moved = await f(`${base}/moved`, { method: 'POST', body: 'followed' });
    assert.deepEqual(await moved.json(), { method: 'POST', body: 'followed' }, 'a redirect is followed (by the global fetch)');
    const fail = await f(`${base}/fail`, { method: 'GET' });
    assert.equal(fail.status, 503);
    assert.equal(fail.ok, false);
    const empty = await f(`${base}/empty`, { method: 'DELETE' });
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
    const ctl = new AbortController();
    const hung = f(`${base}/hang`, { method: 'GET', signal: ctl.signal });
    ctl.abort();
    await assert.rejects(hung, (e: Error) => e.name === 'AbortError');
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
});
