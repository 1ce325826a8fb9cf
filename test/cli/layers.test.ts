import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkLayers, referencesOf, MAY_IMPORT, RULES } from '../helpers/layers.ts';
import { tempDir } from '../helpers/tmp.ts';

const SRC = resolve(import.meta.dirname, '../../src');

test('src/ is layered: shared → world → organism → backends → scorers → experiments → cli/server/view; the browser app apart', () => {
  const { files, violations, unplaced } = checkLayers(SRC);
  assert.ok(
    files.some((f) => f.startsWith('view/client/')),
    'the check reaches src/view/client/',
  );
  assert.deepEqual(unplaced, [], 'every file and import target is in a layer');
  assert.deepEqual(violations, [], `imports across layers the wrong way:\n  ${violations.join('\n  ')}`);
});

test('every layer a rule names has an entry in MAY_IMPORT, and every entry names known layers', () => {
  const layers = new Set(RULES.map((r) => r.layer));
  for (const layer of layers) assert.ok(MAY_IMPORT[layer], `layer ${layer} has no MAY_IMPORT entry`);
  for (const [layer, { any, types = [] }] of Object.entries(MAY_IMPORT)) {
    for (const to of [...any, ...types]) assert.ok(layers.has(to), `MAY_IMPORT.${layer} names unknown layer ${to}`);
  }
});

test('the parser sees every form of import, across lines, and not those in comments or strings', () => {
  const refs = referencesOf(
    'x.ts',
    [
      'import { a,',
      "  b } from './static.ts';",
      'import type {',
      "  T } from './types.ts';",
      "import { type U } from './mixed.ts';",
      "import './side-effect.ts';",
      "export { c } from './reexport.ts';",
      "export type { V } from './reexport-types.ts';",
      "export * from './star.ts';",
      "let t: import('./type-position.ts').W;",
      'const m = await import(',
      "  './dynamic.ts');",
      "// import { no } from './comment.ts';",
      'const s = "import { no } from \'./string.ts\'";',
    ].join('\n'),
  );
  assert.deepEqual(
    refs.map((r) => [r.specifier, r.typeOnly, r.dynamic, r.line]),
    [
      ['./static.ts', false, false, 1],
      ['./types.ts', true, false, 3],
      ['./mixed.ts', false, false, 5], // not erased under verbatimModuleSyntax: counts as a value import
      ['./side-effect.ts', false, false, 6],
      ['./reexport.ts', false, false, 7],
      ['./reexport-types.ts', true, false, 8],
      ['./star.ts', false, false, 9],
      ['./type-position.ts', true, false, 10],
      ['./dynamic.ts', false, true, 11],
    ],
  );
});

test('the check fails on planted violations at any depth, on dynamic imports and on unknown folders', () => {
  const root = tempDir('dramatis-layers-');
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  put('world/deep/er/a.ts', "import { x } from '../../../experiments/runner.ts';\n");
  put('organism/b.ts', "export async function f() {\n  return import(\n    '../cli/main.ts');\n}\n");
  put(
    'view/client/c.ts',
    "import type { R } from '../../experiments/result.ts';\nimport { wilson } from '../../experiments/stats.ts';\nimport { T } from '../types.ts';\n",
  );
  put('experiments/kinds/generalize/view.ts', "import { h } from '../../../view/client/html.ts';\nimport { run } from '../../runner.ts';\n");
  put('server/d.ts', "export {\n  main } from '../cli/main.ts';\n");
  put('scorers/e.ts', "import type { S } from '../experiments/spec.ts';\nimport { w } from '../world/index.ts';\n");
  put('scorers/f.ts', "import { w } from '../world/index.ts';\n");
  put('widgets/g.ts', 'export const g = 1;\n');
  const { violations, unplaced } = checkLayers(root);
  assert.deepEqual(violations, [
    'src/experiments/kinds/generalize/view.ts:2 (view-client) imports ../../runner.ts (experiments)',
    'src/organism/b.ts:2 (organism) dynamically imports ../cli/main.ts (cli)',
    'src/scorers/e.ts:1 (scorers) imports types from ../experiments/spec.ts (experiments)',
    'src/server/d.ts:1 (server) imports ../cli/main.ts (cli)',
    'src/view/client/c.ts:2 (view-client) imports ../../experiments/stats.ts (experiments)',
    'src/world/deep/er/a.ts:1 (world) imports ../../../experiments/runner.ts (experiments)',
  ]);
  assert.deepEqual(unplaced, ['src/widgets/ is in no layer (unknown top-level folder or file): add a rule for it to RULES in test/helpers/layers.ts']);
});
