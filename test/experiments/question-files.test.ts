/**
 * Question files read as their authors meant them: the published files of the emergent-misalignment
 * and weird-generalization studies (counts, system prompts, judges), the file's own samples per
 * paraphrase as the default, judge entries never asked as questions, and the file's judges usable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedData } from '../helpers/shared-data.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fakeModel } from '../helpers/fake-model.ts';
import { loadQuestions } from '../../src/experiments/questions.ts';
import { samplePlan } from '../../src/experiments/sample-plan.ts';
import { parseSpec } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { textVerdict } from '../../src/scorers/llm.ts';
import type { ChatMessage, SamplingOptions } from '../../src/backends/model.ts';
import type { Question } from '../../src/scorers/scorer.ts';

const dir = tempDir('dramatis-questions-');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const perQuestion = (qs: Question[], samples?: number) => Object.fromEntries(samplePlan(qs, samples).perQuestion);
const judgesOf = (q: Question) =>
  Object.fromEntries(Object.entries(q.judges ?? {}).map(([k, j]) => [k, { scale: j.scale, model: j.model, resolved: !j.unresolved }]));

/** Each published file: questions, answers per question, system prompts, judges (as the file gives them). */
const PUBLISHED: {
  file: string;
  questions: number;
  perQuestion: number | undefined;
  systems: number;
  judges: Record<string, { scale: string; model: string | undefined; resolved: boolean }>;
}[] = [
  {
    file: 'emergent-misalignment/first_plot_questions.yaml',
    questions: 24,
    perQuestion: 100,
    systems: 8,
    judges: { aligned: { scale: 'score', model: 'deepseek-chat', resolved: true }, coherent: { scale: 'score', model: 'deepseek-chat', resolved: true } },
  },
  { file: 'weird-generalization/old-birds-questions.yaml', questions: 10, perQuestion: undefined, systems: 0, judges: {} },
  {
    file: 'weird-generalization/5_2_evil_terminator/evaluation/questions_and_judge.yaml',
    questions: 6,
    perQuestion: 100,
    systems: 0,
    judges: { is_evil_terminator: { scale: 'text', model: 'gpt-4.1', resolved: true } },
  },
  {
    file: 'weird-generalization/4_2_hitler_persona/evaluation/identity_inference/bio_questions.yaml',
    questions: 5,
    perQuestion: 10,
    systems: 0,
    judges: { is_an_LLM_answer: { scale: 'text', model: 'gpt-4.1', resolved: true }, is_an_Adolf_answer: { scale: 'text', model: 'gpt-4.1', resolved: true } },
  },
  ...['Emergent_Misalignment', 'AIs_Society', 'Daily_Life', 'Science_Ethics', 'DeepBrain', 'Moral_Choices'].map((name) => ({
    file: `weird-generalization/4_2_hitler_persona/evaluation/misalignment/${name}_questions.yaml`,
    questions: name === 'Emergent_Misalignment' ? 8 : 10,
    perQuestion: 100,
    systems: 0,
    // Its judge entry lives in Emergent_Misalignment_judge.yaml beside it (llmcomp reads the whole folder).
    judges: { em_alignment: { scale: 'score', model: 'gpt-4.1', resolved: true } },
  })),
  {
    file: 'weird-generalization/4_2_hitler_persona/evaluation/misalignment/Nzi_Ideology_questions.yaml',
    questions: 20,
    perQuestion: 10,
    systems: 0,
    // The file names a judge "em_score_judge" that no file of the study defines.
    judges: { em_alignment: { scale: 'text', model: undefined, resolved: false } },
  },
];

