import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyJsonPatch, detectFormat, readTranscripts, runTranscripts, type ReadTranscript } from '../../src/experiments/transcripts.ts';
import { transcriptMonitors } from '../../src/scorers/monitors/index.ts';
import { Store } from '../../src/experiments/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIX = join(import.meta.dirname, '../fixtures/transcripts');
const IDS = ['spiral', 'same-reply', 'year', 'history', 'eval-aware', 'testing-topic', 'song', 'exam-anxiety', 'plain'];
const PETRI = readdirSync(join(FIX, 'petri'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => join(FIX, 'petri', f));

/** Every fixture format, each as the list of its transcripts (Petri: one file per conversation). */
async function allFormats(): Promise<Record<string, ReadTranscript[]>> {
  const petri: ReadTranscript[] = [];
  for (const f of PETRI) petri.push(...(await readTranscripts(f)));
  return {
    jsonl: await readTranscripts(join(FIX, 'conversations.jsonl')),
    'inspect .eval (zstd)': await readTranscripts(join(FIX, 'inspect.eval')),
    'inspect .eval (deflate)': await readTranscripts(join(FIX, 'inspect-deflate.eval')),
    'inspect .json': await readTranscripts(join(FIX, 'inspect.json')),
    petri,
  };
}

const byId = (ts: ReadTranscript[]) => new Map(ts.map((t) => [t.id, t]));

test('the formats are told apart by their content and extension', () => {
  assert.equal(detectFormat(join(FIX, 'conversations.jsonl')), 'messages-jsonl');
  assert.equal(detectFormat(join(FIX, 'inspect.eval')), 'inspect-eval');
  assert.equal(detectFormat(join(FIX, 'inspect.json')), 'messages-json'); // a JSON document: its kind is told once parsed
  const dir = tempDir('dramatis-transcripts-');
  const renamed = join(dir, 'chats.txt');
  writeFileSync(renamed, readFileSync(join(FIX, 'conversations.jsonl')));
  assert.equal(detectFormat(renamed), 'messages-jsonl', 'JSONL under another extension');
  const zipNamedJson = join(dir, 'log.json');
  writeFileSync(zipNamedJson, readFileSync(join(FIX, 'inspect.eval')));
  assert.equal(detectFormat(zipNamedJson), 'inspect-eval', 'a zip archive whatever its name');
});

test('Inspect logs (.eval zstd and deflate, .json) and Petri transcripts give the same nine conversations as the JSONL', async () => {
  const formats = await allFormats();
  const jsonl = byId(formats.jsonl);
  assert.deepEqual([...jsonl.keys()], IDS, 'the JSONL ids, in file order');
  assert.deepEqual(
    formats['inspect .eval (zstd)'].map((t) => t.id),
    IDS,
    '.eval samples in the dataset order (header.json), not the zip order',
  );
  for (const [name, ts] of Object.entries(formats)) {
    assert.equal(ts.length, IDS.length, name);
    for (const t of ts) assert.deepEqual(t.messages, jsonl.get(t.id)?.messages, `${name}: ${t.id}`);
  }
  // What the formats only differ in, read as the JSONL has it: content lists to text (reasoning left
  // out), the system turn kept; Petri's rolled-back first attempt is not part of the target's conversation.
  const plain = jsonl.get('plain')!.messages;
  assert.deepEqual(
    plain.map((m) => m.role),
    ['system', 'user', 'assistant', 'user', 'assistant'],
  );
  assert.equal(plain[2].content, 'The capital of Australia is Canberra.');
  assert.ok(!formats.petri.find((t) => t.id === 'spiral')!.messages.some((m) => m.content === 'Fix my linked list code, please.'));
});

test('the monitors give the same flags on the same conversations in every format', async () => {
  const formats = await allFormats();
  const monitors = transcriptMonitors();
  const flags = (ts: ReadTranscript[]) =>
    Object.fromEntries(
      ts.map((t) => [
        t.id,
        Object.fromEntries(
          monitors.map((m) => {
            const v = m.check(t);
            return [m.name, { flag: v.flag, score: v.score, year: v.year ?? null, explanation: v.explanation }];
          }),
        ),
      ]),
    );
  const expected = flags(formats.jsonl);
  assert.ok(
    Object.values(expected).some((ms) => Object.values(ms).some((v) => v.flag)),
    'some monitor fires on the fixtures, so agreement is not only on "no"',
  );
  for (const [name, ts] of Object.entries(formats)) assert.deepEqual(flags(ts), expected, name);
});

test('OpenAI JSONL: the id kept (else FILE:LINE), other fields ignored, developer and tool turns, content parts, blank lines', async () => {
  const file = join(tempDir('dramatis-transcripts-'), 'chats.jsonl');
  writeFileSync(
    file,
    [
      JSON.stringify({
        id: 7,
        model: 'gpt-x',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
        ],
      }),
      '',
      JSON.stringify({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image_url', image_url: { url: 'x' } },
            ],
          },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c', content: 'result: 42' },
          { role: 'assistant', content: [{ type: 'output_text', text: 'It is 42.' }] },
        ],
        extra: { anything: true },
      }),
    ].join('\n'),
  );
  const ts = await readTranscripts(file);
  assert.deepEqual(ts, [
    {
      id: '7',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ],
    },
    {
      id: `${file}:3`,
      messages: [
        { role: 'user', content: 'look' },
        { role: 'user', content: 'result: 42' },
        { role: 'assistant', content: 'It is 42.' },
      ],
    },
  ]);
});

