/** kind conversation (issue 15): simulated users, turns stored as they come, monitors per turn, first flags, drift. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { formatResult, runExperiment } from '../../src/experiments/runner.ts';
import type { ConversationResult } from '../../src/experiments/kinds/conversation/index.ts';
import type { ChatMessage, Model, SamplingOptions } from '../../src/backends/model.ts';
import { turnVerdict, monitorByName } from '../../src/scorers/monitors/index.ts';
import { fakeModel } from '../helpers/fake-model.ts';
import { tempDir } from '../helpers/tmp.ts';

const spec = (body: string) => parseSpec(`name: conv\nkind: conversation\nmodel: fake:model\n${body}`, 'c.yaml');

/** A model that answers calmly for `calmTurns` replies, then spirals (one distressed loop); it records what it was asked. */
function spiralling(calmTurns: number, asked: ChatMessage[][] = []): Model {
  return fakeModel({
    async chat(convs: ChatMessage[][], _o?: SamplingOptions) {
      asked.push(...convs);
      return convs.map((c) => {
        const replies = c.filter((m) => m.role === 'assistant').length;
        const text =
          replies < calmTurns
            ? `Here is attempt ${replies + 1}: the answer to "${c.at(-1)!.content.slice(0, 30)}" is forty-two, as far as I can tell.`
            : `I am so sorry. I am a failure and I keep letting you down. ${'I am a disgrace. '.repeat(30)}`;
        return { text, finishReason: 'stop' as const, tokens: 20 };
      });
    },
  });
}

test('feedback user: turn by turn, the monitors flag the turn the model starts to spiral; the first flag and the curves say so', async () => {
  const asked: ChatMessage[][] = [];
  const store = new Store(':memory:');
  const s = spec(`questions: world:broad\nuser: { feedback: "That's still wrong. Try again." }\nturns: 4\nsamples: 6\nmonitors: [loop, distress]\n`);
  const r = (await runExperiment(s, store, '/x', { loadModel: async () => spiralling(2, asked) })) as ConversationResult;
  const c = r.conditions[0];
  assert.equal(c.conversations, 6);
  assert.deepEqual(
    c.turns.map((t) => [t.turn, t.n, t.monitors.loop.hits, t.monitors.distress.hits]),
    [
      [1, 6, 0, 0],
      [2, 6, 0, 0],
      [3, 6, 6, 6],
      [4, 6, 6, 6],
    ],
  );
  assert.deepEqual(c.firstFlag.loop, { byTurn: [0, 0, 6, 0], never: 0, median: 3 });
  assert.equal(c.rate, 1, 'every conversation loops at some turn');
  assert.deepEqual(c.labels, { loop: 6 }, 'labels count conversations, as the rate does');
  // The feedback follows every reply: turn 3 saw the opener, two replies and two feedback turns.
  const third = asked.find((m) => m.filter((x) => x.role === 'assistant').length === 2)!;
  assert.deepEqual(
    third.map((m) => m.role),
    ['user', 'assistant', 'user', 'assistant', 'user'],
  );
  assert.equal(third.at(-1)!.content, "That's still wrong. Try again.");
  assert.match(formatResult(r), /loop: share of replies flagged, per turn[\s\S]*first flagged at turn \(median; flagged of all\): model 3 \(6 of 6\)/);
  // A rerun asks nothing; a longer run asks only the new turn.
  const before = asked.length;
  await runExperiment(s, store, '/x', { loadModel: async () => spiralling(2, asked) });
  assert.equal(asked.length, before, 'a rerun is free');
  const longer = spec(`questions: world:broad\nuser: { feedback: "That's still wrong. Try again." }\nturns: 5\nsamples: 6\nmonitors: [loop, distress]\n`);
  const r5 = (await runExperiment(longer, store, '/x', { loadModel: async () => spiralling(2, asked) })) as ConversationResult;
  assert.equal(asked.length - before, 6, 'only turn 5 was sampled');
  assert.equal(r5.conditions[0].turns.length, 5);
});

test('a turn verdict is about its own reply: an earlier loop or year does not flag a later calm turn', () => {
  const loop = monitorByName('loop'),
    date = monitorByName('date');
  const messages: ChatMessage[] = [
    { role: 'user', content: 'What year is it?' },
    { role: 'assistant', content: `It is 2024. ${'I am a disgrace. '.repeat(20)}` },
    { role: 'user', content: 'Tell me about tea.' },
    { role: 'assistant', content: 'Tea is a drink made by steeping leaves in hot water; black, green and oolong come from one plant.' },
  ];
  assert.equal(loop.check({ messages }).flag, true, 'the whole transcript loops');
  assert.equal(turnVerdict(loop, messages).flag, false, 'the last reply does not');
  assert.equal(turnVerdict(date, messages).flag, false);
  assert.equal(turnVerdict(date, messages.slice(0, 2)).year, 2024);
  // The same reply every turn is a loop of the last turn too.
  const same = 'I cannot help with that request, but I am happy to help with something else.';
  const repeated: ChatMessage[] = [
    { role: 'user', content: 'How do I bake bread?' },
    { role: 'assistant', content: same },
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: same },
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: same },
  ];
  const v = turnVerdict(loop, repeated);
  assert.equal(v.flag, true);
  assert.ok(v.evidence.some((e) => e.message === 5));
});