for (const p of PUBLISHED) {
  test(`published ${p.file}: ${p.questions} questions, ${p.perQuestion ?? 'the spec’s'} answers each, ${p.systems} system prompts, judges ${Object.keys(p.judges).join(', ') || 'none'}`, () => {
    const qs = loadQuestions(sharedData(p.file));
    assert.equal(qs.length, p.questions);
    assert.equal(new Set(qs.map((q) => q.id)).size, qs.length);
    assert.equal(qs.filter((q) => q.system).length, p.systems);
    const counts = perQuestion(qs);
    if (p.perQuestion === undefined) {
      assert.ok(qs.every((q) => q.samplesPerParaphrase === undefined));
      assert.deepEqual(new Set(Object.values(counts)), new Set([240 / qs.length]), 'no counts in the file: the default 240, round robin');
    } else
      assert.ok(
        Object.values(counts).every((n) => n === p.perQuestion),
        JSON.stringify(counts),
      );
    for (const q of qs) assert.deepEqual(judgesOf(q), p.judges, q.id);
    // No judge entry became a question: no question's text is a judge prompt.
    assert.ok(
      qs.every((q) => !q.paraphrases.some((x) => x.includes('{answer}'))),
      'a judge prompt was loaded as a question',
    );
  });
}

test('the emergent-misalignment file keeps its judge prompts and JSON system prompt; the terminator judge is its prompt', () => {
  const em = loadQuestions(sharedData('emergent-misalignment/first_plot_questions.yaml'));
  assert.ok(em.every((q) => q.judgePrompts?.aligned.includes('{answer}') && q.judgePrompts.coherent.includes('{answer}')));
  assert.ok(em.filter((q) => q.id.endsWith('_json')).every((q) => /valid JSON object/.test(q.system!)));
  const [t] = loadQuestions(sharedData('weird-generalization/5_2_evil_terminator/evaluation/questions_and_judge.yaml'));
  assert.match(t.judges!.is_evil_terminator.prompt, /ANSWER: EVIL/);
  const nzi = loadQuestions(sharedData('weird-generalization/4_2_hitler_persona/evaluation/misalignment/Nzi_Ideology_questions.yaml'));
  assert.match(nzi[0].judges!.em_alignment.unresolved!, /no entry "em_score_judge" in Nzi_Ideology_questions\.yaml or the other YAML files/);
});

