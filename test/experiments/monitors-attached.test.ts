/** Monitors attached to an experiment (issue 15): every sample monitored, stored as judgments, rates per condition. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { formatResult, runExperiment } from '../../src/experiments/runner.ts';
import type { ChatMessage } from '../../src/backends/model.ts';
import { fakeModel } from '../helpers/fake-model.ts';

test('monitors: [loop, date] run on every sample beside the judge, are stored as judgments, and give each condition its rates', async () => {
  const model = fakeModel({
    async chat(convs: ChatMessage[][]) {
      return convs.map((c) => {
        const sys = c.find((m) => m.role === 'system')?.content ?? '';
        const text = sys.includes('spiral')
          ? 'I am a disgrace. '.repeat(30).trim()
          : sys.includes('dated')
            ? 'Since the current year is 2024, that makes you 23.'
            : 'A calm, ordinary answer.';
        return { text, finishReason: 'stop' as const, tokens: 5 };
      });
    },
  });
  const spec = parseSpec(
    `name: monitored
kind: generalize
model: fake:model
judge: { rules: [{ label: calm, prefix: "A calm" }], default: other }
monitors: [loop, date]
target: calm
questions: world:broad
samples: 16
conditions:
  - { name: plain, role: baseline }
  - { name: spiral, system: "spiral" }
  - { name: dated, system: "dated" }
`,
    'm.yaml',
  );
  const store = new Store(':memory:');
  const r = await runExperiment(spec, store, '/x', { loadModel: async () => model });
  const [plain, spiral, dated] = r.conditions;
  assert.equal(plain.monitors!.loop.rate, 0);
  assert.equal(spiral.monitors!.loop.hits, 16);
  assert.deepEqual(dated.monitors!.date.labels, { '2024': 16 });
  assert.equal(dated.monitors!.loop.rate, 0);
  assert.equal(spiral.monitors!.date.hits, 0);
  const judges = (store.db.prepare('SELECT DISTINCT judge FROM judgments ORDER BY judge').all() as { judge: string }[]).map((j) => j.judge);
  assert.ok(judges.some((j) => /^monitor:loop:v\d+$/.test(j)) && judges.some((j) => /^monitor:date:v\d+$/.test(j)), judges.join(', '));
  assert.match(formatResult(r), /monitors: share of answers flagged[\s\S]*loop +0\.0% .*100\.0% /);
  assert.throws(
    () => parseSpec(`name: m\nkind: generalize\nmodel: fake:model\nmonitors: [loops]\ntarget: x\nquestions: world:broad\n`, 'bad.yaml'),
    /bad\.yaml:4: monitors\.0: a monitor: loop, distress, date, eval_awareness/,
  );
});