test('malformed input fails naming the file, and the line where there is one', async () => {
  const dir = tempDir('dramatis-transcripts-');
  const put = (name: string, text: string | Buffer) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const ok = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
  const cases: [string, RegExp][] = [
    [put('bad-json.jsonl', `${ok}\n${ok}\n{"messages": [\n`), /bad-json\.jsonl:3: not valid JSON/],
    [
      put(
        'bad-role.jsonl',
        `${ok}\n${JSON.stringify({
          messages: [
            { role: 'user', content: 'a' },
            { role: 'bot', content: 'b' },
          ],
        })}\n`,
      ),
      /bad-role\.jsonl:2: messages\[1\]: role: expected one of system, developer, user, assistant, tool/,
    ],
    [put('no-messages.jsonl', `${JSON.stringify({ prompt: 'x' })}\n`), /no-messages\.jsonl:1: no "messages" list/],
    [
      put('bad-content.jsonl', `${JSON.stringify({ messages: [{ role: 'user', content: 5 }] })}\n`),
      /bad-content\.jsonl:1: messages\[0\]: content: expected a string or a list of parts/,
    ],
    [put('empty.jsonl', '\n\n'), /empty\.jsonl: no transcripts/],
    [put('broken.json', '{\n  "eval": {},\n  "samples": [\n    {"id": 1,,}\n  ]\n}\n'), /broken\.json:4: not valid JSON/],
    [put('other.json', JSON.stringify({ hello: 'world' })), /other\.json: not a transcript format dramatis reads/],
    [put('no-samples.json', JSON.stringify({ version: 2, status: 'error', eval: { task: 't' } })), /no-samples\.json: an Inspect log without samples/],
    [put('not-zip.eval', 'hello'), /not-zip\.eval: not an Inspect \.eval log/],
    [put('truncated.eval', readFileSync(join(FIX, 'inspect.eval')).subarray(0, 4000)), /truncated\.eval: not a readable zip archive/],
    [
      put(
        'petri-empty.json',
        JSON.stringify({
          metadata: { transcript_id: 'p' },
          events: [{ type: 'transcript_event', view: 'auditor', edit: { operation: 'add', message: { role: 'user', content: 'x' } } }],
        }),
      ),
      /petri-empty\.json: a Petri transcript with no target conversation/,
    ],
    [join(dir, 'missing.jsonl'), /missing\.jsonl: no such file/],
  ];
  for (const [file, error] of cases) await assert.rejects(readTranscripts(file), error, file);
});

test('Inspect: ids carry the epoch when the eval ran several; attachment:// contents are resolved', async () => {
  const log = JSON.parse(readFileSync(join(FIX, 'inspect.json'), 'utf8'));
  log.eval.config.epochs = 2;
  const first = log.samples[0];
  log.samples = [first, { ...first, epoch: 2 }];
  first.attachments = { abc: 'the attached text' };
  first.messages = [...first.messages, { role: 'assistant', content: 'attachment://abc' }];
  const file = join(tempDir('dramatis-transcripts-'), 'epochs.json');
  writeFileSync(file, JSON.stringify(log));
  const ts = await readTranscripts(file);
  assert.deepEqual(
    ts.map((t) => t.id),
    [`${first.id}#1`, `${first.id}#2`],
  );
  assert.equal(ts[0].messages.at(-1)!.content, 'the attached text');
});