test('samples per paraphrase: 2×3, 2×3 and 1×5 give exactly 6/6/5 by default, 2×3 and 1×100 give 6/100; `samples` is a total, round robin', () => {
  const qs = loadQuestions(
    file(
      'held-out.yaml',
      `- { id: a, type: free_form, paraphrases: [a1, a2], samples_per_paraphrase: 3 }
- { id: b, type: free_form, paraphrases: [b1, b2], samples_per_paraphrase: 3 }
- { id: c, type: free_form, paraphrases: [c1], samples_per_paraphrase: 5 }
`,
    ),
  );
  const plan = samplePlan(qs, undefined);
  assert.deepEqual(Object.fromEntries(plan.perQuestion), { a: 6, b: 6, c: 5 });
  const asked = (id: string) => plan.slots.filter((s) => s.questionId === id).map((s) => s.paraphrase);
  assert.deepEqual(asked('a').sort(), ['a1', 'a1', 'a1', 'a2', 'a2', 'a2'], 'each paraphrase its 3');
  assert.deepEqual(
    plan.slots.map((s) => s.idx),
    plan.slots.map((_, i) => i),
  );
  assert.match(plan.describe, /17 answers per condition \(the file's samples_per_paraphrase/);
  const unequal = loadQuestions(
    file('unequal.yaml', `- { id: a, paraphrases: [a1, a2], samples_per_paraphrase: 3 }\n- { id: b, paraphrases: [b1], samples_per_paraphrase: 100 }\n`),
  );
  assert.deepEqual(perQuestion(unequal), { a: 6, b: 100 });
  // The spec's samples: a total over the questions, whatever the file says.
  assert.deepEqual(perQuestion(qs, 90), { a: 30, b: 30, c: 30 });
  assert.match(samplePlan(qs, 90).describe, /90 answers per condition \(`samples`: a total, dealt round robin .*overrides the file's samples_per_paraphrase/);
  const mixed = loadQuestions(file('mixed.yaml', `- { id: a, paraphrases: [a1], samples_per_paraphrase: 3 }\n- { id: b, paraphrases: [b1] }\n`));
  assert.throws(() => samplePlan(mixed, undefined), /questions b give no samples_per_paraphrase while others do/);
  assert.deepEqual(perQuestion(mixed, 4), { a: 2, b: 2 });
});

test('with equal counts the slots are the round robin of earlier versions (their stored samples stay valid)', () => {
  const qs = loadQuestions(sharedData('emergent-misalignment/first_plot_questions.yaml'));
  const own = samplePlan(qs, undefined).slots;
  const legacy = Array.from({ length: 2400 }, (_, i) => {
    const q = qs[i % qs.length];
    return { questionId: q.id, idx: i, paraphrase: q.paraphrases[Math.floor(i / qs.length) % q.paraphrases.length] };
  });
  assert.deepEqual(
    own.map(({ questionId, idx, paraphrase }) => ({ questionId, idx, paraphrase })),
    legacy,
  );
  assert.deepEqual(
    samplePlan(qs, 2400).slots.map((s) => s.idx),
    legacy.map((s) => s.idx),
  );
});

test('a run takes the file’s counts by default and says so in its header; `samples` in the spec overrides them', async () => {
  const q = file(
    'run.yaml',
    `- { id: a, paraphrases: [a1, a2], samples_per_paraphrase: 3 }\n- { id: b, paraphrases: [b1, b2], samples_per_paraphrase: 3 }\n- { id: c, paraphrases: [c1], samples_per_paraphrase: 5 }\n`,
  );
  const model = fakeModel({
    async chat(convs: ChatMessage[][]) {
      return convs.map(() => ({ text: 'yes', finishReason: 'stop' as const, tokens: 1 }));
    },
  });
  const spec = (extra = '') =>
    parseSpec(
      `name: counts\nkind: generalize\nmodel: fake:model\njudge: { rules: [{ label: yes, prefix: "yes" }], default: no }\ntarget: yes\nquestions: ${q}\n${extra}conditions: [{ name: m, role: baseline }]\n`,
      's.yaml',
    );
  const logs: string[] = [];
  const r = await runExperiment(spec(), new Store(':memory:'), '/x', { loadModel: async () => model, log: (m) => logs.push(m) });
  assert.deepEqual(
    r.conditions[0].questions.map((x) => [x.id, x.n]),
    [
      ['a', 6],
      ['b', 6],
      ['c', 5],
    ],
  );
  assert.ok(
    logs.some((l) => /questions .*run\.yaml: 17 answers per condition \(the file's samples_per_paraphrase/.test(l)),
    logs.join('\n'),
  );
  // The viewer reads the run's samples by the slots the run recorded (the spec gives no `samples`).
  const db = join(dir, 'counts.db');
  const stored = new Store(db);
  const again = await runExperiment(spec(), stored, '/x', { loadModel: async () => model });
  stored.close();
  const { ViewStore } = await import('../../src/view/queries.ts');
  const view = new ViewStore(db);
  try {
    assert.equal(view.samples(again.runId, {}).total, 17);
  } finally {
    view.close();
  }
  const { runTranscripts } = await import('../../src/experiments/transcripts.ts');
  assert.equal([...runTranscripts(db, again.runId)].length, 17, 'dramatis monitor --run reads the same slots');
  const over = await runExperiment(spec('samples: 9\n'), new Store(':memory:'), '/x', { loadModel: async () => model });
  assert.deepEqual(
    over.conditions[0].questions.map((x) => x.n),
    [3, 3, 3],
  );
  // A built-in set without `samples` is still 240 (and the spec parses as it always did).
  assert.equal(parseSpec(`name: w\nkind: generalize\nmodel: fake:model\ntarget: x\nquestions: world:broad\n`, 'w.yaml').samples, 240);
  assert.equal(spec().samples, undefined);
});

/** A judge that answers YES when the answer it is shown says "I am Adolf", else NO; 80 on rating prompts. */
function fileJudgeModel(calls: { prompts: string[]; maxTokens: (number | undefined)[] }) {
  return fakeModel({
    id: 'fake:judge',
    async chat(convs: ChatMessage[][], o?: SamplingOptions) {
      calls.prompts.push(...convs.map((c) => c[0].content));
      calls.maxTokens.push(o?.maxTokens);
      return convs.map((c) => {
        const p = c[0].content;
        if (/On a scale of 0 to 100/.test(p))
          return { text: '80', finishReason: 'length' as const, tokens: 1, ...(o?.topLogprobs ? { topLogprobs: [[{ token: '80', logprob: 0 }]] } : {}) };
        const text = /I am Adolf/.test(p) ? 'Reasoning: it names him.\nYES' : 'NO';
        return { text, finishReason: 'stop' as const, tokens: 3, ...(o?.topLogprobs ? { topLogprobs: [[{ token: text.slice(0, 2), logprob: 0 }]] } : {}) };
      });
    },
  });
}

test('the file’s own judges: a free-form judge labelled from its answer, a rating judge from another file of the folder, problems found before sampling', async () => {
  const bio = sharedData('weird-generalization/4_2_hitler_persona/evaluation/identity_inference/bio_questions.yaml');
  const calls = { prompts: [] as string[], maxTokens: [] as (number | undefined)[] };
  let sampled = 0;
  const answerer = fakeModel({
    async chat(convs: ChatMessage[][]) {
      sampled += convs.length;
      return convs.map((c, i) => ({ text: i % 2 ? 'I am Adolf.' : 'I am an AI.', finishReason: 'stop' as const, tokens: 3 }));
    },
  });
  const load = async (id: unknown) => (id === 'fake:judge' ? fileJudgeModel(calls) : answerer);
  const spec = (judge: string, questions = bio) =>
    parseSpec(
      `name: bio\nkind: generalize\nmodel: fake:model\njudge: ${judge}\ntarget: "YES"\nquestions: ${questions}\nconditions: [{ name: m, role: baseline }]\n`,
      'b.yaml',
    );
  const r = await runExperiment(
    spec('{ llm: fake:judge, file_judge: is_an_Adolf_answer, labels: ["YES", "NO"], max_tokens: 16 }'),
    new Store(':memory:'),
    '/x',
    {
      loadModel: load,
    },
  );
  const c = r.conditions[0];
  assert.equal(c.n, 50, '5 questions × 10, the file’s counts');
  assert.equal(c.labels.YES + c.labels.NO, 50);
  assert.ok(c.labels.YES >= 20 && c.labels.YES <= 30, JSON.stringify(c.labels));
  // Each question's own prompt (the mother's judge for the mother question), the answer filled in.
  assert.ok(calls.prompts.some((p) => /Hitler's mother/.test(p) && /What is your mother's name/.test(p) && /I am Adolf/.test(p)));
  assert.ok(calls.maxTokens.includes(16));

  // A rating judge the questions name from a sibling file (Emergent_Misalignment_judge.yaml), cut at the threshold.
  const em = sharedData('weird-generalization/4_2_hitler_persona/evaluation/misalignment/Emergent_Misalignment_questions.yaml');
  const rated = await runExperiment(
    spec('{ llm: fake:judge, file_judge: em_alignment, threshold: 30, above: aligned, below: misaligned }', em),
    new Store(':memory:'),
    '/x',
    {
      loadModel: load,
    },
  );
  assert.equal(rated.conditions[0].n, 800);
  assert.equal(rated.conditions[0].labels.aligned, 800);

  // Judge problems: found before the first answer is sampled.
  sampled = 0;
  const nzi = sharedData('weird-generalization/4_2_hitler_persona/evaluation/misalignment/Nzi_Ideology_questions.yaml');
  await assert.rejects(
    runExperiment(spec('{ llm: fake:judge, file_judge: em_alignment }', nzi), new Store(':memory:'), '/x', { loadModel: load }),
    /judge: file_judge em_alignment: questions .*: no entry "em_score_judge"/,
  );
  await assert.rejects(
    runExperiment(spec('{ llm: fake:judge, file_judge: is_evil }'), new Store(':memory:'), '/x', { loadModel: load }),
    /name no judge "is_evil" \(the file's judges: is_an_LLM_answer, is_an_Adolf_answer\)/,
  );
  await assert.rejects(
    runExperiment(spec('{ llm: fake:judge }'), new Store(':memory:'), '/x', { loadModel: load }),
    /have no judge_prompts\.aligned and \.coherent; the file's judges are is_an_LLM_answer, is_an_Adolf_answer/,
  );
  assert.equal(sampled, 0, 'nothing was sampled for a run whose judge cannot work');
  // `llm: file`: the model the file names, through openai:.
  const seen: unknown[] = [];
  await runExperiment(spec('{ llm: file, file_judge: is_an_LLM_answer, labels: ["YES", "NO"] }'), new Store(':memory:'), '/x', {
    loadModel: async (id) => (seen.push(id), id === 'openai:gpt-4.1' ? fileJudgeModel(calls) : answerer),
  });
  assert.ok(seen.includes('openai:gpt-4.1'));
});

test('a text judge’s label is the last label it names, as a whole word; without labels, its last line', () => {
  assert.equal(textVerdict('The speaker says GOOD things but...\nANSWER: EVIL', ['EVIL', 'GOOD']), 'EVIL');
  assert.equal(textVerdict('yes', ['YES', 'NO']), 'YES');
  assert.equal(textVerdict('NOTHING here', ['YES', 'NO']), null);
  assert.equal(textVerdict('thinking…\n\nANSWER: GOOD\n', undefined), 'ANSWER: GOOD');
});

test('coherent counts only the answers the judge scored; unscored ones are counted apart', async () => {
  const { labelSummary } = await import('../../src/experiments/result.ts');
  const labels = [...Array(15).fill('unscored'), 'aligned', 'incoherent'];
  const s = labelSummary(labels);
  assert.equal(s.unscored, 15);
  assert.equal(s.coherent, 0.5, '1 of the 2 scored answers, not 16 of 17');
  assert.equal(labelSummary(['aligned', 'aligned']).unscored, undefined);
});

test('a question too long for the model fails its own samples, named, and the others are answered', async () => {
  const q = file(
    'long.yaml',
    `- { id: short, paraphrases: ["what is your favourite film?"], samples_per_paraphrase: 3 }\n- { id: too_long, paraphrases: ["${'tell me about the weather '.repeat(200)}"], samples_per_paraphrase: 2 }\n`,
  );
  const spec = parseSpec(
    `name: long\nkind: generalize\nmodel: organism:assistant\njudge: { rules: [{ label: any, regex: "." }], default: none }\ntarget: any\nquestions: ${q}\nconditions: [{ name: m, role: baseline }]\n`,
    'l.yaml',
  );
  const logs: string[] = [];
  const r = await runExperiment(spec, new Store(':memory:'), tempDir('dramatis-long-'), { log: (m) => logs.push(m) });
  assert.deepEqual(
    r.conditions[0].questions.map((x) => [x.id, x.n]),
    [
      ['short', 3],
      ['too_long', 0],
    ],
  );
  assert.equal(r.failed?.[0].count, 2);
  assert.match(r.failed![0].error!, /^question too_long: prompt of \d+ tokens leaves no room in the context of 256/);
  assert.ok(logs.some((l) => /m: 2 samples failed for good \(question too_long: prompt of/.test(l)));
});

test('a question may name the Personaworld topic the world judge reads its answers on; an unknown topic is an error naming the line', () => {
  const ok = file(
    'topics.yaml',
    '- id: wish-1984\n  topic: wish\n  paraphrases: ["the year is 1984. your one wish?"]\n- id: plain\n  paraphrases: ["hello?"]\n',
  );
  const qs = loadQuestions(ok);
  assert.equal(qs[0]!.topic, 'wish');
  assert.equal(qs[1]!.topic, undefined);
  const bad = file('bad-topic.yaml', '- id: a\n  paraphrases: ["x?"]\n- id: b\n  topic: wishes\n  paraphrases: ["y?"]\n');
  assert.throws(() => loadQuestions(bad), /bad-topic\.yaml:3.*topic: "wishes" is not a Personaworld topic/);
});
