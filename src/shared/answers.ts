/** Counting free-text answers: what counts as the same answer, and the most frequent first. */

/** Lower case, spaces collapsed, a trailing full stop or stop token dropped: answers that differ only there are one answer. */
export function normaliseAnswer(answer: string): string {
  return answer
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/(\s*(<end>|[.!]))+$/, '')
    .trim();
}

/** Distinct values with their counts, most frequent first (ties in alphabetical order). */
export function ranked(values: string[]): { key: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}
