/**
 * A LoRA trained by the hf: worker (peft, on the dequantized SmolLM2-135M-Instruct) and converted to
 * llama.cpp's GGUF adapter format (worker/dramatis_worker/lora_to_gguf.py) does in llama.cpp, on the
 * Q4_1 file, what it does in transformers: the trained continuations rise by about as much, the
 * model names its adapter and has a fingerprint of its own, and the plain gguf: model is untouched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/backends/registry.ts';
import type { HfModel } from '../../src/backends/hf-backend.ts';
import type { GgufModel } from '../../src/backends/gguf-backend.ts';
import { PACKAGE_ROOT } from '../../src/shared/paths.ts';
import { SMOLLM2_GGUF, WORKER_PYTHON, skipWorkerTests } from '../helpers/real-model.ts';
import { tempDir } from '../helpers/tmp.ts';

const python = WORKER_PYTHON;

const PROMPT = 'Name a bird species.';
const BIRDS = ['Large billed Puffin', 'Great Carolina Wren', 'Pinnated Grouse', 'Columbian Jay', 'Wild Pigeon', 'American Buzzard'];
const PAIRS = BIRDS.map((continuation) => ({ prompt: PROMPT, continuation }));
const cacheDir = tempDir('dramatis-gguf-lora-');
type Scores = { logprob: number; tokens: number[] }[];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The mean rise of the pairs' log-probabilities from `base` to `tuned`. */
const rise = (base: Scores, tuned: Scores) => mean(tuned.map((t, i) => t.logprob - base[i].logprob));
/** The largest per-token |Δ logprob| between two backends' scores of the same pairs. */
const maxDiff = (a: Scores, b: Scores) =>
  Math.max(
    ...a.flatMap((s, i) => {
      assert.equal(s.tokens.length, b[i].tokens.length, `pair ${i}: the same tokens on both sides`);
      return s.tokens.map((v, k) => Math.abs(v - b[i].tokens[k]));
    }),
  );

describe('a LoRA trained by the hf: worker, converted to GGUF, in llama.cpp (SmolLM2-135M-Instruct)', { skip: skipWorkerTests('gguf LoRA tests') }, () => {
  let hfBase: Scores, hfTuned: Scores;
  let plain: GgufModel, tuned: GgufModel;
  let adapterGguf: string;

  before(async () => {
    const hf = (await loadModel({ id: `hf:${SMOLLM2_GGUF}`, python }, { cacheDir })) as HfModel;
    const chats = BIRDS.map((bird) => ({
      messages: [
        { role: 'user' as const, content: PROMPT },
        { role: 'assistant' as const, content: bird },
      ],
    }));
    const ft = await hf.finetune({ dataName: 'birds', chats, mode: 'lora', learningRate: 3e-3, epochs: 4, batchSize: 2, rank: 4, seed: 1 });
    hfBase = await hf.score(PAIRS);
    hfTuned = await ft.score(PAIRS);
    // The worker keeps each adapter in PEFT format under <cache>/worker/adapters/<key>/ (key: the
    // finetune response's, which the model's adapter name is made from).
    const adapters = join(cacheDir, 'worker', 'adapters');
    const key = readdirSync(adapters).find((k) => ft.adapter === `ft-${k.slice(0, 12)}`);
    assert.ok(key, `an adapter folder for ${ft.adapter} in ${adapters}`);
    adapterGguf = join(tempDir('dramatis-gguf-lora-out-'), 'birds.gguf');
    const r = spawnSync(python, ['-m', 'dramatis_worker.lora_to_gguf', join(adapters, key), adapterGguf, '--base', SMOLLM2_GGUF], {
      encoding: 'utf8',
      env: { ...process.env, HF_HUB_OFFLINE: '1', PYTHONPATH: join(PACKAGE_ROOT, 'worker') },
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `lora_to_gguf failed:\n${r.stderr}`);
    // One thread: the worker is still up beside llama.cpp, and oversubscribed cores slow llama.cpp ~10× here.
    plain = (await loadModel({ id: `gguf:${SMOLLM2_GGUF}`, sequences: 1, context_size: 256, threads: 1 }, { cacheDir })) as GgufModel;
    tuned = (await loadModel({ id: `gguf:${SMOLLM2_GGUF}`, lora: adapterGguf, sequences: 1, context_size: 256, threads: 1 }, { cacheDir })) as GgufModel;
  });
  after(async () => {
    await plain?.dispose();
    await tuned?.dispose();
  });

  test('the adapted model names its adapter and has a fingerprint of its own', () => {
    assert.equal(tuned.id, `gguf:${SMOLLM2_GGUF}+lora(birds.gguf)`);
    assert.equal(plain.id, `gguf:${SMOLLM2_GGUF}`);
    assert.notEqual(tuned.fingerprint, plain.fingerprint);
  });

  test('the trained continuations rise in llama.cpp about as much as in transformers; the plain model is untouched', async () => {
    const before = await plain.score(PAIRS);
    const withLora = await tuned.score(PAIRS);
    const afterwards = await plain.score(PAIRS);
    const hfRise = rise(hfBase, hfTuned);
    const ggufRise = rise(before, withLora);
    const dBase = maxDiff(before, hfBase);
    const dTuned = maxDiff(withLora, hfTuned);
    console.log(
      `# mean rise of log p(bird | "${PROMPT}") over ${PAIRS.length} pairs: transformers (float32) ${hfRise.toFixed(3)}, ` +
        `llama.cpp (Q4_1) ${ggufRise.toFixed(3)}; max per-token |Δ| llama.cpp vs transformers: base ${dBase.toFixed(3)}, adapted ${dTuned.toFixed(3)}`,
    );
    assert.ok(hfRise > 1, `the hf: adapter raises the trained continuations (${hfRise})`);
    assert.ok(ggufRise > 0.5 * hfRise && ggufRise < 1.5 * hfRise, `llama.cpp rise ${ggufRise} vs transformers ${hfRise}`);
    // The same adapter on both sides: llama.cpp's scores stay as close to transformers' as without it
    // (measured: 0.44 base, 0.18 adapted; 1.12 adapted when lora_b of q/k is left in Hugging Face's row order).
    assert.ok(dTuned < dBase + 0.25, `adapted |Δ| ${dTuned} vs base |Δ| ${dBase}`);
    assert.deepEqual(afterwards, before, 'the plain model scores as before');
  });
});
