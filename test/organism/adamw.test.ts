/**
 * The fused AdamW kernel (kernels/adamw.ts) against the tf-op chain it replaced: bitwise the same new
 * weights and moments, for sizes with and without a SIMD tail, clipped and unclipped, with and
 * without weight decay.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/organism/backend.ts';
import { adamwRef, adamwStep } from '../../src/organism/kernels/adamw.ts';
import { fast } from '../../src/organism/kernels/custom-op.ts';

before(async () => {
  await initTf();
});

test('the fused AdamW step equals the tf-op chain bit for bit', () => {
  assert.ok(fast(), 'the fused kernels are registered on wasm');
  let k = 0;
  for (const shape of [[7], [96], [5, 13], [96, 384]]) {
    for (const scale of [1, 0.37]) {
      for (const wd of [0, 0.1]) {
        const [v, g, m] = [0, 1, 2].map((i) => tf.randomNormal(shape, 0, 1, 'float32', 100 + k * 3 + i));
        const s = tf.randomUniform(shape, 0, 2, 'float32', 900 + k++);
        const h = { scale, beta1: 0.9, beta2: 0.95, bc1: 1 - 0.9 ** 7, bc2: 1 - 0.95 ** 7, eps: 1e-8, wd, lr: 3e-3 };
        const fused = adamwStep(v, g, m, s, h).map((t) => t.dataSync());
        const ref = adamwRef(v, g, m, s, h).map((t) => t.dataSync());
        for (let j = 0; j < 3; j++)
          assert.deepEqual(
            Buffer.from(fused[j].buffer, fused[j].byteOffset, fused[j].byteLength),
            Buffer.from(ref[j].buffer, ref[j].byteOffset, ref[j].byteLength),
            `${['v', 'm', 's'][j]} of shape ${shape}, scale ${scale}, wd ${wd}`,
          );
        // and the step moved the weights
        assert.ok(Math.abs(fused[0][0] - v.dataSync()[0]) > 0);
      }
    }
  }
});