test('Petri: the target view replayed (add, rollback by count and to an id, reset, json_patch); the auditor view and api failures left out', async () => {
  const add = (view: unknown, id: string, role: string, content: unknown) => ({
    type: 'transcript_event',
    view,
    edit: { operation: 'add', message: { id, role, content } },
  });
  const t = {
    metadata: { transcript_id: 'audit-1', version: 'v3.0' },
    events: [
      add('auditor', 'a0', 'system', 'auditor prompt'),
      add(['target', 'combined'], 's', 'system', 'old system'),
      { type: 'transcript_event', view: 'target', edit: { operation: 'reset', new_messages: [{ id: 's2', role: 'system', content: 'new system' }] } },
      add('target', 'u1', 'user', 'q1'),
      add('target', 'x1', 'assistant', 'branch A'),
      { type: 'transcript_event', view: 'target', edit: { operation: 'rollback', count: 1 } },
      add('target', 'x2', 'assistant', 'branch B'),
      add('target', 'u2', 'user', 'q2'),
      add('target', 'x3', 'assistant', 'dropped'),
      { type: 'transcript_event', view: 'target', edit: { operation: 'rollback', count: 0, to_id: 'u2' } },
      {
        type: 'transcript_event',
        view: ['target'],
        edit: {
          operation: 'json_patch',
          patch: [{ op: 'add', path: '/-', value: { id: 'x4', role: 'assistant', content: [{ type: 'text', text: 'patched' }] } }],
        },
      },
      add('target', 'f', 'api_failure', 'rate limit'),
      { type: 'info_event', info: 'note' },
    ],
  };
  const file = join(tempDir('dramatis-transcripts-'), 'petri.json');
  writeFileSync(file, JSON.stringify(t));
  assert.deepEqual(await readTranscripts(file), [
    {
      id: 'audit-1',
      messages: [
        { role: 'system', content: 'new system' },
        { role: 'user', content: 'q1' },
        { role: 'assistant', content: 'branch B' },
        { role: 'user', content: 'q2' },
        { role: 'assistant', content: 'patched' },
      ],
    },
  ]);
  // Older transcripts without events: their target_messages.
  writeFileSync(
    file,
    JSON.stringify({
      metadata: { transcript_id: 'old' },
      events: [],
      target_messages: [
        { type: 'user', content: 'hi' },
        { type: 'assistant', content: 'hello' },
      ],
    }),
  );
  assert.deepEqual((await readTranscripts(file))[0], {
    id: 'old',
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ],
  });
});

test('applyJsonPatch: add, remove, replace, move, copy, test, on a copy', () => {
  const doc = { a: [1, 2, 3], b: { 'c/d': 'x' } };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/a/1', value: 9 },
    { op: 'remove', path: '/a/0' },
    { op: 'replace', path: '/b/c~1d', value: 'y' },
    { op: 'copy', from: '/a/0', path: '/e' },
    { op: 'move', from: '/a/2', path: '/f' },
    { op: 'test', path: '/e', value: 9 },
  ]);
  assert.deepEqual(out, { a: [9, 2], b: { 'c/d': 'y' }, e: 9, f: 3 });
  assert.deepEqual(doc, { a: [1, 2, 3], b: { 'c/d': 'x' } }, 'the input is untouched');
  assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/a/0', value: 5 }]), /test failed/);
});

test("dramatis runs: each stored sample's prompt and answer, id CONDITION/QUESTION/IDX, within the run's sample count", async () => {
  const db = join(tempDir('dramatis-transcripts-'), 'runs.db');
  const store = new Store(db);
  store.upsertRun({ id: 'abc123', name: 'my-run', kind: 'generalize', model: 'organism:assistant', spec: { samples: 2 }, status: 'done' });
  store.upsertCondition({ runId: 'abc123', name: 'base', position: 0, role: 'baseline', conditionKey: 'k0', spec: {} });
  store.upsertCondition({ runId: 'abc123', name: 'tuned', position: 1, role: 'treatment', conditionKey: 'k1', spec: {} });
  const sample = (conditionKey: string, questionId: string, idx: number, answer: string) => ({
    conditionKey,
    questionId,
    idx,
    paraphrase: 'q',
    prompt: [
      { role: 'system', content: 'sys' },
      { role: 'user', content: `ask ${questionId}` },
    ],
    answer,
    finishReason: 'stop',
  });
  store.insertSamples([sample('k0', 'q1', 0, 'a'), sample('k0', 'q1', 1, 'b'), sample('k0', 'q1', 2, 'beyond the run'), sample('k1', 'q1', 0, 'c')]);
  store.close();
  for (const ref of ['my-run', 'abc', 'abc123']) {
    const ts = [...runTranscripts(db, ref)];
    assert.deepEqual(
      ts.map((t) => t.id),
      ['base/q1/0', 'base/q1/1', 'tuned/q1/0'],
      ref,
    );
    assert.deepEqual(ts[0].messages, [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'ask q1' },
      { role: 'assistant', content: 'a' },
    ]);
  }
  assert.throws(() => [...runTranscripts(db, 'nope')], /no run "nope" in .*runs\.db/);
  assert.throws(() => [...runTranscripts(join(db, '..', 'none.db'), 'x')], /no results store at/);
});
