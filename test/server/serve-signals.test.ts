/**
 * Issue 14 (13): killing `npx dramatis serve` ends the server. npx (npm exec) runs the command through
 * `sh -c` and passes its SIGTERM only to that shell; the server must still stop and release its port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.ts';
import { Store } from '../../src/experiments/store.ts';

/** Starts the command, waits for its "listening" line; resolves with the port it serves. */
function serving(child: ChildProcess, line = /on http:\/\/127\.0\.0\.1:(\d+)\/v1/): Promise<{ port: number; stderr: () => string }> {
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 60 s:\n${err}`)), 60_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = line.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), stderr: () => err });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${err}`)));
  });
}

/** True once nothing listens on the port (a fresh server can bind it). */
async function released(port: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const free = await new Promise<boolean>((r) => {
      const probe = createServer();
      probe.once('error', () => r(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => r(true)));
    });
    if (free) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const args = (state: string) => ['serve', '--model', 'assistant', '--port', '0', '--state', state];

test('SIGTERM to the npx wrapper ends `dramatis serve`: the port is released', { timeout: 120_000 }, async () => {
  const state = join(tempDir('dramatis-signals-'), 'state');
  const npx = spawn('npx', ['dramatis', ...args(state)], { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
  const { port, stderr } = await serving(npx);
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1/models`)).status, 200);
  npx.kill('SIGTERM');
  assert.ok(await released(port, 5000), `the port is still held after npx was stopped:\n${stderr()}`);
  assert.match(stderr(), /stopping/);
});

test('SIGTERM and SIGINT to `dramatis serve` itself close it and exit 0', { timeout: 120_000 }, async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const state = join(tempDir('dramatis-signals-'), 'state');
    const child = spawn(process.execPath, ['bin/dramatis.mjs', ...args(state)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const { port } = await serving(child);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    assert.equal(await exited, 0, `${signal}: a clean exit`);
    assert.ok(await released(port, 2000));
  }
});

test('SIGTERM to the npx wrapper ends `dramatis view` too', { timeout: 120_000 }, async () => {
  const db = join(tempDir('dramatis-signals-'), 'empty.db');
  new Store(db).close(); // an empty results store
  const npx = spawn('npx', ['dramatis', 'view', '--db', db, '--port', '0'], { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
  const { port, stderr } = await serving(npx, /on http:\/\/127\.0\.0\.1:(\d+)\//);
  npx.kill('SIGTERM');
  assert.ok(await released(port, 5000), `the port is still held after npx was stopped:\n${stderr()}`);
});
