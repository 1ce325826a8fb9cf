/**
 * The profile kind's reading of a condition's answers: per question, the distribution of labels, its
 * entropy, the modal label and the most frequent answers (what the model fills in).
 */
import { entropyBits } from '../../../world/index.ts';
import { normaliseAnswer, ranked } from '../../../shared/answers.ts';
import { countRate, type RateResult } from '../../result.ts';

/** What one question drew from the model. */
export interface QuestionProfile extends RateResult {
  id: string;
  n: number;
  /** Labels by count, most frequent first. */
  distribution: { label: string; count: number }[];
  entropyBits: number;
  modal: string;
  /** The most frequent answers, normalised (lower case, spaces collapsed): the filled-in details. */
  topAnswers: { answer: string; count: number }[];
}

export function profileQuestion(id: string, items: { label: string; answer: string }[]): QuestionProfile {
  const dist = ranked(items.map((i) => i.label));
  const answers = ranked(items.map((i) => normaliseAnswer(i.answer)));
  const modalCount = dist[0]?.count ?? 0;
  return {
    id,
    ...countRate(modalCount, items.length),
    distribution: dist.map((d) => ({ label: d.key, count: d.count })),
    entropyBits: entropyBits(dist.map((d) => d.count)),
    modal: dist[0]?.key ?? '',
    topAnswers: answers.slice(0, 5).map((a) => ({ answer: a.key, count: a.count })),
  };
}
