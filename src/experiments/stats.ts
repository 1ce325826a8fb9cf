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
  const p1 = n1 ? k1 / n1 : 0, p2 = n2 ? k2 / n2 : 0;
  const [l1, u1] = wilson(k1, n1, z), [l2, u2] = wilson(k2, n2, z);
  const d = p1 - p2;
  return [d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)];
}
