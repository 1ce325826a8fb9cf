/** The runs list's headline: the main effect (the largest whose interval excludes zero), not the first. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headline } from '../../src/view/queries.ts';
import type { ExperimentResult } from '../../src/experiments/result.ts';

const result = (effects: { condition: string; difference: number; ci: [number, number] }[]) =>
  ({ target: 'evil', conditions: [], effects: effects.map((e) => ({ ...e, against: 'base' })) }) as unknown as ExperimentResult;

test('headline: the largest clear effect wins over the first and over a larger unclear one', () => {
  const h = headline(
    result([
      { condition: 'small', difference: 0.02, ci: [0.01, 0.03] },
      { condition: 'big', difference: 0.3, ci: [0.2, 0.4] },
      { condition: 'noisy', difference: -0.5, ci: [-0.9, 0.1] },
    ]),
  );
  assert.equal(h, 'big − base: +30.0% [20.0%, 40.0%]');
});

test('headline: with no clear effect, the largest one; with no effects, the rates', () => {
  assert.match(
    headline(
      result([
        { condition: 'a', difference: 0.01, ci: [-0.1, 0.1] },
        { condition: 'b', difference: -0.05, ci: [-0.2, 0.1] },
      ]),
    )!,
    /^b − base: -?−?/,
  );
  assert.equal(headline(null), null);
});
