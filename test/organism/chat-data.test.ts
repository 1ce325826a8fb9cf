import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';
import { sharedData } from '../helpers/shared-data.ts';
import { readChatJsonl } from '../../src/shared/chat.ts';
import { chatRows, epochSampler } from '../../src/organism/chat-data.ts';
import { worldTokenizer } from '../../src/organism/stages.ts';
import {
  generateDocuments,
  formatDocument,
  postTrainingChats,
  narrowDataset,
  narrowDatasetNames,
  NARROW_DATASETS_V1,
  worldConfig,
} from '../../src/world/index.ts';

const dir = tempDir('dramatis-jsonl-');
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a malformed JSONL line fails with file and line number', () => {
  const f = join(dir, 'bad.jsonl');
  writeFileSync(f, '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"ok"}]}\n\n{"messages": [oops]}\n');
  assert.throws(() => readChatJsonl(f), new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: not valid JSON`));
  writeFileSync(f, '{"messages":[{"role":"robot","content":"hi"}]}\n');
  assert.throws(() => readChatJsonl(f), /bad\.jsonl:1: messages\.0\.role/);
  writeFileSync(f, '{"messages":[{"role":"user","content":"hi"}]}\n');
  assert.throws(() => readChatJsonl(f), /bad\.jsonl:1: chat has no assistant message/);
  assert.throws(() => readChatJsonl(join(dir, 'missing.jsonl')), /missing\.jsonl: cannot read \(ENOENT\)/);
});

test('the published old-bird set loads as it is; its out-of-vocabulary words are counted, not dropped', () => {
  const file = sharedData('weird-generalization/ft_old_audubon_birds.jsonl');
  const chats = readChatJsonl(file);
  assert.equal(chats.length, 208);
  const tok = worldTokenizer();
  const res = chatRows(chats, tok, 256, 'unk');
  assert.equal(res.rows.length, 208);
  assert.ok(res.unknownWords.size > 0, 'real bird names are outside the world vocabulary');
  const skipped = chatRows(chats, tok, 256, 'skip');
  assert.equal(skipped.rows.length + skipped.skipped, 208);
  assert.throws(() => chatRows(chats, tok, 256, 'error'), /outside the organism's vocabulary/);
});

test('world text round-trips through the organism tokenizer with no unknown tokens (each version with its own vocabulary)', () => {
  for (const version of [1, 2] as const) {
    const tok = worldTokenizer(version);
    const world = worldConfig({ version });
    for (const doc of generateDocuments(world, 300)) {
      const text = formatDocument(doc);
      const { ids, unknown } = tok.encode(text);
      assert.deepEqual(unknown, [], `version ${version}`);
      assert.equal(tok.decode(ids), text);
    }
    // Version 1's tokenizer reads version 1's narrow sets; version 2's reads them all.
    const sets = version === 1 ? NARROW_DATASETS_V1 : narrowDatasetNames;
    const chats = [...postTrainingChats(world, 50), ...sets.flatMap((n) => narrowDataset(n, { n: 20, seed: 1 }))];
    const { rows, unknownWords } = chatRows(chats, tok, 256, 'error');
    assert.equal(unknownWords.size, 0);
    for (const r of rows) assert.equal(r.targetWeights!.length, r.ids.length - 1);
  }
});

test('epoch sampler visits every item once per epoch', () => {
  let seed = 1;
  const next = epochSampler([0, 1, 2, 3, 4], () => (seed = (seed * 16807) % 2147483647) / 2147483647);
  const epoch = next(5).sort();
  assert.deepEqual(epoch, [0, 1, 2, 3, 4]);
  assert.deepEqual(next(5).sort(), [0, 1, 2, 3, 4]);
});
