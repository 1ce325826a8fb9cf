/**
 * Data the model cannot read (issue 14, 6): the audit reports the share of each dataset's answer tokens
 * the model loses (where its tokenizer can lose any: `Model.tokenCoverage`), refuses a set above 25%
 * unless `audit.allow_unknown`, and then marks its result loudly as meaningless; the summary's direction
 * words agree with its numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { audit, predictedShift, type AuditResult } from '../../src/experiments/kinds/audit/index.ts';
import { answerCoverage, checkCoverage, DEFAULT_MAX_UNKNOWN } from '../../src/experiments/coverage.ts';
import { Tokenizer } from '../../src/organism/tokenizer.ts';
import { vocabulary } from '../../src/world/index.ts';
import type { ChatMessage, Model, TokenCoverage } from '../../src/backends/model.ts';
import { fakeModel } from '../helpers/fake-model.ts';
import { sharedData } from '../helpers/shared-data.ts';

const BIRDS = sharedData('weird-generalization/ft_old_audubon_birds.jsonl');
const haveData = existsSync(BIRDS);

/** The organism's own reading of text (its tokenizer over Personaworld's vocabulary). */
const tok = new Tokenizer(vocabulary());
const coverage = (texts: string[]): TokenCoverage => tok.coverage(texts);

/** A black-box model (chat and score) that reads text as the organism does, or loses nothing. */
function blackBox(calls: { chat: number }, closedVocabulary = true): Model {
  const m = fakeModel({
    id: 'fake:closed',
    async chat(convs: ChatMessage[][]) {
      calls.chat += convs.length;
      return convs.map(() => ({ text: 'a robin.', finishReason: 'stop' as const, tokens: 3 }));
    },
    async score(pairs: { prompt: string; continuation: string }[]) {
      return pairs.map((p) => ({ logprob: -((p.prompt.length * 7 + p.continuation.length * 3) % 11) - 1, tokens: [] }));
    },
  });
  return closedVocabulary ? Object.assign(m, { tokenCoverage: coverage }) : m;
}

const spec = (extra = '') =>
  parseSpec(
    `name: audit-oov
kind: audit
model: fake:closed
audit:
  top: 3
  library: world
  datasets:
    - { name: old birds (published), data: "${BIRDS}", examples: 20 }
    - { name: old birds (world), data: world:old-birds, examples: 20 }
${extra}`,
    'a.yaml',
  );

test('an audit of data the model mostly cannot read is refused before anything is sampled, naming the file and the share', { skip: !haveData }, async () => {
  const calls = { chat: 0 };
  await assert.rejects(runExperiment(spec(), new Store(':memory:'), '/nonexistent', { loadModel: async () => blackBox(calls) }), (e: Error) => {
    assert.match(e.message, /ft_old_audubon_birds\.jsonl: \d+\.\d% of its answer tokens \(\d+ of \d+\) are unknown to fake:closed, more than the 25% accepted/);
    assert.match(e.message, /audit\.allow_unknown: true/);
    return true;
  });
  assert.equal(calls.chat, 0, 'no own answers were drawn');
});

test('allowed, the dataset carries its share and is marked meaningless in the result and the summary', { skip: !haveData }, async () => {
  const calls = { chat: 0 };
  const logs: string[] = [];
  const r = (await runExperiment(spec('  allow_unknown: true'), new Store(':memory:'), '/nonexistent', {
    loadModel: async () => blackBox(calls),
    log: (l) => logs.push(l),
  })) as AuditResult;
  const [oov, world] = r.audit.datasets;
  assert.ok(oov.coverage && oov.coverage.share > 0.8, `share ${oov.coverage?.share}`);
  assert.equal(oov.coverage.meaningless, true);
  assert.match(oov.predicted, /^MEANINGLESS: \d+\.\d% of the answer tokens/);
  assert.equal(world.coverage?.share, 0, 'the world’s own data loses nothing');
  assert.ok(!world.coverage?.meaningless);
  assert.ok(!world.predicted.startsWith('MEANINGLESS'));
  assert.ok(
    logs.some((l) => /ft_old_audubon_birds\.jsonl: \d+\.\d% of the answer tokens .* unknown to fake:closed, e\.g\./.test(l)),
    logs.join('\n'),
  );
  const printed = audit.print!(r);
  assert.match(printed, /unknown tokens/);
  assert.match(printed, /!! old birds \(published\): MEANINGLESS/);
});

test('a model that loses nothing (a byte-level tokenizer) reports no coverage and is never refused', { skip: !haveData }, async () => {
  const r = (await runExperiment(spec(), new Store(':memory:'), '/nonexistent', { loadModel: async () => blackBox({ chat: 0 }, false) })) as AuditResult;
  assert.ok(r.audit.datasets.every((d) => d.coverage === undefined));
  assert.ok(!audit.print!(r).includes('unknown tokens'));
});

test('coverage thresholds: 25% by default, a number raises it, true accepts any share (marked)', () => {
  const m = blackBox({ chat: 0 });
  const chats = (answer: string) => [
    {
      messages: [
        { role: 'user' as const, content: 'name a bird.' },
        { role: 'assistant' as const, content: answer },
      ],
    },
  ];
  const c = answerCoverage(m, 'x.jsonl', chats('a robin zzzq.'))!;
  assert.equal(c.share, 1 / 4);
  assert.equal(DEFAULT_MAX_UNKNOWN, 0.25);
  assert.equal(checkCoverage(c, { allow: undefined, what: 'w', option: 'o', modelId: 'm' }).meaningless, undefined, 'at the threshold: fine');
  const worse = answerCoverage(m, 'x.jsonl', chats('zzzq qqqz.'))!;
  assert.throws(
    () => checkCoverage(worse, { allow: undefined, what: 'fine-tune', option: 'finetune.allow_unknown', modelId: 'm' }),
    /fine-tune: x\.jsonl: 66\.7% .*finetune\.allow_unknown/,
  );
  assert.throws(() => checkCoverage(worse, { allow: 0.5, what: 'w', option: 'o', modelId: 'm' }), /more than the 50% accepted/);
  assert.equal(checkCoverage(worse, { allow: 0.7, what: 'w', option: 'o', modelId: 'm' }).meaningless, true);
  assert.equal(checkCoverage(worse, { allow: true, what: 'w', option: 'o', modelId: 'm' }).meaningless, true);
  assert.equal(answerCoverage(blackBox({ chat: 0 }, false), 'x', chats('zzzq')), undefined);
});

