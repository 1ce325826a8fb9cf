/**
 * The profile kind's reading of a condition's answers: per question, the distribution of labels, its
 * entropy, the modal label and the most frequent answers (what the model fills in).
 */
import { entropyBits } from '../world/index.ts';
import { countRate, type QuestionProfile } from './result.ts';

/** Lower case, spaces collapsed, a trailing full stop or stop token dropped: answers that differ only there are one answer. */
export function normaliseAnswer(answer: string): string {
  return answer.toLowerCase().replace(/\s+/g, ' ').trim().replace(/(\s*(<end>|[.!]))+$/, '').trim();
}

/** Distinct values with their counts, most frequent first (ties in alphabetical order). */
export function ranked(values: string[]): { key: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

export function profileQuestion(id: string, items: { label: string; answer: string }[]): QuestionProfile {
  const dist = ranked(items.map((i) => i.label));
  const answers = ranked(items.map((i) => normaliseAnswer(i.answer)));
  const modalCount = dist[0]?.count ?? 0;
  return {
    id, ...countRate(modalCount, items.length),
    distribution: dist.map((d) => ({ label: d.key, count: d.count })),
    entropyBits: entropyBits(dist.map((d) => d.count)),
    modal: dist[0]?.key ?? '',
    topAnswers: answers.slice(0, 5).map((a) => ({ answer: a.key, count: a.count })),
  };
}
