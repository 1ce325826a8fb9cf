/**
 * The organism's model and the wasm kernel overrides behind it:
 * - every override (and every fused kernel) agrees with the cpu backend / the composite reference on
 *   random inputs, including transposed, batched and odd shapes;
 * - the model's gradient agrees with central finite differences and with the cpu reference path;
 * - steering adds its vector; collectResiduals returns nLayer + 1 tensors; logitRows picks rows;
 * - initTf removes the process listeners the Emscripten glue installs.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { initTf, tf } from '../../src/organism/backend.ts';
import { forward, maskedCrossEntropy, parameterShapes, countParameters, initParams, type GptConfig, type Params } from '../../src/organism/model.ts';
import { layerNorm, gelu, softmaxCrossEntropy, causalSelfAttention } from '../../src/organism/kernels.ts';

let listenersBefore = 0;
before(async () => {
  listenersBefore = process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');
  await initTf();
});

/** Deterministic pseudo-random numbers (so both backends see identical inputs). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 2246822519) + 0x9e3779b9) >>> 0;
    s ^= s >>> 13;
    return (s >>> 0) / 2 ** 32;
  };
}
function normal(n: number, seed: number, std = 1, mean = 0): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}
function randn(shape: number[], seed: number, std = 1, mean = 0): tf.Tensor {
  return tf.tensor(
    normal(
      shape.reduce((a, b) => a * b, 1),
      seed,
      std,
      mean,
    ),
    shape,
  );
}

type Vals = Float32Array | Int32Array | Uint8Array;
/** Run f on the given backend, returning the values of all its output tensors. */
async function on(backend: 'wasm' | 'cpu', f: () => tf.Tensor | tf.Tensor[]): Promise<Vals[]> {
  await tf.setBackend(backend);
  try {
    const outs = tf.tidy(() => {
      const r = f();
      return Array.isArray(r) ? r : [r];
    });
    const vals = outs.map((t) => t.dataSync() as Vals);
    tf.dispose(outs);
    return vals;
  } finally {
    await tf.setBackend('wasm');
  }
}
function maxDiff(a: Vals[], b: Vals[]): { diff: number; scale: number } {
  assert.equal(a.length, b.length);
  let diff = 0,
    scale = 0;
  a.forEach((x, i) => {
    assert.equal(x.length, b[i].length, 'output sizes differ');
    for (let j = 0; j < x.length; j++) {
      diff = Math.max(diff, Math.abs(x[j] - b[i][j]));
      scale = Math.max(scale, Math.abs(b[i][j]));
    }
  });
  return { diff, scale };
}
/** wasm (our kernels) vs cpu (tf's reference kernels, and our composite fallbacks) on the same f. */
async function agree(name: string, f: () => tf.Tensor | tf.Tensor[], rtol = 1e-5): Promise<void> {
  const [w, c] = [await on('wasm', f), await on('cpu', f)];
  const { diff, scale } = maxDiff(w, c);
  assert.ok(diff <= rtol * Math.max(1, scale), `${name}: wasm and cpu differ by ${diff} (scale ${scale})`);
}

test('initTf removes the process listeners added by the wasm glue', () => {
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection'), listenersBefore);
});

test('BatchMatMul and _FusedMatMul overrides agree with the cpu backend', async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[301, 7], [7, 203], false, false],
    [[7, 301], [7, 2], true, false],
    [[3, 7], [301, 7], false, true],
    [[7, 3], [203, 7], true, true],
    [[96, 1031], [1031, 33], false, false],
    [[1031, 96], [1031, 33], true, false],
    [[33, 96], [1031, 96], false, true],
    [[4, 5, 7], [7, 3], false, false],
    [[4, 5, 7], [3, 7], false, true],
    [[4, 7, 5], [4, 7, 3], true, false],
    [[4, 5, 7], [4, 3, 7], false, true],
    [[2, 3, 7, 5], [2, 3, 3, 7], true, true],
    [[5, 7], [4, 7, 3], false, false],
    [[6, 33, 17], [6, 17, 9], false, false],
    [[1, 1], [1, 1], false, false],
    [[3, 0], [0, 4], false, false],
  ];
  let seed = 1;
  for (const [sa, sb, ta, tb] of cases) {
    const s = seed++;
    await agree(`matMul ${sa} ${sb} ${ta} ${tb}`, () => tf.matMul(randn(sa, s), randn(sb, s + 100), ta, tb));
    if (sa.length === 2 && sb.length === 2) {
      const n = tb ? sb[0] : sb[1];
      await agree(`fused ${sa} ${sb} ${ta} ${tb}`, () =>
        tf.fused.matMul({ a: randn(sa, s), b: randn(sb, s + 100), transposeA: ta, transposeB: tb, bias: randn([n], s + 200) }),
      );
    }
  }
  // fused with a non-linear activation goes to the stock kernel
  await agree('fused relu', () => tf.fused.matMul({ a: randn([9, 4], 1), b: randn([4, 6], 2), bias: randn([6], 3), activation: 'relu' }));
  // gradients of a transposed product go through the override too
  await agree('matMul grads', () =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, true, true).square().sum())([randn([13, 6], 4), randn([5, 13], 5)]),
  );
});

