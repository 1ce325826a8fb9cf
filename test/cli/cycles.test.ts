import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findCycles, formatCycle } from '../helpers/cycles.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = resolve(import.meta.dirname, '../..');

test('src/ has no import cycles, counting type-only imports (⇢ marks one)', async () => {
  const { cycles, unresolved } = await findCycles(join(ROOT, 'src'), ROOT);
  assert.deepEqual(unresolved, [], 'every relative import resolves (else the check cannot follow it)');
  assert.equal(cycles.length, 0, `${cycles.length} import cycles:\n  ${cycles.map(formatCycle).join('\n  ')}`);
});

test('the cycle check finds a planted cycle through a type-only import', async () => {
  const dir = tempDir('dramatis-cycles-');
  writeFileSync(join(dir, 'a.ts'), "import type { B } from './b.ts';\nexport const a = (b: B) => b.n;\n");
  writeFileSync(join(dir, 'b.ts'), "import { a } from './a.ts';\nexport interface B { n: number }\nexport const b = a;\n");
  writeFileSync(join(dir, 'c.ts'), "import { a } from './a.ts';\nexport const c = a;\n");
  const { cycles, unresolved } = await findCycles(dir, dir);
  assert.deepEqual(unresolved, []);
  assert.deepEqual(cycles.map(formatCycle), ['a.ts ⇢ b.ts → a.ts']);
});
