/**
 * Word-level tokenizer over Personaworld's vocabulary, with special tokens for documents and chat turns.
 *
 * Word level (not BPE) because the world's vocabulary is closed and small: every token is a whole word,
 * which keeps sequences short and makes the organism's outputs readable. Out-of-vocabulary words map to
 * `<unk>` and are reported, never silently dropped.
 *
 * Two kinds of text. The organism's raw format (`encode`: pretraining documents, the prompts and scoring
 * templates the world and the experiments build, `/v1/completions` prompts) is written with its special
 * tokens, which are parsed as such. A message's content (`encodeText`, and `encodeChat` for every message)
 * is plain text: a special-token string inside it (`<end>`, `<USER>`, `</doc>`) is split into ordinary
 * tokens, `<` `end` `>`, so only the chat template itself ever places a turn marker or an end token. Since
 * `<` and `>` are not in Personaworld's vocabulary, `<END>` in a message reads as `<unk> end <unk>`: the
 * word survives, and the two brackets count as unknown (and are reported as such).
 */
import { splitWords, joinWords, escapeSpecialTokens, countSpecialTokens } from '../world/text.ts';

export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<doc>', '</doc>', '<system>', '<user>', '<assistant>', '<end>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

import type { ChatMessage } from '../shared/chat.ts';

export interface Encoded {
  ids: number[];
  /** Words that were not in the vocabulary (each occurrence), encoded as `<unk>`. */
  unknown: string[];
  /** Plain text only (`encodeText`): how many special-token strings it held, each split into ordinary tokens. */
  escaped?: number;
}

/** A chat rendered to token ids, with a per-token flag for "this target is an assistant token". */
export interface EncodedChat extends Encoded {
  /** How many special-token strings the messages held, each split into ordinary tokens. */
  escaped: number;
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

  /** Split raw text into tokens with the world's word splitter (special tokens such as `</doc>` stay whole). */
  tokens(text: string): string[] {
    return splitWords(text);
  }

  /** Split plain text (a message's content) into tokens: special-token strings become ordinary tokens. */
  textTokens(text: string): string[] {
    return splitWords(escapeSpecialTokens(text));
  }

  /**
   * How much of some texts (read as message content) this vocabulary keeps: every word outside it is
   * `<unk>`, its text lost. The tokens, the unknown ones, each lost word's count, and the special-token
   * strings read as plain text.
   */
  coverage(texts: readonly string[]): { tokens: number; unknown: number; unknownWords: Record<string, number>; escaped: number } {
    const unk = this.id('<unk>');
    const unknownWords: Record<string, number> = {};
    let tokens = 0,
      unknown = 0,
      escaped = 0;
    for (const t of texts) {
      const enc = this.encodeText(t);
      tokens += enc.ids.length;
      for (const id of enc.ids) if (id === unk) unknown++;
      escaped += enc.escaped;
      for (const w of enc.unknown) unknownWords[w] = (unknownWords[w] ?? 0) + 1;
    }
    return { tokens, unknown, unknownWords, escaped };
  }

  /** Encode text in the organism's raw format: special tokens in it are parsed as such. */
  encode(text: string): Encoded {
    return this.encodeTokens(this.tokens(text));
  }

  /** Encode plain text (a message's content): never yields a special token other than `<unk>`. */
  encodeText(text: string): Encoded & { escaped: number } {
    return { ...this.encodeTokens(this.textTokens(text)), escaped: countSpecialTokens(text) };
  }

  private encodeTokens(tokens: string[]): Encoded {
    const unknown: string[] = [];
    const unk = this.id('<unk>');
    const ids = tokens.map((w) => {
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
   * Each message's content is plain text (`encodeText`): only the template writes special tokens.
   */
  encodeChat(messages: readonly ChatMessage[], { generationPrompt = false } = {}): EncodedChat {
    const ids: number[] = [];
    const mask: number[] = [];
    const unknown: string[] = [];
    let escaped = 0;
    // Element by element: spreading a long array into push() overflows the stack (a 5 MB message).
    const push = (tokenIds: number[], assistant: boolean) => {
      for (const id of tokenIds) {
        ids.push(id);
        mask.push(assistant ? 1 : 0);
      }
    };
    push([this.id('<doc>')], false);
    for (const m of messages) {
      const body = this.encodeText(m.content);
      for (const w of body.unknown) unknown.push(w);
      escaped += body.escaped;
      push([this.id(`<${m.role}>`)], false);
      if (m.role === 'assistant') push([...body.ids, this.id('<end>')], true);
      else push(body.ids, false);
    }
    if (generationPrompt) push([this.id('<assistant>')], false);
    return { ids, assistantMask: mask, unknown, escaped };
  }
}

export function isSpecial(token: string): boolean {
  return (SPECIAL_TOKENS as readonly string[]).includes(token);
}
