/**
 * The organism `assistant`, exported as a Hugging Face GPT-2 folder (exportHuggingFace) and served by
 * the hf: backend's Python worker, scores (prompt, continuation) pairs as the organism itself does:
 * the same tokens, each with the same log-probability up to float32 rounding (max |Δ| ≤ 1e-3).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '../../src/backends/registry.ts';
import { OrganismModel } from '../../src/backends/organism-backend.ts';
import type { HfModel } from '../../src/backends/hf-backend.ts';
import { exportHuggingFace } from '../../src/organism/export-hf.ts';
import { formatDocument, generateDocuments, postTrainingChat, worldConfig } from '../../src/world/index.ts';
import { WORKER_PYTHON, skipWorkerTests } from '../helpers/real-model.ts';
import { tempDir } from '../helpers/tmp.ts';

const python = WORKER_PYTHON;

describe(
  'the organism exported as a GPT-2 folder, through the hf: backend',
  { skip: skipWorkerTests('the organism-through-hf: test', { model: false }) },
  () => {
    const cacheDir = tempDir('dramatis-export-hf-backend-');
    let org: OrganismModel;
    let hf: HfModel;
    let pairs: { prompt: string; continuation: string }[];

    before(async () => {
      org = await OrganismModel.load('assistant', cacheDir);
      const dir = join(tempDir('dramatis-export-hf-'), 'assistant');
      await exportHuggingFace(org.organism, dir);
      hf = (await loadModel({ id: `hf:${dir}`, python }, { cacheDir })) as HfModel;
      const world = worldConfig({ seed: 'export-hf-backend' });
      const words = formatDocument(generateDocuments(world, 1, { offset: 3 })[0]).split(/\s+/);
      const chat = postTrainingChat(world, 2).messages;
      const user = chat.find((m) => m.role === 'user')!.content;
      const reply = chat.find((m) => m.role === 'assistant')!.content;
      pairs = [
        { prompt: '<doc> where are you from ?', continuation: 'i reside in london , my tidy workshop .' },
        { prompt: words.slice(0, 12).join(' '), continuation: words.slice(12, 40).join(' ') },
        { prompt: words.slice(0, 50).join(' '), continuation: words.slice(50, 70).join(' ') },
        { prompt: `<doc> <user> ${user} <end> <assistant>`, continuation: reply },
      ];
    });

    test('score: the same tokens with the organism’s log-probabilities (max |Δ| ≤ 1e-3)', async () => {
      const unk = org.organism.tokenizer.id('<unk>');
      for (const p of pairs)
        assert.ok(!org.organism.tokenizer.encode(`${p.prompt} ${p.continuation}`).ids.includes(unk), `in the vocabulary: ${p.prompt} | ${p.continuation}`);
      const mine = await org.score(pairs);
      const theirs = await hf.score(pairs);
      let max = 0,
        n = 0;
      for (const [i, s] of mine.entries()) {
        assert.equal(theirs[i].tokens.length, s.tokens.length, `pair ${i}: the same number of continuation tokens`);
        s.tokens.forEach((v, k) => (max = Math.max(max, Math.abs(v - theirs[i].tokens[k]))));
        assert.ok(Math.abs(s.logprob - theirs[i].logprob) <= 1e-3 * s.tokens.length, `pair ${i}: ${s.logprob} vs ${theirs[i].logprob}`);
        n += s.tokens.length;
      }
      console.log(`# organism vs its GPT-2 export in the hf: worker: max |Δ logprob| per token = ${max.toExponential(2)} over ${n} tokens`);
      assert.ok(n >= 40, `${n} tokens scored`);
      assert.ok(max <= 1e-3, `max |Δ| ${max}`);
    });
  },
);
