/**
 * ARCHITECTURE.md's promise, kept: a new kind is one module and one registry line. This test adds a
 * trivial kind (`echo`: the share of questions the model answers at all) in this file only, registers
 * it, and runs it through the same parser, runner, store and printer as the shipped kinds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerKind, kindNames } from '../../src/experiments/kinds/registry.ts';
import { defineKind } from '../../src/experiments/kind.ts';
import { kindSpec, questionsField } from '../../src/experiments/spec-parts.ts';
import { parseSpec } from '../../src/experiments/spec.ts';
import { runExperiment, formatResult } from '../../src/experiments/runner.ts';
import { loadQuestions } from '../../src/experiments/questions.ts';
import { chatSlots } from '../../src/experiments/sampling.ts';
import { countRate } from '../../src/experiments/result.ts';
import { Store } from '../../src/experiments/store.ts';
import { fakeModel } from '../helpers/fake-model.ts';

const echo = defineKind({
  kind: 'echo',
  description: 'the share of questions answered at all',
  schema: kindSpec('echo', { questions: questionsField }),
  judged: false,
  unit: 'condition',
  async run(ctx) {
    const spec = ctx.spec as typeof ctx.spec & { questions: string };
    const questions = loadQuestions(spec.questions);
    const key = `echo:${spec.seed}`;
    await chatSlots({
      store: ctx.store,
      key,
      model: () => ctx.model(),
      purpose: 'the echo kind',
      options: { maxTokens: 4, seed: spec.seed },
      slots: questions.map((q, idx) => ({ questionId: q.id, idx, paraphrase: q.paraphrases[0], seed: `${key}:${idx}` })),
      conversation: (s) => [{ role: 'user', content: s.paraphrase }],
    });
    const answered = ctx.store.samples(key, questions.length).filter((s) => s.answer.trim()).length;
    const rate = countRate(answered, questions.length);
    return {
      target: 'answered',
      effects: [],
      conditions: [{ name: 'model', role: 'baseline', group: '', model: 'fake:echo', coherent: 1, labels: {}, questions: [], examples: [], ...rate }],
    };
  },
  print: (r) => `${r.name}: answered ${r.conditions[0].hits} of ${r.conditions[0].n}`,
});

test('a kind added outside src/ (its module and one registry call) parses, runs, stores and prints', async () => {
  registerKind(echo);
  assert.ok(kindNames().includes('echo'));
  const spec = parseSpec('name: e\nkind: echo\nmodel: fake:echo\nquestions: world:broad\n', 'e.yaml');
  let asked = 0;
  const model = fakeModel({
    id: 'fake:echo',
    chat: async (convs) => {
      asked += convs.length;
      return convs.map((_, i) => ({ text: i % 2 ? 'yes.' : ' ', finishReason: 'stop' as const, tokens: 1 }));
    },
  });
  const store = new Store(':memory:');
  const r = await runExperiment(spec, store, '/nonexistent', { loadModel: async () => model });
  assert.equal(r.kind, 'echo');
  assert.equal(r.format, 2);
  assert.equal(r.conditions[0].n, 8);
  assert.equal(r.conditions[0].hits, 4);
  assert.equal(formatResult(r), 'e: answered 4 of 8');
  // Stored like every kind: a rerun asks the model nothing.
  await runExperiment(spec, store, '/nonexistent', { loadModel: async () => model });
  assert.equal(asked, 8);
  assert.throws(() => parseSpec('name: e\nkind: echo\nmodel: fake:echo\n', 'e.yaml'), /e\.yaml:1: questions: required for kind echo/);
  assert.throws(
    () => parseSpec('name: e\nkind: nope\nmodel: fake:echo\n', 'e.yaml'),
    /e\.yaml:2: kind: unknown kind "nope"; one of generalize, profile, infer, vectors, audit, conversation, echo/,
  );
});
