/**
 * Interval estimates for judged rates. Written out because they are a few lines each and the npm
 * statistics packages either lack them or pull in far more than they give.
 */

const Z95 = 1.959963984540054;

/** Wilson score interval for k successes in n trials (good near 0 and 1, unlike the Wald interval). */
export function wilson(k: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Newcombe's hybrid score interval (method 10) for the difference p1 − p2 of two independent
 * proportions, built from the two Wilson intervals.
 */
export function differenceInterval(k1: number, n1: number, k2: number, n2: number, z = Z95): [number, number] {
  const p1 = n1 ? k1 / n1 : 0,
    p2 = n2 ? k2 / n2 : 0;
  const [l1, u1] = wilson(k1, n1, z),
    [l2, u2] = wilson(k2, n2, z);
  const d = p1 - p2;
  return [d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)];
}

/**
 * Area under the ROC curve of scores separating positives from negatives (the Mann–Whitney U
 * statistic, ties counted half), with the Hanley–McNeil 95% interval.
 */
export function auc(positives: number[], negatives: number[]): { auc: number; ci: [number, number] } {
  const n1 = positives.length,
    n2 = negatives.length;
  if (n1 === 0 || n2 === 0) throw new Error('auc: needs at least one positive and one negative');
  const all = [...positives.map((s) => ({ s, pos: true })), ...negatives.map((s) => ({ s, pos: false }))].sort((a, b) => a.s - b.s);
  // Mid-ranks handle ties.
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    const mid = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (all[k].pos) rankSum += mid;
    i = j;
  }
  const a = (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * n2);
  const q1 = a / (2 - a),
    q2 = (2 * a * a) / (1 + a);
  const se = Math.sqrt(Math.max(0, (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a)) / (n1 * n2)));
  return { auc: a, ci: [Math.max(0, a - Z95 * se), Math.min(1, a + Z95 * se)] };
}

/** Pearson's r with its 95% interval by Fisher's z (no interval below 4 points). */
export function pearson(x: number[], y: number[]): { r: number; ci: [number, number] | null; n: number } {
  const n = x.length;
  if (n !== y.length) throw new Error(`pearson: ${n} x values, ${y.length} y values`);
  if (n < 2) return { r: NaN, ci: null, n };
  const mx = x.reduce((a, b) => a + b, 0) / n,
    my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  const r = sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
  if (n < 4 || !Number.isFinite(r)) return { r, ci: null, n };
  const z = Math.atanh(Math.max(-0.999999, Math.min(0.999999, r))),
    se = 1 / Math.sqrt(n - 3);
  return { r, ci: [Math.tanh(z - Z95 * se), Math.tanh(z + Z95 * se)], n };
}

/** A mean with its 95% normal-approximation interval (±1.96 standard errors); n < 2 gives the mean as both ends. */
export function meanInterval(xs: number[], z = Z95): { mean: number; ci: [number, number]; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: 0, ci: [0, 0], n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci: [mean, mean], n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (z * sd) / Math.sqrt(n);
  return { mean, ci: [mean - half, mean + half], n };
}
