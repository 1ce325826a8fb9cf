import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync, readFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { join, resolve } from 'node:path';
import { fillStore, type Filled } from './fixture.ts';

const BIN = resolve(import.meta.dirname, '../../bin/dramatis.mjs');
let dir: string, filled: Filled;
before(async () => {
  dir = tempDir('dramatis-view-cli-');
  filled = await fillStore(join(dir, 'runs.db'));
  filled.store.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('dramatis view serves the store on 127.0.0.1 (any free port with --port 0); dramatis report writes one file by run name', async () => {
  const child = spawn(process.execPath, [BIN, 'view', '--db', join(dir, 'runs.db'), '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const url = await new Promise<string>((res, rej) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        const m = err.match(/on (http:\/\/127\.0\.0\.1:\d+\/)/);
        if (m) res(m[1]);
      });
      child.on('exit', (code) => rej(new Error(`dramatis view exited ${code}: ${err}`)));
    });
    const runs = (await (await fetch(`${url}api/runs?kind=profile`)).json()) as { runs: { name: string }[] };
    assert.deepEqual(
      runs.runs.map((r) => r.name),
      ['films'],
    );
    assert.match(await (await fetch(url)).text(), /<div id="app">/);
  } finally {
    child.kill();
  }
  const out = join(dir, 'em.html');
  const { stderr } = await promisify(execFile)(process.execPath, [BIN, 'report', 'em-small', '--db', join(dir, 'runs.db'), '--out', out, '--samples', '10']);
  assert.match(stderr, /1 run → .*em\.html/);
  assert.match(readFileSync(out, 'utf8'), /"name":"em-small"/);
  await assert.rejects(
    promisify(execFile)(process.execPath, [BIN, 'report', 'nope', '--db', join(dir, 'runs.db')]),
    /no run "nope" in .*runs\.db \(by id, id prefix or name\)/,
  );
});