test('reusing one tensor as B in differently reshaped products gives correct results', async () => {
  // XNNPACK caches its operator by B's tensor id; a reshape keeps the id.
  await agree('reshaped B', () => {
    const b = randn([12, 12], 7),
      a1 = randn([5, 12], 8),
      a2 = randn([5, 6], 9),
      a3 = randn([5, 24], 10);
    return [tf.matMul(a1, b), tf.matMul(a2, b.reshape([6, 24])), tf.matMul(a3, b.reshape([24, 6])), tf.matMul(a1, b)];
  });
});

test('Transpose, Slice, Sum, Identity, GatherV2, UnsortedSegmentSum overrides agree with the cpu backend', async () => {
  const perms: [number[], number[]][] = [
    [
      [37, 61],
      [1, 0],
    ],
    [
      [3, 5, 3, 4, 6],
      [2, 0, 3, 1, 4],
    ],
    [
      [3, 5, 4, 6],
      [0, 2, 1, 3],
    ],
    [
      [3, 5, 7],
      [0, 2, 1],
    ],
    [
      [3, 5, 7],
      [2, 0, 1],
    ],
    [
      [3, 1, 5, 7],
      [3, 1, 0, 2],
    ],
    [
      [2, 3, 4, 5, 6],
      [4, 3, 2, 1, 0],
    ],
    [[9], [0]],
    [
      [4, 6],
      [0, 1],
    ],
  ];
  for (const [shape, perm] of perms) await agree(`transpose ${shape} ${perm}`, () => tf.transpose(randn(shape, 11), perm), 0);
  await agree('transpose int32', () => tf.transpose(tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [1, 2, 0]), 0);
  await agree('slice 2d', () => tf.slice(randn([10, 12], 12), [2, 3], [4, 5]), 0);
  await agree('slice 3d', () => tf.slice(randn([4, 10, 12], 13), [1, 2, 3], [2, 4, 5]), 0);
  await agree('slice 4d', () => tf.slice(randn([3, 4, 5, 6], 13), [1, 0, 2, 1], [2, 4, 2, -1]), 0);
  await agree('slice contiguous', () => tf.slice(randn([4, 10, 12], 14), [1, 0, 0], [2, -1, -1]), 0);
  await agree('slice int32', () => tf.slice(tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [0, 1, 1], [3, 2, 3]), 0);
  await agree('split', () => tf.split(randn([6, 9], 15), [2, 3, 4], 1));
  await agree('sum axis 0', () => tf.sum(randn([4097, 13], 16), 0), 1e-5);
  await agree('sum axes 0,1 keepDims', () => tf.sum(randn([3, 37, 13], 17), [0, 1], true));
  await agree('sum axis 1', () => tf.sum(randn([37, 13], 18), 1));
  await agree('sum all', () => tf.sum(randn([37, 13], 19)));
  await agree('sum middle axis', () => tf.sum(randn([3, 7, 5], 20), 1));
  await agree(
    'clone',
    () => {
      const x = randn([37, 13], 21);
      const y = tf.clone(x);
      return [y.add(1), x];
    },
    0,
  );
  await agree(
    'gather rows',
    () =>
      tf.gather(
        randn([10, 4, 3], 22),
        tf.tensor2d(
          [
            [1, 3],
            [9, 0],
          ],
          [2, 2],
          'int32',
        ),
      ),
    0,
  );
  await agree('gather axis 1', () => tf.gather(randn([4, 10], 23), tf.tensor1d([1, 3, 9], 'int32'), 1), 0);
  await agree('unsortedSegmentSum', () => tf.unsortedSegmentSum(randn([7, 5], 24), tf.tensor1d([0, 3, 3, 1, 0, 2, 3], 'int32'), 5));
  await agree(
    'unsortedSegmentSum 1-D and wide rows',
    () => [
      tf.unsortedSegmentSum(randn([6], 28), tf.tensor1d([2, 0, 2, 1, 0, 2], 'int32'), 4),
      tf.unsortedSegmentSum(randn([5, 96], 29), tf.tensor1d([4, 0, 4, 1, 9], 'int32'), 10),
      tf.unsortedSegmentSum(
        tf.tensor2d(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          [3, 2],
          'int32',
        ),
        tf.tensor1d([1, 1, 0], 'int32'),
        2,
      ),
    ],
    0,
  );
  await agree('gather grad', () =>
    tf.grad((w: tf.Tensor) =>
      tf
        .gather(w, tf.tensor1d([1, 3, 1, 0, 9], 'int32'))
        .mul(randn([5, 4], 25))
        .sum(),
    )(randn([10, 4], 26)),
  );
  assert.throws(() => tf.tidy(() => tf.gather(randn([4, 3], 27), tf.tensor1d([4], 'int32'))), /index value 4/);
});

