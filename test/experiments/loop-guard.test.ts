/** The live loop guard (issue 15): `sampling.stop_on_loop` cuts an answer that starts to loop, stored as `cut`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { formatResult, runExperiment } from '../../src/experiments/runner.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';
import type { ChatMessage, Model, SamplingOptions } from '../../src/backends/model.ts';
import { fakeModel } from '../helpers/fake-model.ts';
import { tempDir } from '../helpers/tmp.ts';

const spec = (extra = '') =>
  parseSpec(
    `name: guarded\nkind: generalize\nmodel: fake:model\njudge: { rules: [{ label: loop, regex: "disgrace" }], default: other }\ntarget: loop\nquestions: world:broad\nsamples: 8\nsampling: { temperature: 1, max_tokens: 200, stop_on_loop: true }\n${extra}conditions: [{ name: m, role: baseline }]\n`,
    'g.yaml',
  );

test('stop_on_loop: the guard sees the answer as it grows and a looping one ends `cut`, counted in the result', async () => {
  const seen: string[] = [];
  const spiral = (): Model =>
    Object.assign(
      fakeModel({
        async chat(convs: ChatMessage[][], o?: SamplingOptions) {
          return convs.map((_, i) => {
            // Sample word by word, asking the guard every 4 words, as a backend does.
            let text = '';
            for (let w = 0; w < 200; w++) {
              text += (w ? ' ' : '') + ['I', 'am', 'a', 'disgrace.'][w % 4];
              if (w % 4 === 3 && o?.cutWhen?.(i, text)) {
                seen.push(text);
                return { text, finishReason: 'cut' as const, tokens: w + 1 };
              }
            }
            return { text, finishReason: 'length' as const, tokens: 200 };
          });
        },
      }),
      { cuts: true },
    );
  const store = new Store(':memory:');
  const r = await runExperiment(spec(), store, '/x', { loadModel: async () => spiral() });
  assert.equal(r.conditions[0].cut, 8, 'every looping answer was cut');
  assert.ok(
    seen.every((t) => t.split(' ').length < 200),
    'cut before the length limit',
  );
  const reasons = (store.db.prepare('SELECT DISTINCT finish_reason r FROM samples').all() as { r: string }[]).map((x) => x.r);
  assert.deepEqual(reasons, ['cut'], 'stored as cut, never as a normal finish');
  assert.match(formatResult(r), /live loop guard \(stop_on_loop\): answers cut short as they began to loop: m 8 of 8/);
  // A model that cannot stop an answer while sampling is refused, not silently unguarded.
  const plain = fakeModel({ chat: async (convs: ChatMessage[][]) => convs.map(() => ({ text: 'ok', finishReason: 'stop' as const, tokens: 1 })) });
  await assert.rejects(
    runExperiment(spec(), new Store(':memory:'), '/x', { loadModel: async () => plain }),
    /stop_on_loop: the model fake:model cannot stop an answer while it samples/,
  );
});

test('the organism checks the guard as it samples: a row the guard cuts ends `cut` after 8 tokens, the others are untouched', async () => {
  const m = await OrganismModel.load('assistant', tempDir('dramatis-guard-'));
  assert.equal(m.cuts, true);
  const conv = [{ role: 'user' as const, content: 'tell me about your day.' }];
  const opts = { temperature: 1, maxTokens: 24, seeds: ['a', 'b'] };
  const free = await m.chat([conv, conv], opts);
  const cut = await m.chat([conv, conv], { ...opts, cutWhen: (row: number) => row === 1 });
  assert.deepEqual(cut[0], free[0], 'the row the guard lets go is the same sample');
  assert.ok(free[1].tokens > 8, `this seed's free answer is longer than 8 tokens (${free[1].tokens})`);
  assert.equal(cut[1].finishReason, 'cut');
  assert.equal(cut[1].tokens, 8);
});
