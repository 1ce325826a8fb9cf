import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');
/** Lower layers first; a module may import only from its own layer or lower ones. */
const LAYERS = ['world', 'organism', 'backends', 'judges', 'experiments', 'report', 'server', 'view', 'cli'];
const RANK: Record<string, number> = { world: 0, organism: 1, backends: 2, judges: 3, experiments: 3, report: 4, server: 4, view: 4, cli: 4 };

test('src/ is layered: world → organism → backends → experiments → cli/report/server', () => {
  const violations: string[] = [];
  for (const layer of readdirSync(SRC)) {
    assert.ok(LAYERS.includes(layer), `unknown layer src/${layer}: add it to this test's order`);
    for (const file of readdirSync(join(SRC, layer)).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(SRC, layer, file), 'utf8');
      for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(SRC, resolve(dirname(join(SRC, layer, file)), m[1])).split('/')[0];
        if (RANK[target] > RANK[layer] || ((layer === 'report' || layer === 'server' || layer === 'view') && target === 'cli')) violations.push(`src/${layer}/${file} imports ${m[1]}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
