import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';
import { initTf, tf } from '../../src/organism/backend.ts';
import { initParams, forward, type GptConfig } from '../../src/organism/model.ts';
import { train, learningRateAt } from '../../src/organism/train.ts';
import { generate, scoreContinuations } from '../../src/organism/inference.ts';
import { saveCheckpoint, loadCheckpoint } from '../../src/organism/checkpoint.ts';
import { Tokenizer } from '../../src/organism/tokenizer.ts';

await initTf();
const words = ['a', 'b', 'c', 'd', 'e', 'f'];
const tok = new Tokenizer(words);
const config: GptConfig = { vocabSize: tok.size, nCtx: 32, nEmbd: 32, nLayer: 2, nHead: 2 };
const pad = tok.id('<pad>');

/** Toy task: after <doc>, a random start letter, then the cycle a→b→c→d→e→f→a continues. */
function row(seed: number) {
  const start = seed % 6;
  const ids = [tok.id('<doc>')];
  for (let i = 0; i < 20; i++) ids.push(tok.id(words[(start + i) % 6]));
  return { ids };
}

test('learning-rate schedule warms up then decays by cosine to the floor', () => {
  const o = { steps: 100, learningRate: 1, warmup: 10, minLrFraction: 0.1 };
  assert.ok(Math.abs(learningRateAt(0, o) - 0.1) < 1e-9);
  assert.ok(Math.abs(learningRateAt(9, o) - 1) < 1e-9);
  assert.ok(Math.abs(learningRateAt(99, o) - 0.1) < 1e-9);
  assert.ok(learningRateAt(50, o) < learningRateAt(20, o));
});

