/**
 * Incremental decoding with the key/value cache (src/organism/decode.ts) against the full forward it
 * replaces: the same logits to float rounding for rows of different lengths that advance unevenly
 * (some sit out steps, as finished rows do), with and without steering; and greedy generation that
 * picks the same tokens as recomputing every position each step.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Organism } from '../../src/organism/organism.ts';
import { tf } from '../../src/organism/backend.ts';
import { forward, parameterShapes, type GptConfig, type Params, type Steering } from '../../src/organism/model.ts';
import { prefill, decodeStep } from '../../src/organism/decode.ts';
import { generate, type ModelRef } from '../../src/organism/inference.ts';

let m: ModelRef;
before(async () => {
  const org = await Organism.load('base');
  m = { config: org.config, params: org.ck.params, padId: org.tokenizer.id('<pad>') };
});

function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** Logits at each sequence's last token by the full forward over all its positions. */
function fullLogits(c: GptConfig, params: Params, pad: number, seqs: number[][], steering?: Steering[]): Float32Array {
  return tf
    .tidy(() => {
      const T = Math.max(...seqs.map((s) => s.length));
      const flat = new Int32Array(seqs.length * T).fill(pad);
      seqs.forEach((s, b) => flat.set(s, b * T));
      const rows = tf.tensor1d(
        seqs.map((s, b) => b * T + s.length - 1),
        'int32',
      );
      return forward(c, params, tf.tensor2d(flat, [seqs.length, T], 'int32'), { logitRows: rows, steering }).logits;
    })
    .dataSync() as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
};

for (const steered of [false, true]) {
  test(`cached decoding gives the full forward's logits (within 1e-4) for uneven rows${steered ? ', steered' : ''}`, async () => {
    const c = m.config,
      rng = lcg(steered ? 11 : 7);
    const steering: Steering[] | undefined = steered ? [{ layer: 1, vector: Array.from({ length: c.nEmbd }, () => rng() - 0.5), coefficient: 3 }] : undefined;
    const tok = () => 1 + Math.floor(rng() * (c.vocabSize - 1));
    const seqs = Array.from({ length: 7 }, (_, i) => Array.from({ length: 3 + i * 9 }, tok));
    const { cache, logits } = await prefill(c, m.params, m.padId, seqs, steering);
    let worst = maxDiff(logits, fullLogits(c, m.params, m.padId, seqs, steering));
    let scale = 0;
    for (const x of logits) scale = Math.max(scale, Math.abs(x));
    for (let step = 0; step < 12; step++) {
      const rows = seqs.map((_, i) => i).filter((i) => step % 4 !== 1 || i % 2 === 0);
      const next = rows.map(tok);
      const out = decodeStep(c, m.params, cache, rows, next, steering);
      rows.forEach((r, i) => seqs[r].push(next[i]));
      worst = Math.max(
        worst,
        maxDiff(
          out,
          fullLogits(
            c,
            m.params,
            m.padId,
            rows.map((r) => seqs[r]),
            steering,
          ),
        ),
      );
    }
    assert.ok(scale > 1, `logits of a trained model (max |logit| ${scale})`);
    assert.ok(worst < 1e-4, `max |Δ logit| ${worst}`);
    assert.deepEqual(
      [...cache.length],
      seqs.map((s) => s.length),
    );
  });
}

test('greedy generation with the cache picks the tokens the full forward picks', async () => {
  const c = m.config,
    rng = lcg(3);
  const prompts = Array.from({ length: 6 }, (_, i) => Array.from({ length: 4 + 5 * i }, () => 1 + Math.floor(rng() * (c.vocabSize - 1))));
  const got = await generate(m, prompts, { temperature: 0, maxTokens: 16 });
  for (const [i, p] of prompts.entries()) {
    const seq = [...p];
    for (let k = 0; k < 16; k++) {
      const l = fullLogits(c, m.params, m.padId, [seq]);
      seq.push(l.indexOf(Math.max(...l)));
    }
    assert.deepEqual(got[i].ids, seq.slice(p.length), `prompt ${i}`);
  }
});

test('a prompt that fills the context leaves no room and says so', async () => {
  const long = Array.from({ length: m.config.nCtx }, () => 3);
  await assert.rejects(generate(m, [long], { maxTokens: 2 }), /leaves no room in the context/);
});

test('a head size the SIMD kernel does not take (not a multiple of 4) goes through the JS loop, with the same logits', async () => {
  const c: GptConfig = { vocabSize: 50, nCtx: 32, nEmbd: 18, nLayer: 2, nHead: 3 };
  // Weights far from initialisation (N(0, 0.02) makes attention nearly uniform, hiding a wrong score).
  const params: Params = new Map(
    parameterShapes(c).map(([name, shape], k) => [
      name,
      tf.variable(tf.randomNormal(shape, name.includes('ln_') && name.endsWith('weight') ? 1 : 0, 0.4, 'float32', 77 + k)),
    ]),
  );
  const rng = lcg(5);
  const seqs = Array.from({ length: 3 }, (_, i) => Array.from({ length: 2 + 4 * i }, () => 1 + Math.floor(rng() * 49)));
  const { cache, logits } = await prefill(c, params, 0, seqs);
  let worst = maxDiff(logits, fullLogits(c, params, 0, seqs));
  for (let step = 0; step < 6; step++) {
    const next = seqs.map(() => 1 + Math.floor(rng() * 49));
    const out = decodeStep(c, params, cache, [0, 1, 2], next);
    seqs.forEach((s, i) => s.push(next[i]));
    worst = Math.max(worst, maxDiff(out, fullLogits(c, params, 0, seqs)));
  }
  assert.ok(worst < 1e-4, `max |Δ logit| ${worst}`);
  tf.dispose([...params.values()]);
});