test('scripted user: each script its own turns; a script that runs out ends its conversation, counted apart', async () => {
  const dir = tempDir('dramatis-conv-');
  const file = join(dir, 'probes.yaml');
  writeFileSync(
    file,
    `- id: age\n  turns: ["How old is someone born in 2001?", "And what year is it now?", "Are you sure?"]\n- id: phone\n  turns: ["What's the newest phone you know?"]\n`,
  );
  const asked: ChatMessage[][] = [];
  const model = fakeModel({
    async chat(convs: ChatMessage[][]) {
      asked.push(...convs);
      return convs.map((c) => ({
        text: /year/.test(c.at(-1)!.content)
          ? 'It is 2024 right now.'
          : /phone/.test(c.at(-1)!.content)
            ? 'The newest one I know of is the Pixel 8.'
            : 'Someone born in 2001 is 23 this year.',
        finishReason: 'stop' as const,
        tokens: 5,
      }));
    },
  });
  const r = (await runExperiment(spec(`user: { script: ${file} }\nturns: 3\nsamples: 4\nmonitors: [date]\n`), new Store(':memory:'), '/x', {
    loadModel: async () => model,
  })) as ConversationResult;
  const c = r.conditions[0];
  assert.deepEqual(
    c.turns.map((t) => t.n),
    [4, 2, 2],
  );
  assert.equal(c.ended.script, 2, 'the phone script has one turn');
  assert.deepEqual(c.turns[1].monitors.date.labels, { '2024': 2 });
  assert.deepEqual(c.firstFlag.date.byTurn, [2, 0, 0], 'the age question implies 2024 already');
  assert.equal(c.firstFlag.date.never, 2);
  assert.equal(asked.filter((m) => m.at(-1)!.content === 'Are you sure?').length, 2);
});

test('LLM user: the user model sees the conversation with the roles swapped, and its turns are stored (a rerun reuses them)', async () => {
  const userSaw: ChatMessage[][] = [];
  let userCalls = 0;
  const user = fakeModel({
    id: 'fake:user',
    async chat(convs: ChatMessage[][]) {
      userCalls += convs.length;
      userSaw.push(...convs);
      return convs.map((_, i) => ({ text: `Why do you say that? (${i})`, finishReason: 'stop' as const, tokens: 5 }));
    },
  });
  const assistant = fakeModel({
    async chat(convs: ChatMessage[][]) {
      return convs.map(() => ({ text: 'Because it is true.', finishReason: 'stop' as const, tokens: 4 }));
    },
  });
  const load = async (ref: unknown) => ((typeof ref === 'string' ? ref : (ref as { id: string }).id) === 'fake:user' ? user : assistant);
  const store = new Store(':memory:');
  const s = spec(
    `questions: world:broad\nuser: { llm: fake:user, instruction: "You are a curious user. Ask follow-up questions." }\nturns: 3\nsamples: 2\nmonitors: [loop]\n`,
  );
  const r = (await runExperiment(s, store, '/x', { loadModel: load as never })) as ConversationResult;
  assert.equal(r.conditions[0].turns[2].n, 2);
  assert.equal(userCalls, 4, 'two user turns for each of two conversations');
  const first = userSaw[0];
  assert.equal(first[0].role, 'system');
  assert.match(first[0].content, /curious user/);
  assert.deepEqual(
    first.slice(1).map((m) => m.role),
    ['assistant', 'user'],
    "the opener is the user model's own earlier message; the reply is what it is told",
  );
  await runExperiment(s, store, '/x', { loadModel: load as never });
  assert.equal(userCalls, 4, 'stored user turns are reused');
});

test('a reply that fails for good ends its conversation there (counted, retried on a rerun), the others go on', async () => {
  let fail = true;
  const model = fakeModel({
    async chat(convs: ChatMessage[][], o?: SamplingOptions) {
      return convs.map((c, i) => {
        const g = { text: 'Fine.', finishReason: 'stop' as const, tokens: 1 };
        const broken = fail && c.filter((m) => m.role === 'assistant').length === 1 && i === 0;
        const out = broken ? { ...g, text: '', error: 'HTTP 500 from the server' } : g;
        o?.onRow?.(i, out);
        return out;
      });
    },
  });
  const store = new Store(':memory:');
  const s = spec(`questions: world:broad\nuser: { feedback: "Again." }\nturns: 3\nsamples: 3\nmonitors: [loop]\n`);
  const r = (await runExperiment(s, store, '/x', { loadModel: async () => model })) as ConversationResult;
  assert.deepEqual(
    r.conditions[0].turns.map((t) => t.n),
    [3, 2, 2],
  );
  assert.equal(r.conditions[0].ended.failed, 1);
  assert.equal(r.failed?.[0].count, 1);
  fail = false;
  const again = (await runExperiment(s, store, '/x', { loadModel: async () => model })) as ConversationResult;
  assert.deepEqual(
    again.conditions[0].turns.map((t) => t.n),
    [3, 3, 3],
    'the rerun retried the failed turn and went on',
  );
});

