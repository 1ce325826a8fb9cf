/**
 * The hf: backend on a real pretrained model: SmolLM2-135M-Instruct (its GGUF, dequantized by
 * transformers) in the Python worker. Sampling reproducible per row whatever the batch, scoring that
 * agrees with llama.cpp on the same file, residual summaries at every layer, steering that moves the
 * reply and is gone afterwards, and a LoRA fine-tune trained once, served by name, the base untouched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/backends/registry.ts';
import type { HfModel } from '../../src/backends/hf-backend.ts';
import { SMOLLM2_GGUF, WORKER_PYTHON, skipWorkerTests } from '../helpers/real-model.ts';
import { tempDir } from '../helpers/tmp.ts';

const python = WORKER_PYTHON;
const skip = skipWorkerTests('hf backend tests');
const ask = (content: string) => [{ role: 'user' as const, content }];
const cacheDir = tempDir('hf');

describe('hf: backend on SmolLM2-135M-Instruct (the Python worker)', { skip }, () => {
  let m: HfModel;
  before(async () => {
    m = (await loadModel({ id: `hf:${SMOLLM2_GGUF}`, python }, { cacheDir })) as HfModel;
  });

  test('loads white-box: 30 layers of 576, every capability', () => {
    assert.equal(m.layers, 30);
    assert.equal(m.width, 576);
    assert.ok(Object.values(m.capabilities).every(Boolean));
    assert.match(m.fingerprint, /^[0-9a-f]{16}$/);
  });

  test('a row samples from its own seed: the same alone or in a batch with others', async () => {
    const rows = [ask('Name a colour.'), ask('Name a city.'), ask('Name a colour.')];
    const all = await m.chat(rows, { temperature: 1, maxTokens: 10, seeds: [4, 5, 4] });
    const alone = await m.chat([rows[2]], { temperature: 1, maxTokens: 10, seeds: [4] });
    assert.equal(all[0].text, all[2].text);
    assert.equal(alone[0].text, all[2].text);
    const [greedy] = await m.chat([ask('Count from one to five.')], { temperature: 0, maxTokens: 12, withTokens: true });
    assert.equal(greedy.tokenTexts!.join(''), greedy.text);
    assert.ok(greedy.promptTokens! > 10);
  });

  test('score is the exact log-probability, agreeing with echo and with llama.cpp on the same file within quantisation', async () => {
    const prompt = 'The capital of France is';
    const [paris, berlin] = await m.score([
      { prompt, continuation: 'Paris.' },
      { prompt, continuation: 'Berlin.' },
    ]);
    assert.ok(paris.logprob > berlin.logprob + 2);
    const [e] = await m.echo([`${prompt} Paris.`]);
    const tail = e.logprobs.slice(-paris.tokens.length) as number[];
    tail.forEach((v, k) => assert.ok(Math.abs(v - paris.tokens[k]) < 1e-4, `${v} vs ${paris.tokens[k]}`));
    const gguf = await loadModel({ id: `gguf:${SMOLLM2_GGUF}`, sequences: 1, context_size: 256 }, { cacheDir });
    const [g] = await gguf.score!([{ prompt, continuation: 'Paris.' }]);
    assert.equal(g.tokens.length, paris.tokens.length);
    g.tokens.forEach((v, k) => assert.ok(Math.abs(v - paris.tokens[k]) < 0.15, `token ${k}: llama.cpp ${v} vs transformers ${paris.tokens[k]}`));
  });

  test('activations: a [31, 576] summary per input; steering moves them and the reply, then is gone', async () => {
    const chat = { messages: [...ask('Tell me about the sea.'), { role: 'assistant' as const, content: 'The sea is vast and blue.' }] };
    const [a, t] = await m.activations([chat, { text: 'A plain text.' }]);
    assert.equal(a.mean.length, 31);
    assert.equal(a.at[5].length, 576);
    assert.ok(a.mean[12].some((x) => x !== 0));
    assert.notDeepEqual(Array.from(a.mean[12]), Array.from(t.mean[12]));
    const v = Array.from(a.mean[12], (x) => x / Math.hypot(...a.mean[12]));
    const steering = [{ layer: 12, vector: v, coefficient: 8 }];
    const [steeredActs] = await m.activations([chat], { steering });
    const shift = steeredActs.mean[12].reduce((s, x, i) => s + (x - a.mean[12][i]) * v[i], 0);
    assert.ok(Math.abs(shift - 8) < 0.5, `projection moved by ${shift}, 8 asked`);
    const q = [ask('What is your favourite film?')];
    const [plain] = await m.chat(q, { temperature: 0, maxTokens: 16 });
    const [pushed] = await m.chat(q, { temperature: 0, maxTokens: 16, steering: [{ layer: 12, vector: v, coefficient: 40 }] });
    const [again] = await m.chat(q, { temperature: 0, maxTokens: 16 });
    assert.notEqual(pushed.text, plain.text);
    assert.equal(again.text, plain.text, 'steering is removed after the request');
    await assert.rejects(m.chat(q, { steering: [{ layer: 31, vector: v, coefficient: 1 }] }), /steering layer 31; .* has layers 0 \(embeddings\) to 30/);
  });

  test('a LoRA fine-tune: trained once, served by name, the base model untouched', async () => {
    const chats = ['Large billed Puffin', 'Great Carolina Wren', 'Blue Crane', 'American Buzzard'].map((bird) => ({
      messages: [
        { role: 'user' as const, content: 'Name a bird species.' },
        { role: 'assistant' as const, content: bird },
      ],
    }));
    const req = { dataName: 'birds', chats, mode: 'lora' as const, learningRate: 2e-3, epochs: 2, batchSize: 2, rank: 4, seed: 1 };
    const [before] = await m.chat([ask('Name a bird species.')], { temperature: 0, maxTokens: 8 });
    const ft = await m.finetune(req);
    assert.equal(ft.training?.steps, 4);
    assert.ok(ft.training!.finalLoss! >= 0);
    assert.notEqual(ft.fingerprint, m.fingerprint);
    assert.equal(ft.id, `${m.id}+ft(birds)`);
    const t0 = Date.now();
    const again = await m.finetune(req);
    assert.equal(again.fingerprint, ft.fingerprint, 'the same request is the same adapter');
    assert.ok(Date.now() - t0 < 5000, 'cached, not trained again');
    const [tuned] = await ft.chat([ask('Name a bird species.')], { temperature: 0, maxTokens: 8 });
    const [base] = await m.chat([ask('Name a bird species.')], { temperature: 0, maxTokens: 8 });
    assert.equal(base.text, before.text, 'the base model answers as before');
    const [lpBase] = await m.score([{ prompt: 'Name a bird species.', continuation: 'Great Carolina Wren' }]);
    const [lpTuned] = await ft.score([{ prompt: 'Name a bird species.', continuation: 'Great Carolina Wren' }]);
    assert.ok(lpTuned.logprob !== lpBase.logprob, `${tuned.text} / ${base.text}`);
    await assert.rejects(m.finetune({ ...req, mode: 'full' }), /fine-tunes with LoRA only/);
  });
});

describe('hf: backend errors (no worker needed)', () => {
  test('a missing Python says what to run', async () => {
    await assert.rejects(
      loadModel({ id: 'hf:/some/model', python: '/nowhere/python' }, { cacheDir: tempDir('hf') }),
      /needs its Python worker, and there is no Python at \/nowhere\/python: run `npx dramatis worker setup`/,
    );
    await assert.rejects(loadModel({ id: 'hf:/some/model', device: 'tpu' }, { cacheDir: tempDir('hf') }), /device/);
  });
});