test('fused layer norm, GELU, cross-entropy and attention agree with their composite reference (values and gradients)', async () => {
  const x = () => randn([37, 24], 31, 3, 1);
  await agree('layerNorm', () => layerNorm(x() as tf.Tensor2D, randn([24], 32), randn([24], 33)));
  await agree('layerNorm grads', () =>
    tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      layerNorm(a as tf.Tensor2D, g, b)
        .mul(randn([37, 24], 34))
        .sum(),
    )([x(), randn([24], 32), randn([24], 33)]),
  );
  await agree('gelu', () => gelu(x()));
  // lengths below 4 and not multiples of 4 (vector tail), and the exp clamps at large |x|
  await agree('gelu odd sizes', () => [gelu(randn([3], 40, 2)), gelu(randn([5, 7], 41, 2)), gelu(tf.tensor1d([-100, -20, -5, 0, 5, 20, 100]))]);
  await agree('gelu grad', () =>
    tf.grad((a: tf.Tensor) =>
      gelu(a)
        .mul(randn([37, 24], 35))
        .sum(),
    )(x()),
  );
  const tg = () => tf.tensor1d([0, 5, 9, 3, 3, 2, 1], 'int32'),
    wt = () => tf.tensor1d([1, 0, 1, 0.5, 1, 1, 2]);
  await agree('cross-entropy', () => softmaxCrossEntropy(randn([7, 10], 36, 4) as tf.Tensor2D, tg(), wt()));
  await agree('cross-entropy grad', () => tf.grad((a: tf.Tensor) => softmaxCrossEntropy(a as tf.Tensor2D, tg(), wt()).mul(3))(randn([7, 10], 36, 4)));
  await agree('cross-entropy, extreme logits', () =>
    softmaxCrossEntropy(
      tf.tensor2d([
        [200, -200, 0],
        [0, 0, 0],
      ]),
      tf.tensor1d([1, 2], 'int32'),
      tf.tensor1d([1, 1]),
    ),
  );
  await agree('cross-entropy, all weights 0', () =>
    softmaxCrossEntropy(randn([3, 5], 37) as tf.Tensor2D, tf.tensor1d([1, 2, 0], 'int32'), tf.zeros([3]) as tf.Tensor1D),
  );
  // T ≥ 96 exercises the causal row blocks (uneven at 150 and 200)
  for (const [B, T, H, hd] of [
    [2, 5, 2, 3],
    [3, 17, 4, 8],
    [1, 33, 3, 5],
    [2, 1, 2, 4],
    [1, 150, 2, 4],
    [2, 200, 2, 3],
    [1, 256, 1, 8],
  ]) {
    const d = H * hd;
    await agree(`attention ${B},${T},${H},${hd}`, () => causalSelfAttention(randn([B * T, 3 * d], 38) as tf.Tensor2D, B, H));
    await agree(`attention grad ${B},${T},${H},${hd}`, () =>
      tf.grad((a: tf.Tensor) =>
        causalSelfAttention(a as tf.Tensor2D, B, H)
          .mul(randn([B * T, d], 39))
          .sum(),
      )(randn([B * T, 3 * d], 38)),
    );
  }
});

