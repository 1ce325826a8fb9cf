/**
 * Chat datasets in the OpenAI `messages` JSONL format (the format of the published fine-tuning sets),
 * turned into training rows with the loss on assistant tokens only.
 */
import type { Row } from './batches.ts';
import type { Tokenizer } from './tokenizer.ts';
import type { Chat } from '../shared/chat.ts';

export type OovPolicy = 'unk' | 'skip' | 'error';

export interface ChatRowsResult {
  rows: Row[];
  /** Each out-of-vocabulary word and how often it occurred. */
  unknownWords: Map<string, number>;
  skipped: number;
  truncated: number;
  /** Answer tokens (assistant replies, without their closing `<end>`), and how many of them are `<unk>`. */
  answerTokens: number;
  unknownAnswerTokens: number;
  /** Special-token strings in the messages (e.g. `<END>`), split into ordinary tokens. */
  escaped: number;
}

/** The share of answer tokens lost as `<unk>` (0 for no answers). */
export function unknownShare(r: { answerTokens: number; unknownAnswerTokens: number }): number {
  return r.answerTokens > 0 ? r.unknownAnswerTokens / r.answerTokens : 0;
}

/**
 * Encode chats as rows whose loss counts only assistant tokens. Out-of-vocabulary words are counted and,
 * by policy, kept as `<unk>` (default), make their chat be skipped, or fail the run.
 */
export function chatRows(chats: readonly Chat[], tok: Tokenizer, nCtx: number, oov: OovPolicy = 'unk'): ChatRowsResult {
  const unknownWords = new Map<string, number>();
  const rows: Row[] = [];
  let skipped = 0,
    truncated = 0,
    answerTokens = 0,
    unknownAnswerTokens = 0,
    escaped = 0;
  const unk = tok.id('<unk>'),
    end = tok.id('<end>');
  chats.forEach((chat, i) => {
    const enc = tok.encodeChat(chat.messages);
    escaped += enc.escaped;
    enc.ids.forEach((id, k) => {
      if (!enc.assistantMask[k] || id === end) return;
      answerTokens++;
      if (id === unk) unknownAnswerTokens++;
    });
    for (const w of enc.unknown) unknownWords.set(w, (unknownWords.get(w) ?? 0) + 1);
    if (enc.unknown.length > 0) {
      if (oov === 'error') throw new Error(`chat ${i + 1}: words outside the organism's vocabulary: ${[...new Set(enc.unknown)].join(', ')}`);
      if (oov === 'skip') {
        skipped++;
        return;
      }
    }
    let ids = enc.ids,
      mask = enc.assistantMask;
    if (ids.length > nCtx + 1) {
      ids = ids.slice(0, nCtx + 1);
      mask = mask.slice(0, nCtx + 1);
      truncated++;
    }
    rows.push({ ids, targetWeights: mask.slice(1) });
  });
  return { rows, unknownWords, skipped, truncated, answerTokens, unknownAnswerTokens, escaped };
}

/** Seeded epoch-wise shuffling row source: every row once per epoch, in a new order each epoch. */
export function epochSampler<T>(items: readonly T[], rng: () => number): (count: number) => T[] {
  let order: number[] = [];
  let at = 0;
  const reshuffle = () => {
    order = items.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    at = 0;
  };
  reshuffle();
  return (count) =>
    Array.from({ length: count }, () => {
      if (at >= order.length) reshuffle();
      return items[order[at++]];
    });
}