test('a tiny organism learns a toy pattern, and a checkpoint round-trips exactly', async () => {
  const params = initParams(config, 1);
  const losses: number[] = [];
  await train(
    config,
    params,
    (step, n) => Array.from({ length: n }, (_, i) => row(step * n + i)),
    {
      steps: 60,
      batchSize: 8,
      learningRate: 1e-2,
      warmup: 5,
      onStep: (s) => {
        losses.push(s.loss);
      },
    },
    pad,
  );
  assert.ok(losses[0] > 1.5, `initial loss ${losses[0]} should be near ln(${tok.size})`);
  assert.ok(losses[losses.length - 1] < 0.3, `final loss ${losses[losses.length - 1]} should be small`);
  const model = { config, params, padId: pad };
  const [s] = await generate(model, [[tok.id('<doc>'), tok.id('c')]], { temperature: 0, maxTokens: 6 });
  assert.equal(tok.decode(s.ids), 'd e f a b c');

  const dir = tempDir('dramatis-ck-');
  try {
    await saveCheckpoint(dir, { config, params, tokenizer: tok, provenance: { stage: 'test', command: 'test', seed: 1, createdAt: new Date().toISOString() } });
    const back = loadCheckpoint(dir);
    const ids = tf.tensor2d([row(3).ids.slice(0, 10)], [1, 10], 'int32');
    const a = forward(config, params, ids).logits.dataSync();
    const b = forward(back.config, back.params, ids).logits.dataSync();
    assert.deepEqual(Array.from(b), Array.from(a));
    const [sc] = await scoreContinuations(model, [{ prompt: [tok.id('<doc>'), tok.id('a')], continuation: [tok.id('b'), tok.id('c')] }]);
    assert.ok(sc.total > -0.5, `learned continuation should be likely, got ${sc.total}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LoRA fine-tuning moves the model and merges into the weights', async () => {
  const params = initParams(config, 2);
  const before = params.get('h.0.attn.c_attn.weight')!.dataSync().slice();
  const wte = params.get('wte.weight')!.dataSync().slice();
  await train(
    config,
    params,
    (step, n) => Array.from({ length: n }, (_, i) => row(step * n + i)),
    { steps: 5, batchSize: 4, learningRate: 1e-2, lora: { rank: 2 } },
    pad,
  );
  const after = params.get('h.0.attn.c_attn.weight')!.dataSync();
  assert.ok(
    after.some((v, i) => v !== before[i]),
    'LoRA update merged into c_attn',
  );
  assert.deepEqual(Array.from(params.get('wte.weight')!.dataSync()), Array.from(wte), 'embeddings untouched under LoRA');
});

test('an interrupted run resumed from its optimizer state ends exactly where an uninterrupted one does', async () => {
  const rows = (step: number, n: number) => Array.from({ length: n }, (_, i) => row(step * n + i));
  const opts = { steps: 6, batchSize: 4, learningRate: 1e-2, warmup: 2 };
  const straight = initParams(config, 3);
  await train(config, straight, rows, opts, pad);

  const resumed = initParams(config, 3);
  let saved: import('../../src/organism/train.ts').OptimizerState | undefined;
  let snapshot: Map<string, tf.Tensor> | undefined;
  await train(
    config,
    resumed,
    rows,
    {
      ...opts,
      checkpointEvery: 3,
      onCheckpoint: async (st) => {
        saved = { step: st.step, tokens: st.tokens, m: st.m.map((t) => t.clone()), s: st.s.map((t) => t.clone()) };
        snapshot = new Map([...resumed].map(([k, v]) => [k, v.clone()]));
      },
      onStep: (s) => s.step + 1 < 4, // killed after step 4
    },
    pad,
  );
  assert.equal(saved?.step, 3);
  for (const [k, v] of snapshot!) resumed.get(k)!.assign(v);
  await train(config, resumed, rows, { ...opts, resume: saved }, pad);
  for (const [k, v] of straight) {
    const a = Array.from(v.dataSync()),
      b = resumed.get(k)!.dataSync();
    const maxDiff = a.reduce((mx, x, i) => Math.max(mx, Math.abs(x - b[i])), 0);
    assert.ok(maxDiff < 1e-6, `${k} differs by ${maxDiff}`);
  }
});

test('a sample depends on its prompt and seed only, not on the batch it shares', async () => {
  const params = initParams(config, 4);
  const model = { config, params, padId: pad };
  const prompts = [[tok.id('<doc>'), tok.id('a')], [tok.id('<doc>'), tok.id('c'), tok.id('d')], [tok.id('<doc>')]];
  const all = await generate(model, prompts, { seed: 9, maxTokens: 5, batchSize: 3 });
  const alone = await generate(model, [prompts[1]], { seed: 9, seeds: [1], maxTokens: 5 });
  assert.deepEqual(alone[0].ids, all[1].ids);
  const split = await generate(model, prompts, { seed: 9, maxTokens: 5, batchSize: 1 });
  assert.deepEqual(
    split.map((s) => s.ids),
    all.map((s) => s.ids),
  );
});

test("persona-only fine-tuning moves nothing but the role token's embedding row", async () => {
  const params = initParams(config, 5);
  const before = new Map([...params].map(([k, v]) => [k, Array.from(v.dataSync())]));
  const row = tok.id('<assistant>');
  await train(
    config,
    params,
    (step, n) => Array.from({ length: n }, (_, i) => ({ ids: [tok.id('<doc>'), row, ...rowIds(step * n + i)] })),
    { steps: 4, batchSize: 4, learningRate: 1e-2, personaToken: row },
    pad,
  );
  for (const [k, v] of params) {
    const now = Array.from(v.dataSync()),
      was = before.get(k)!;
    if (k !== 'wte.weight') {
      assert.deepEqual(now, was, `${k} must not change`);
      continue;
    }
    const d = config.nEmbd;
    const changedRows = new Set(now.flatMap((x, i) => (x !== was[i] ? [Math.floor(i / d)] : [])));
    assert.deepEqual([...changedRows], [row]);
  }
});

function rowIds(seed: number): number[] {
  return row(seed).ids.slice(1);
}

test("length-sorted micro-batches give the whole batch's gradient, and worker threads give bitwise the same", async () => {
  const { StepGradients } = await import('../../src/organism/gradients.ts');
  const params = initParams(config, 2);
  const trainable = [...params.values()];
  // Rows of different lengths, some with loss weights (as chat rows have).
  const rows = Array.from({ length: 7 }, (_, i) => {
    const r = row(i);
    const ids = r.ids.slice(0, 6 + 3 * i);
    return i % 2 ? { ids, targetWeights: ids.slice(1).map((_, t) => (t % 3 === 0 ? 0 : 1)) } : { ids };
  });
  const gradsOf = async (microBatch: number, threads: number, steering?: { layer: number; vector: number[]; coefficient: number }[]) => {
    const sg = await StepGradients.create({ config, params, effective: () => params, trainable, padId: pad, microBatch, threads, steering });
    try {
      const g = await sg.compute(rows);
      const out = { loss: g.loss, tokens: g.realTokens, grads: g.grads.map((t) => Array.from(t.dataSync())) };
      tf.dispose(g.grads);
      return out;
    } finally {
      await sg.close();
    }
  };
  const whole = await gradsOf(7, 1);
  const micro = await gradsOf(2, 1);
  const threaded = await gradsOf(2, 2);
  assert.equal(micro.tokens, whole.tokens);
  assert.ok(Math.abs(micro.loss - whole.loss) < 1e-5, `loss ${micro.loss} vs ${whole.loss}`);
  let maxDiff = 0,
    maxAbs = 0;
  whole.grads.forEach((g, j) =>
    g.forEach((x, k) => {
      maxDiff = Math.max(maxDiff, Math.abs(x - micro.grads[j][k]));
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }),
  );
  assert.ok(maxAbs > 1e-3 && maxDiff < 1e-5 * Math.max(1, maxAbs), `micro-batched gradient differs by ${maxDiff} (max |g| ${maxAbs})`);
  assert.equal(threaded.loss, micro.loss);
  assert.deepEqual(threaded.grads, micro.grads);
  // Preventative steering reaches every thread: the steered gradient differs from the plain one, and
  // the worker computes the same steered gradient as the main thread.
  const steering = [{ layer: 1, vector: Array.from({ length: config.nEmbd }, (_, i) => Math.sin(i)), coefficient: 0.5 }];
  const steered = await gradsOf(2, 1, steering),
    steeredThreaded = await gradsOf(2, 2, steering);
  assert.notEqual(steered.loss, micro.loss);
  assert.equal(steeredThreaded.loss, steered.loss);
  assert.deepEqual(steeredThreaded.grads, steered.grads);
});
