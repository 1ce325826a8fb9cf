/** Bayes' rule over a persona library, shared by the organism's authorship probe, infer and the audit. */

/** P(k | text) from log P(text | k) and the prior P(k) (probabilities). */
export function posterior(logLikelihoods: number[], prior: number[]): number[] {
  const logits = logLikelihoods.map((l, k) => l + Math.log(prior[k]));
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}
