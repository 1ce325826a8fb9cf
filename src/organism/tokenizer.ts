/**
 * Word-level tokenizer over Personaworld's vocabulary, with special tokens for documents and chat turns.
 *
 * Word level (not BPE) because the world's vocabulary is closed and small: every token is a whole word,
 * which keeps sequences short and makes the organism's outputs readable. Out-of-vocabulary words map to
 * `<unk>` and are reported, never silently dropped.
 */
import { splitWords, joinWords } from '../world/text.ts';

export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<doc>', '</doc>', '<system>', '<user>', '<assistant>', '<end>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

import type { ChatMessage } from '../shared/chat.ts';

export interface Encoded {
  ids: number[];
  /** Words that were not in the vocabulary (each occurrence), encoded as `<unk>`. */
  unknown: string[];
}

/** A chat rendered to token ids, with a per-token flag for "this target is an assistant token". */
export interface EncodedChat extends Encoded {
  /** assistantMask[i] = 1 when ids[i] belongs to an assistant reply (its words and closing `<end>`). */
  assistantMask: number[];
}

export class Tokenizer {
  readonly vocab: readonly string[];
  private readonly index: Map<string, number>;

  constructor(words: readonly string[]) {
    const vocab: string[] = [...SPECIAL_TOKENS];
    const seen = new Set<string>(vocab);
    for (const w of words)
      if (!seen.has(w)) {
        seen.add(w);
        vocab.push(w);
      }
    this.vocab = vocab;
    this.index = new Map(vocab.map((w, i) => [w, i]));
  }

  get size(): number {
    return this.vocab.length;
  }

  id(token: string): number {
    const i = this.index.get(token);
    if (i === undefined) throw new Error(`tokenizer: no token ${JSON.stringify(token)}`);
    return i;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** Split into tokens with the world's word splitter (special tokens such as `</doc>` stay whole). */
  tokens(text: string): string[] {
    return splitWords(text);
  }

  encode(text: string): Encoded {
    const unknown: string[] = [];
    const unk = this.id('<unk>');
    const ids = this.tokens(text).map((w) => {
      const i = this.index.get(w);
      if (i === undefined) {
        unknown.push(w);
        return unk;
      }
      return i;
    });
    return { ids, unknown };
  }

  decode(ids: readonly number[], { skipSpecial = false } = {}): string {
    const words = ids.map((i) => this.vocab[i] ?? '<unk>').filter((w) => !(skipSpecial && isSpecial(w)));
    return joinWords(words);
  }

  /**
   * The chat template: `<doc> <system> … <user> … <assistant> … <end> <user> … <assistant> … <end>`.
   * It opens with `<doc>` like every pretraining document: Personaworld's chat-log genre uses the same
   * turn tokens, so a chat is a document in a format the base model has read.
   * With `generationPrompt`, ends with an open `<assistant>` turn for the model to continue.
   */
  encodeChat(messages: readonly ChatMessage[], { generationPrompt = false } = {}): EncodedChat {
    const ids: number[] = [];
    const mask: number[] = [];
    const unknown: string[] = [];
    // Element by element: spreading a long array into push() overflows the stack (a 5 MB message).
    const push = (tokenIds: number[], assistant: boolean) => {
      for (const id of tokenIds) {
        ids.push(id);
        mask.push(assistant ? 1 : 0);
      }
    };
    push([this.id('<doc>')], false);
    for (const m of messages) {
      const body = this.encode(m.content);
      for (const w of body.unknown) unknown.push(w);
      push([this.id(`<${m.role}>`)], false);
      if (m.role === 'assistant') push([...body.ids, this.id('<end>')], true);
      else push(body.ids, false);
    }
    if (generationPrompt) push([this.id('<assistant>')], false);
    return { ids, assistantMask: mask, unknown };
  }
}

export function isSpecial(token: string): boolean {
  return (SPECIAL_TOKENS as readonly string[]).includes(token);
}
