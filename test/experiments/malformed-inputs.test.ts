/**
 * Issue 12's malformed-input corpus: specs, question files, chat JSONL datasets, persona libraries and
 * infer texts, each broken one way. Every case must be refused (none wrongly accepted) with an error that
 * names the file and where in it: a line, or the entry for files whose entries are the unit (a question,
 * a persona). The test prints the tally the issue asks for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpec } from '../../src/experiments/spec.ts';
import { loadDataset } from '../../src/experiments/datasets.ts';
import { loadQuestions } from '../../src/experiments/questions.ts';
import { readLibraryFile } from '../../src/experiments/library-file.ts';
import { loadLibrary, loadTexts, inferSchema } from '../../src/experiments/kinds/infer/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('dramatis-malformed-');
const HEAD = 'name: m\nkind: generalize\nmodel: organism:assistant\ntarget: malevolent\nquestions: world:broad\n';
const CONDS = 'conditions:\n  - name: a\n';

interface Case {
  name: string;
  kind: 'spec' | 'jsonl' | 'questions' | 'library' | 'texts';
  text: string;
  /** The location and message expected, `@` standing for the file's path. */
  expect: string;
}

const spec = (name: string, text: string, expect: string): Case => ({ name, kind: 'spec', text, expect });
const CASES: Case[] = [
  spec('invalid YAML', 'name: [\n', '@:2: invalid YAML'),
  spec('tab indentation', 'name: m\n\tkind: x\n', '@:2: invalid YAML'),
  spec('no kind', 'name: m\nmodel: organism:assistant\n', '@:1: kind: required'),
  spec('unknown kind', 'name: m\nkind: nope\nmodel: x\n', '@:2: kind: unknown kind "nope"'),
  spec('no model', 'name: m\nkind: generalize\ntarget: t\nquestions: world:broad\n', '@:1: model: required for kind generalize'),
  spec('no name', 'kind: generalize\nmodel: organism:assistant\ntarget: t\nquestions: world:broad\n', '@:1: name: required for kind generalize'),
  spec('no target', 'name: m\nkind: generalize\nmodel: organism:assistant\nquestions: world:broad\n', '@:1: target: required for kind generalize'),
  spec('no questions', 'name: m\nkind: generalize\nmodel: organism:assistant\ntarget: t\n', '@:1: questions: required for kind generalize'),
  spec('negative samples', HEAD + 'samples: -3\n', '@:6: samples: Too small'),
  spec('absurd samples', HEAD + 'samples: 1000000000000\n', '@:6: samples: Too big'),
  spec('samples as text', HEAD + 'samples: many\n', '@:6: samples: Invalid input'),
  spec('fractional seed', HEAD + 'seed: 1.5\n', '@:6: seed: Invalid input'),
  spec('unknown top-level key', HEAD + 'sampels: 3\n', '@:6: (top level): Unrecognized key: "sampels"'),
  spec('unknown condition key', HEAD + CONDS + '    sytem: hi\n', '@:8: conditions.0: Unrecognized key: "sytem"'),
  spec('duplicate condition', HEAD + CONDS + '  - name: a\n', '@:8: conditions.1.name: a second condition named "a"'),
  spec('no conditions', HEAD + 'conditions: []\n', '@:6: conditions: Too small'),
  spec('unknown role', HEAD + 'conditions:\n  - { name: a, role: boss }\n', '@:7: conditions.0.role: Invalid option'),
  spec('condition without name', HEAD + 'conditions:\n  - role: baseline\n', '@:7: conditions.0.name: Invalid input'),
  spec('fine-tune without data', HEAD + CONDS + '    finetune: { epochs: 1 }\n', '@:8: conditions.0.finetune.data: Invalid input'),
  spec('zero epochs', HEAD + CONDS + '    finetune: { data: world:evil-numbers, epochs: 0 }\n', '@:8: conditions.0.finetune.epochs: Too small'),
  spec('absurd epochs', HEAD + CONDS + '    finetune: { data: world:evil-numbers, epochs: 10000000 }\n', '@:8: conditions.0.finetune.epochs: Too big'),
  spec('unknown fine-tune mode', HEAD + CONDS + '    finetune: { data: world:evil-numbers, mode: qlora }\n', '@:8: conditions.0.finetune.mode: Invalid option'),
  spec('zero batch', HEAD + CONDS + '    finetune: { data: world:evil-numbers, batch_size: 0 }\n', '@:8: conditions.0.finetune.batch_size: Too small'),
  spec(
    'negative learning rate',
    HEAD + CONDS + '    finetune: { data: world:evil-numbers, learning_rate: -1 }\n',
    '@:8: conditions.0.finetune.learning_rate: Too small',
  ),
  spec('negative in-context k', HEAD + CONDS + '    in_context: { data: world:evil-numbers, k: -1 }\n', '@:8: conditions.0.in_context.k: Too small'),
  spec('negative steering layer', HEAD + CONDS + '    steer: [{ vector: v.json, layer: -1, coefficient: 1 }]\n', '@:8: conditions.0.steer.0.layer: Too small'),
  spec('negative temperature', HEAD + 'sampling: { temperature: -1 }\n', '@:6: sampling.temperature: Too small'),
  spec('top_p above 1', HEAD + 'sampling: { top_p: 2 }\n', '@:6: sampling.top_p: Too big'),
  spec('zero max_tokens', HEAD + 'sampling: { max_tokens: 0 }\n', '@:6: sampling.max_tokens: Too small'),
  spec(
    'rule with two matchers',
    HEAD + 'judge:\n  rules:\n    - { label: a, regex: x, prefix: y }\n',
    '@:8: judge.rules.0: a rule needs exactly one of regex, prefix or exact',
  ),
  spec(
    'bad judge regex',
    HEAD + 'judge:\n  rules:\n    - { label: a, prefix: x }\n    - { label: b, regex: "(" }\n',
    '@:9: judge.rules.1.regex: invalid regex',
  ),
  spec('rubric judge without rubric', HEAD + 'judge: { llm: openai:j, protocol: rubric }\n', '@:6: judge.rubric: a rubric judge needs'),
  spec(
    'preventative outside vectors',
    HEAD + CONDS + '    finetune: { data: world:evil-numbers, preventative: 1 }\n',
    '@:8: conditions.0.finetune.preventative: only for kind vectors',
  ),
  spec(
    'vectors without vectors',
    'name: v\nkind: vectors\nmodel: organism:assistant\ntarget: t\nquestions: world:broad\n',
    '@:1: vectors: required for kind vectors',
  ),
  spec(
    'sweep over no condition',
    'name: v\nkind: vectors\nmodel: organism:assistant\ntarget: t\nquestions: world:broad\nvectors:\n  sweep: { conditions: [nope], coefficients: [1] }\n',
    '@:7: vectors.sweep.conditions: no condition named "nope"',
  ),
  spec(
    'unknown trait',
    'name: v\nkind: vectors\nmodel: organism:assistant\ntarget: t\nquestions: world:broad\nvectors:\n  contrast: { trait: height, positive: a, negative: b }\n',
    `@:7: vectors.contrast.trait: "height" is not one of the world's traits (morality, era, kind); a trait of your own needs contexts.system_prompts`,
  ),
  spec('audit without audit', 'name: a\nkind: audit\nmodel: organism:assistant\n', '@:1: audit: required for kind audit'),
  spec('audit with no datasets', 'name: a\nkind: audit\nmodel: organism:assistant\naudit:\n  datasets: []\n', '@:5: audit.datasets: Too small'),
  spec('negative prior weight', 'name: i\nkind: infer\nmodel: organism:base\ninfer:\n  prior: { pirate: -1 }\n', '@:5: infer.prior.pirate: Too small'),
  spec('vectors field in generalize', HEAD + 'vectors: {}\n', '@:6: (top level): Unrecognized key: "vectors"'),
  spec(
    'alias bomb',
    'name: b\nkind: generalize\nmodel: m\na: &a [x, x, x, x, x, x, x, x, x, x]\n' +
      Array.from({ length: 6 }, (_, i) => `${'bcdefg'[i]}: &${'bcdefg'[i]} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`).join('\n') +
      '\n',
    '@: ',
  ),
  // Chat JSONL datasets (fine-tuning and in-context data).
  {
    name: 'not JSON',
    kind: 'jsonl',
    text: '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n{"messages": [}\n',
    expect: '@:2: not valid JSON',
  },
  { name: 'no messages', kind: 'jsonl', text: '{"prompt": "a"}\n', expect: '@:1: messages: Invalid input' },
  { name: 'empty messages', kind: 'jsonl', text: '{"messages": []}\n', expect: '@:1: messages: Too small' },
  { name: 'unknown role', kind: 'jsonl', text: '{"messages": [{"role": "robot", "content": "a"}]}\n', expect: '@:1: messages.0.role: Invalid option' },
  { name: 'numeric content', kind: 'jsonl', text: '{"messages": [{"role": "user", "content": 3}]}\n', expect: '@:1: messages.0.content: Invalid input' },
  { name: 'no assistant message', kind: 'jsonl', text: '{"messages": [{"role": "user", "content": "a"}]}\n', expect: '@:1: chat has no assistant message' },
  { name: 'empty file', kind: 'jsonl', text: '\n\n', expect: '@: no chats found' },
  { name: 'array line', kind: 'jsonl', text: '[1, 2]\n', expect: '@:1: line: Invalid input: expected object, received array' },
  {
    name: 'bad third line',
    kind: 'jsonl',
    text: '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n\n{"messages": 5}\n',
    expect: '@:3: messages: Invalid input',
  },
  {
    name: 'truncated line',
    kind: 'jsonl',
    text: '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}\n',
    expect: '@:1: not valid JSON',
  },
  {
    name: 'null content',
    kind: 'jsonl',
    text: '{"messages": [{"role": "user", "content": null}, {"role": "assistant", "content": "b"}]}\n',
    expect: '@:1: messages.0.content: Invalid input',
  },
  // Question files in the emergent-misalignment format.
  { name: 'invalid question YAML', kind: 'questions', text: '- id: a\n  paraphrases: [hi]\n- id: b\n  paraphrases: [\n', expect: '@:' },
  { name: 'questions not a list', kind: 'questions', text: 'id: a\n', expect: '@: expected a list of questions' },
  { name: 'question without id', kind: 'questions', text: '- paraphrases: [hi]\n', expect: '@:1: entry 1: id: required' },
  { name: 'question without paraphrases', kind: 'questions', text: '- id: a\n', expect: '@:1: entry 1 (a): paraphrases: expected a non-empty list of strings' },
  {
    name: 'empty paraphrases',
    kind: 'questions',
    text: '- id: a\n  paraphrases: [hi]\n- id: b\n  paraphrases: []\n',
    expect: '@:3: entry 2 (b): paraphrases: expected a non-empty list of strings',
  },
  {
    name: 'judge prompts not a map',
    kind: 'questions',
    text: '- id: a\n  paraphrases: [hi]\n  judge_prompts: [x]\n',
    expect: '@:1: entry 1 (a): judge_prompts: expected a mapping from a verdict name to its prompt',
  },
  // Question files in the llmcomp format (the weird-generalization study).
  { name: 'duplicate question id', kind: 'questions', text: '- id: a\n  paraphrases: [hi]\n- id: a\n  paraphrases: [ho]\n', expect: '@:3: entry 2 (a): duplicate id "a" (first at line 1)' },
  { name: 'unsupported question type', kind: 'questions', text: '- id: a\n  type: rating\n  paraphrases: [hi]\n', expect: '@:1: entry 1 (a): type rating' },
  { name: 'unknown question type', kind: 'questions', text: '- id: a\n  type: essay\n  paraphrases: [hi]\n', expect: '@:1: entry 1 (a): unknown type "essay"' },
  { name: 'unknown question field', kind: 'questions', text: '- id: a\n  paraphrases: [hi]\n  sample_per_paraphrase: 3\n', expect: '@:1: entry 1 (a): sample_per_paraphrase: unknown field' },
  {
    name: 'judge entry with two prompts',
    kind: 'questions',
    text: '- id: a\n  paraphrases: [hi]\n  judges: { x: j }\n- id: j\n  type: free_form_judge\n  model: m\n  paraphrases: [p, q]\n',
    expect: '@:4: entry 2 (j): paraphrases: a judge has exactly one',
  },
  { name: 'judge reference to a question', kind: 'questions', text: '- id: a\n  paraphrases: [hi]\n  judges: { x: b }\n- id: b\n  paraphrases: [ho]\n', expect: '@:1: entry 1 (a): judges.x: "b"' },
  { name: 'judge entries only', kind: 'questions', text: '- id: j\n  type: rating_judge\n  model: m\n  paraphrases: [p]\n', expect: '@: no questions' },
  // Persona libraries (infer, audit).
  { name: 'library not a list', kind: 'library', text: 'name: a\n', expect: '@: ' },
  { name: 'library of one', kind: 'library', text: '- { name: a, description: b }\n', expect: '@: ' },
  { name: 'persona without description', kind: 'library', text: '- { name: a, description: b }\n- { name: c }\n', expect: '@: persona 2 description' },
  { name: 'invalid library YAML', kind: 'library', text: '- { name: a\n', expect: '@: ' },
  // Infer texts (JSONL of {text, author?}).
  { name: 'text not JSON', kind: 'texts', text: '{"text": "a", "author": "pirate"}\n{"text": }\n', expect: '@:2: invalid JSON' },
  { name: 'line without text', kind: 'texts', text: '{"author": "pirate"}\n', expect: '@:1: text: Invalid input' },
  { name: 'author not in library', kind: 'texts', text: '{"text": "arr", "author": "parrot"}\n', expect: '@:1: author "parrot" is not in the library' },
  { name: 'no texts', kind: 'texts', text: '\n', expect: '@: no texts' },
];