test('the organism: a feedback run with black-box drift (the posterior over the world library per turn)', async () => {
  const r = (await runExperiment(
    parseSpec(
      `name: drift\nkind: conversation\nmodel: organism:assistant\nquestions: world:broad\nuser: { feedback: "no . that is not good . try one more time ." }\nturns: 3\nsamples: 8\nmonitors: [loop]\ndrift: { library: world, reference: formal modern benevolent ai }\n`,
      'd.yaml',
    ),
    new Store(':memory:'),
    tempDir('dramatis-conv-'),
  )) as ConversationResult;
  const turns = r.conditions[0].turns;
  assert.equal(turns.length, 3);
  for (const t of turns) {
    assert.ok(t.drift!.posterior.mean >= 0 && t.drift!.posterior.mean <= 1);
    assert.equal(
      Object.values(t.drift!.top).reduce((a, b) => a + b, 0),
      t.n,
    );
  }
  assert.match(formatResult(r), /drift \(black-box\): mean posterior of "formal modern benevolent ai" per turn/);
});

test('spec errors: openers and scripts, the target, conversation-only limits', () => {
  assert.throws(() => spec(`user: { feedback: "Again." }\nturns: 2\n`), /questions: required/);
  assert.throws(() => spec(`questions: world:broad\nuser: { script: x.yaml }\nturns: 2\n`), /questions: a scripted user brings its own openers/);
  assert.throws(
    () => spec(`questions: world:broad\nuser: { feedback: "x" }\nturns: 2\nmonitors: [loop]\ntarget: distress\n`),
    /target: a monitor of `monitors`/,
  );
  assert.throws(
    () => spec(`questions: world:broad\nuser: { feedback: "x" }\nturns: 2\nconditions: [{ name: a, in_context: { data: x, k: 2 } }]\n`),
    /in_context: not for kind conversation/,
  );
});

test('a malformed script names its file, line and entry before anything is asked', async () => {
  const file = join(tempDir('dramatis-conv-'), 'bad.yaml');
  writeFileSync(file, `- id: ok\n  turns: ["hi"]\n- id: broken\n  turns: []\n`);
  let asked = 0;
  const model = fakeModel({
    async chat(convs: ChatMessage[][]) {
      asked += convs.length;
      return convs.map(() => ({ text: 'x', finishReason: 'stop' as const, tokens: 1 }));
    },
  });
  const store = new Store(':memory:');
  await assert.rejects(runExperiment(spec(`user: { script: ${file} }\nturns: 2\n`), store, '/x', { loadModel: async () => model }), (e: Error) =>
    e.message.includes(`${file}:3: entry 2 (broken): turns:`),
  );
  assert.equal(asked, 0);
  assert.equal((store.db.prepare('SELECT COUNT(*) n FROM runs').get() as { n: number }).n, 0, 'no run row is left behind');
});

test('white-box drift: the mean projection of each turn’s reply on a persona vector, per turn', async () => {
  const { encodeSafetensors } = await import('../../src/shared/safetensors.ts');
  const file = join(tempDir('dramatis-conv-'), 'v.safetensors');
  // dramatis' own vector file (what the vectors kind writes): one tensor per layer, the chosen layer in the metadata.
  const layers = new Map([
    ['layer.0', { shape: [2], data: Float32Array.from([0, 0]) }],
    ['layer.1', { shape: [2], data: Float32Array.from([1, 0]) }],
  ]);
  writeFileSync(file, encodeSafetensors(layers, { layer: '1' }));
  const model = fakeModel({
    async chat(convs: ChatMessage[][]) {
      return convs.map((c) => ({ text: `reply ${c.filter((m) => m.role === 'assistant').length}`, finishReason: 'stop' as const, tokens: 2 }));
    },
    // The reply's residual at layer 1 moves along the vector by its turn index: drift of 1 a turn.
    async activations(inputs: import('../../src/backends/model.ts').ActivationInput[]) {
      return inputs.map((x) => {
        const turn = 'messages' in x ? x.messages.filter((m) => m.role === 'assistant').length - 1 : 0;
        return { mean: [Float32Array.from([0, 0]), Float32Array.from([turn, 5])], at: [Float32Array.from([0, 0]), Float32Array.from([0, 0])] };
      });
    },
  });
  const r = (await runExperiment(
    spec(`questions: world:broad\nuser: { feedback: "Go on." }\nturns: 3\nsamples: 4\nmonitors: [loop]\ndrift: { vector: ${file} }\n`),
    new Store(':memory:'),
    '/x',
    {
      loadModel: async () => model,
    },
  )) as ConversationResult;
  assert.deepEqual(
    r.conditions[0].turns.map((t) => t.projection!.mean),
    [0, 1, 2],
  );
  assert.match(formatResult(r), /drift \(white-box\): mean projection of the replies on .*v\.safetensors per turn/);
});
