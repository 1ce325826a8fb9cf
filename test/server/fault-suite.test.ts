/**
 * Issue 12's fault suite: an OpenAI-compatible server that misbehaves on a seeded schedule (429 with
 * Retry-After, 500, 503, a hang, a connection reset mid-body, malformed JSON, a 200 without choices,
 * `content: null`, an HTML page, a slow drip) under a run of 200 samples at concurrency 16. The run
 * finishes; every stored answer is one the server really sent as valid; the failures are reported; and
 * a run killed with SIGKILL midway, resumed against a healthy server, loses and duplicates nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import seedrandom from 'seedrandom';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { tempDir } from '../helpers/tmp.ts';

const FAULTS = ['429', '500', '503', 'hang', 'reset', 'malformed', 'no-choices', 'null-content', 'html', 'drip'] as const;

/** The faulty server: `faultRate` of requests misbehave (which way, by a seeded draw); the rest answer validly. */
async function faultyServer(o: { seed: string; faultRate: number; delayMs?: number }) {
  const rng = seedrandom(o.seed);
  const valid = new Set<string>();
  const tally: Record<string, number> = {};
  let healthy = false,
    n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const i = n++;
      const fault = !healthy && rng() < o.faultRate ? FAULTS[Math.floor(rng() * FAULTS.length)] : 'ok';
      tally[fault] = (tally[fault] ?? 0) + 1;
      const answer = `answer ${i}`;
      const body = (content: unknown) =>
        JSON.stringify({
          id: `c${i}`,
          object: 'chat.completion',
          created: 0,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
        });
      const json = (status: number, text: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      };
      const send = () => {
        switch (fault) {
          case '429':
            return res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"error": {"message": "slow down"}}');
          case '500':
            return json(500, '{"error": {"message": "internal"}}');
          case '503':
            return json(503, '{"error": {"message": "overloaded"}}');
          case 'hang':
            return; // never answers: the client's timeout ends it
          case 'reset':
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"choices": [{"mess');
            return res.socket?.destroy();
          case 'malformed':
            return json(200, '{"choices": [');
          case 'no-choices':
            return json(200, '{"object": "chat.completion"}');
          case 'null-content':
            return json(200, body(null));
          case 'html':
            res.writeHead(200, { 'content-type': 'text/html' });
            return res.end('<html>502 Bad Gateway</html>');
          case 'drip': {
            valid.add(answer);
            const text = body(answer);
            res.writeHead(200, { 'content-type': 'application/json' });
            let k = 0;
            const t = setInterval(() => {
              res.write(text.slice(k, k + 40));
              k += 40;
              if (k >= text.length) {
                clearInterval(t);
                res.end();
              }
            }, 5);
            return;
          }
          default:
            valid.add(answer);
            return json(200, body(answer));
        }
      };
      if (o.delayMs) setTimeout(send, o.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    valid,
    tally,
    requests: () => n,
    heal: () => {
      healthy = true;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const specText = (url: string, samples: number) => `name: faults
kind: generalize
model: { id: "openai:m", base_url: "${url}", concurrency: 16, timeout_s: 0.3, max_retries: 3 }
judge: { rules: [{ label: answered, prefix: answer }] }
target: answered
questions: world:broad
samples: ${samples}
`;

const stored = (store: Store) =>
  store.db.prepare('SELECT condition_key k, question_id q, idx i, answer a FROM samples').all() as { k: string; q: string; i: number; a: string }[];

test('fault suite: a run against a server failing 30% of requests finishes, stores only real answers, and reports what failed', async () => {
  const s = await faultyServer({ seed: 'faults-1', faultRate: 0.3 });
  const store = new Store(':memory:');
  try {
    const r = await runExperiment(parseSpec(specText(s.url, 200), 'f.yaml'), store, tempDir('dramatis-faults-'));
    const rows = stored(store);
    const failures = (store.db.prepare('SELECT COUNT(*) n FROM failures').get() as { n: number }).n;
    assert.equal(rows.length + failures, 200, 'every slot is either answered or recorded as failed');
    assert.ok(
      rows.every((x) => s.valid.has(x.a)),
      'every stored answer is one the server sent as valid',
    );
    assert.equal(r.conditions[0].n, rows.length);
    assert.equal(r.conditions[0].rate, 1, 'and each was judged as the answer it is');
    assert.equal(
      (r.failed ?? []).reduce((a, f) => a + f.count, 0),
      failures,
    );
    for (const f of FAULTS) assert.ok((s.tally[f] ?? 0) > 0, `the schedule drew ${f}`);
    process.stderr.write(
      `fault suite: ${s.requests()} requests (${JSON.stringify(s.tally)}); ${rows.length} answers stored, ${failures} samples failed for good, 0 corrupt\n`,
    );
  } finally {
    await s.close();
  }
});

test('fault suite: SIGKILL midway, then a resume against a healthy server, loses and duplicates nothing', async () => {
  const s = await faultyServer({ seed: 'faults-2', faultRate: 0.2, delayMs: 40 });
  const dir = tempDir('dramatis-kill-');
  const specFile = join(dir, 'f.yaml');
  writeFileSync(specFile, specText(s.url, 300));
  const db = join(dir, 'runs.db');
  try {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/dramatis.mjs'), 'run', specFile, '--db', db, '--report', join(dir, 'r.html')], {
      stdio: 'ignore',
    });
    // Kill it once some samples are stored, well before the run could finish.
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const probe = new Store(db);
        const n = stored(probe).length;
        probe.close();
        if (n >= 40) break;
      } catch {
        /* the database is not there yet */
      }
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = new Store(db);
    const kept = stored(before);
    before.close();
    assert.ok(kept.length > 0 && kept.length < 300, `killed with ${kept.length} of 300 stored`);
    s.heal();
    const store = new Store(db);
    const r = await runExperiment(parseSpec(specText(s.url, 300), specFile), store, join(dir, 'cache'));
    const after = stored(store);
    assert.equal(after.length, 300, 'nothing lost: every slot answered after the resume');
    assert.equal(new Set(after.map((x) => `${x.k}/${x.q}/${x.i}`)).size, 300, 'nothing duplicated');
    const byslot = new Map(after.map((x) => [`${x.k}/${x.q}/${x.i}`, x.a]));
    assert.ok(
      kept.every((x) => byslot.get(`${x.k}/${x.q}/${x.i}`) === x.a),
      'what was stored before the kill is unchanged',
    );
    assert.ok(
      after.every((x) => s.valid.has(x.a)),
      'every answer is one the server sent as valid',
    );
    assert.equal(r.failed, undefined);
    store.close();
  } finally {
    await s.close();
  }
});