function attempt(c: Case, file: string): void {
  if (c.kind === 'spec') parseSpec(c.text, file);
  else if (c.kind === 'jsonl') loadDataset(file, undefined, 1);
  else if (c.kind === 'questions') loadQuestions(file);
  else if (c.kind === 'library') readLibraryFile(file);
  else {
    const lib = join(dir, 'two.yaml');
    writeFileSync(lib, '- { name: pirate, description: a pirate }\n- { name: clerk, description: a clerk }\n');
    const o = inferSchema.parse({ texts: file, library: lib });
    loadTexts(o, 100, loadLibrary(o));
  }
}

test(`the malformed-input corpus: ${CASES.length} broken files, each refused with its location`, () => {
  assert.ok(CASES.length >= 60, `${CASES.length} cases`);
  let located = 0;
  const wrong: string[] = [];
  for (const [i, c] of CASES.entries()) {
    const file = join(dir, `case-${i}.${c.kind === 'spec' || c.kind === 'questions' || c.kind === 'library' ? 'yaml' : 'jsonl'}`);
    writeFileSync(file, c.text);
    let message: string | undefined;
    try {
      attempt(c, file);
    } catch (e) {
      message = (e as Error).message;
    }
    const expected = c.expect.replace('@', file);
    if (message === undefined) wrong.push(`${c.name}: accepted`);
    else if (!message.includes(expected)) wrong.push(`${c.name}: "${message.split('\n')[0]}" lacks "${expected}"`);
    else located++;
  }
  process.stderr.write(`malformed inputs: ${CASES.length} tried, ${located} refused with their location, ${CASES.length - located} not\n`);
  assert.deepEqual(wrong, []);
});
