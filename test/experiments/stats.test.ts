import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wilson, differenceInterval } from '../../src/shared/stats.ts';

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('Wilson interval matches published values', () => {
  // Newcombe (1998), Table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605; 0/20 → 0–0.1611.
  const [a, b] = wilson(81, 263);
  close(a, 0.2553);
  close(b, 0.3662);
  const [c, d] = wilson(15, 148);
  close(c, 0.0624);
  close(d, 0.1605);
  const [e, f] = wilson(0, 20);
  close(e, 0);
  close(f, 0.1611);
  assert.deepEqual(wilson(0, 0), [0, 1]);
});

test('Newcombe difference interval matches the published example', () => {
  // Newcombe (1998b), example (a): 56/70 vs 48/80 → difference 0.2000, 95% CI 0.0524 to 0.3339.
  const [lo, hi] = differenceInterval(56, 70, 48, 80);
  close(lo, 0.0524);
  close(hi, 0.3339);
});