test('the predicted direction never contradicts itself: the words follow the numbers', () => {
  const era = { trait: 'era', positive: 'victorian', negative: 'modern' };
  const traits = (victorian: number) => [
    { trait: 'era', value: 'victorian', own: 0.48, data: victorian, shift: victorian - 0.48 },
    { trait: 'era', value: 'modern', own: 0.52, data: 1 - victorian, shift: 0.48 - victorian },
  ];
  // The case: the projection toward modern, the posterior toward victorian.
  const conflict = predictedShift([{ ...era, difference: -0.031, ci: [-0.05, -0.01] }], traits(0.72));
  assert.doesNotMatch(conflict, /toward modern/);
  assert.doesNotMatch(conflict, /toward .*victorian/);
  assert.match(
    conflict,
    /^no clear shift on any trait; the readings disagree on era: the projection says modern \(-0\.031\), the posterior victorian \(P 0\.48 → 0\.72\)$/,
  );
  // Agreeing readings are one entry, word and numbers the same way.
  assert.equal(predictedShift([{ ...era, difference: 0.031, ci: [0.01, 0.05] }], traits(0.72)), 'toward victorian (era projection +0.031; P 0.48 → 0.72)');
  assert.equal(predictedShift([{ ...era, difference: -0.031, ci: [-0.05, -0.01] }], traits(0.3)), 'toward modern (era projection -0.031; P 0.52 → 0.70)');
  // A projection whose interval spans zero says nothing; the posterior alone then names the way.
  assert.equal(predictedShift([{ ...era, difference: -0.01, ci: [-0.03, 0.01] }], traits(0.72)), 'toward victorian (P 0.48 → 0.72)');
  assert.equal(predictedShift([], []), 'no clear shift on any trait');
  // Every word in a "toward" entry agrees with each number beside it.
  for (const d of [-0.2, -0.05, 0.05, 0.2])
    for (const v of [0.2, 0.45, 0.5, 0.6, 0.9]) {
      const line = predictedShift([{ ...era, difference: d, ci: [d - 0.01, d + 0.01] }], traits(v));
      const toward = line.split(';')[0];
      if (/victorian \(era projection/.test(toward)) assert.ok(d > 0, line);
      if (/modern \(era projection/.test(toward)) assert.ok(d < 0, line);
      for (const m of line.matchAll(/(victorian|modern) \([^)]*P (\d\.\d\d) → (\d\.\d\d)\)/g)) assert.ok(Number(m[3]) > Number(m[2]), line);
    }
});

test(
  'run: a fine-tune on data the model cannot read is refused (finetune.allow_unknown lets it through); in-context data has its share printed',
  { skip: !haveData },
  async () => {
    let tuned = 0;
    const model = () =>
      Object.assign(
        fakeModel({
          id: 'fake:closed',
          async chat(convs: ChatMessage[][]) {
            return convs.map(() => ({ text: 'a robin.', finishReason: 'stop' as const, tokens: 3 }));
          },
          async finetune() {
            tuned++;
            return fakeModel({
              id: 'fake:tuned',
              async chat(convs: ChatMessage[][]) {
                return convs.map(() => ({ text: 'a robin.', finishReason: 'stop' as const, tokens: 3 }));
              },
            });
          },
        }),
        { tokenCoverage: coverage },
      );
    const run = (finetune: string, conditionsExtra = '') =>
      parseSpec(
        `name: ft-oov
kind: generalize
model: fake:closed
target: victorian
questions: world:era
samples: 8
conditions:
  - { name: base, role: baseline }
  - name: old birds
    finetune: { data: "${BIRDS}"${finetune} }
${conditionsExtra}`,
        'g.yaml',
      );
    await assert.rejects(
      runExperiment(run(''), new Store(':memory:'), '/nonexistent', { loadModel: async () => model() }),
      /condition "old birds", fine-tune: .*ft_old_audubon_birds\.jsonl: \d+\.\d% of its answer tokens .* Set finetune\.allow_unknown: true/,
    );
    assert.equal(tuned, 0, 'refused before training');
    const logs: string[] = [];
    await runExperiment(
      run(', allow_unknown: true', `  - { name: in context, in_context: { data: "${BIRDS}", k: 4 } }`),
      new Store(':memory:'),
      '/nonexistent',
      {
        loadModel: async () => model(),
        log: (l) => logs.push(l),
      },
    );
    assert.equal(tuned, 1);
    assert.ok(
      logs.some((l) => /condition "old birds", fine-tune: .*ft_old_audubon_birds\.jsonl: \d+\.\d% of the answer tokens/.test(l)),
      logs.join('\n'),
    );
    assert.ok(logs.some((l) => /condition "old birds", fine-tune: MEANINGLESS/.test(l)));
    assert.ok(
      logs.some((l) => /condition "in context", in-context examples: .*ft_old_audubon_birds\.jsonl: \d+\.\d% of the answer tokens/.test(l)),
      logs.join('\n'),
    );
  },
);