// ---- the model ----

const tiny: GptConfig = { vocabSize: 11, nCtx: 8, nEmbd: 12, nLayer: 2, nHead: 3 };

/** Parameters with every entry away from its initial value, as plain tensors (any backend). */
function tensorParams(c: GptConfig, seed: number): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  let k = 0;
  for (const [name, shape] of parameterShapes(c)) {
    const isGain = /ln_[12f]?\.weight$|ln_f\.weight$/.test(name);
    out.set(name, randn(shape, seed * 1000 + k++, shape.length === 1 ? 0.2 : 0.3, isGain ? 1 : 0));
  }
  return out;
}
const tokensOf = () =>
  tf.tensor2d(
    [
      [1, 4, 7, 2, 9],
      [3, 3, 10, 0, 5],
    ],
    [2, 5],
    'int32',
  );
const targetsOf = () => tf.tensor1d([4, 7, 2, 9, 1, 3, 10, 0, 5, 6], 'int32');
const weightsOf = () => tf.tensor1d([1, 1, 0, 1, 1, 1, 1, 1, 0.5, 1]);

function lossWith(c: GptConfig, names: string[], ts: tf.Tensor[]): tf.Scalar {
  const params = new Map(names.map((n, i) => [n, ts[i]])) as unknown as Params;
  const { logits } = forward(c, params, tokensOf() as tf.Tensor2D);
  return maskedCrossEntropy(logits, targetsOf() as tf.Tensor1D, weightsOf() as tf.Tensor1D);
}

test('model: gradients agree with the cpu reference path for every parameter', async () => {
  const names = parameterShapes(tiny).map(([n]) => n);
  const grads = () => {
    const ps = tensorParams(tiny, 5);
    const { value, grads: gs } = tf.valueAndGrads((...ts: tf.Tensor[]) => lossWith(tiny, names, ts))(names.map((n) => ps.get(n)!));
    return [value, ...gs];
  };
  const [w, c] = [await on('wasm', grads), await on('cpu', grads)];
  for (let i = 0; i < w.length; i++) {
    const { diff, scale } = maxDiff([w[i]], [c[i]]);
    assert.ok(diff <= 2e-5 * Math.max(1, scale), `${i === 0 ? 'loss' : names[i - 1]}: wasm vs cpu differ by ${diff}`);
  }
});

test('model: gradient check against central finite differences (float32)', () => {
  const names = parameterShapes(tiny).map(([n]) => n);
  const ps = tensorParams(tiny, 6);
  const base = names.map((n) => ps.get(n)!);
  const analytic = tf
    .grads((...ts: tf.Tensor[]) => lossWith(tiny, names, ts))(base)
    .map((g) => g.dataSync() as Float32Array);
  const probes: [string, number][] = [
    ['wte.weight', 4 * 12 + 3],
    ['wte.weight', 6 * 12 + 1],
    ['wpe.weight', 2 * 12 + 5],
    ['h.0.ln_1.weight', 2],
    ['h.0.ln_1.bias', 7],
    ['h.0.attn.c_attn.weight', 5 * 36 + 2],
    ['h.0.attn.c_attn.weight', 3 * 36 + 14],
    ['h.0.attn.c_attn.weight', 7 * 36 + 30],
    ['h.1.attn.c_attn.bias', 20],
    ['h.1.attn.c_proj.weight', 9 * 12 + 4],
    ['h.0.ln_2.bias', 3],
    ['h.1.mlp.c_fc.weight', 10 * 48 + 17],
    ['h.0.mlp.c_fc.bias', 40],
    ['h.1.mlp.c_proj.weight', 30 * 12 + 6],
    ['ln_f.weight', 11],
    ['ln_f.bias', 0],
  ];
  const eps = 1e-2;
  for (const [name, idx] of probes) {
    const pi = names.indexOf(name);
    const vals = base[pi].dataSync() as Float32Array;
    const at = (delta: number) =>
      tf.tidy(() => {
        const v = Float32Array.from(vals);
        v[idx] += delta;
        const ts = base.slice();
        ts[pi] = tf.tensor(v, base[pi].shape);
        return lossWith(tiny, names, ts).dataSync()[0];
      });
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    const an = analytic[pi][idx];
    assert.ok(Math.abs(fd - an) <= 2e-3 + 2e-2 * Math.abs(an), `${name}[${idx}]: analytic ${an}, finite difference ${fd}`);
  }
  tf.dispose(base);
});

test('model: steering adds its vector; collectResiduals returns nLayer + 1 tensors; logitRows picks rows', () => {
  tf.tidy(() => {
    const ps = tensorParams(tiny, 7) as unknown as Params;
    const tokens = tokensOf() as tf.Tensor2D;
    const vec = normal(tiny.nEmbd, 8);
    const plain = forward(tiny, ps, tokens, { collectResiduals: true });
    assert.equal(plain.residuals!.length, tiny.nLayer + 1);
    for (const r of plain.residuals!) assert.deepEqual(r.shape, [10, tiny.nEmbd]);
    assert.deepEqual(plain.logits.shape, [10, tiny.vocabSize]);
    for (const layer of [0, 1, 2]) {
      const steered = forward(tiny, ps, tokens, { collectResiduals: true, steering: [{ layer, vector: vec, coefficient: 2.5 }] });
      // Before the steered layer nothing changes; at it, every row moves by exactly 2.5 · vec.
      for (let l = 0; l < layer; l++) assert.deepEqual(steered.residuals![l].dataSync(), plain.residuals![l].dataSync());
      const diff = steered.residuals![layer].sub(plain.residuals![layer]).arraySync() as number[][];
      for (const row of diff)
        row.forEach((v, j) => assert.ok(Math.abs(v - 2.5 * vec[j]) < 1e-4, `layer ${layer}: row moved by ${v}, expected ${2.5 * vec[j]}`));
      assert.ok(steered.logits.sub(plain.logits).abs().max().dataSync()[0] > 1e-4, 'steering changed nothing downstream');
    }
    // tensor vectors work too
    const viaTensor = forward(tiny, ps, tokens, { steering: [{ layer: 1, vector: tf.tensor1d(vec), coefficient: 2.5 }] }).logits;
    const viaArray = forward(tiny, ps, tokens, { steering: [{ layer: 1, vector: Array.from(vec), coefficient: 2.5 }] }).logits;
    assert.ok(viaTensor.sub(viaArray).abs().max().dataSync()[0] < 1e-6);
    const rows = forward(tiny, ps, tokens, { logitRows: tf.tensor1d([4, 9, 0], 'int32') }).logits;
    const all = plain.logits.arraySync() as number[][];
    const picked = rows.arraySync() as number[][];
    [4, 9, 0].forEach((r, i) => picked[i].forEach((v, j) => assert.ok(Math.abs(v - all[r][j]) < 1e-5)));
  });
});

test('model: initParams/countParameters match the shapes; a training step leaks no tensors', () => {
  const c: GptConfig = { vocabSize: 50, nCtx: 16, nEmbd: 16, nLayer: 2, nHead: 2 };
  const params = initParams(c, 3);
  assert.equal(
    countParameters(c),
    [...params.values()].reduce((n, v) => n + v.size, 0),
  );
  const vars = [...params.values()];
  const opt = tf.train.adam(1e-3);
  const step = () => {
    const tokens = tf.tensor2d(
      Array.from({ length: 2 * 16 }, (_, i) => (i * 7) % 50),
      [2, 16],
      'int32',
    );
    const targets = tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => (i * 3) % 50),
      'int32',
    );
    const weights = tf.ones([32]) as tf.Tensor1D;
    const { value, grads } = tf.variableGrads(() => maskedCrossEntropy(forward(c, params, tokens).logits, targets, weights), vars);
    opt.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
    const loss = value.dataSync()[0];
    tf.dispose([value, tokens, targets, weights]);
    tf.dispose(Object.values(grads));
    return loss;
  };
  const first = step();
  const n = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 5; i++) last = step();
  assert.equal(tf.memory().numTensors, n, 'tensors leaked per step');
  assert.ok(last < first, `loss did not go down: ${first} -> ${last}`);
  for (const v of vars) v.dispose();
  opt.dispose();
});
