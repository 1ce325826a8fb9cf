/**
 * Token strings as OpenAI clients read them. A client joins the returned tokens to rebuild the text,
 * and reads `text_offset` as where each token (with the whitespace before it) begins. Byte-level
 * backends already return such pieces (" the"); the organism's tokenizer is word level and its tokens
 * are bare words ("the", "american", "robin", "."), the spaces being put back when it joins them. So the
 * server cuts the text it returns into one piece per token, each piece carrying the whitespace before
 * its word: joined they are the text exactly, whatever the backend.
 */

export interface Pieces {
  /** One per token; `pieces.join('') === text`. */
  pieces: string[];
  /** Where each piece starts in the text. */
  offsets: number[];
  /** The whitespace each piece carries before its token (for the token's alternatives). */
  leads: string[];
}

/**
 * Cuts `text` into one piece per token. Each token is looked for from where the last one ended, past
 * whitespace only; a token that is not there as written (an `<unk>`, a word the tokenizer rewrote, text
 * cut short by a stop string) takes the next whitespace-delimited run instead, and what is left at the
 * end goes to the last piece, so the pieces always join to the text.
 */
export function tokenPieces(text: string, tokens: readonly string[]): Pieces {
  const lower = text.toLowerCase();
  const pieces: string[] = [],
    offsets: number[] = [],
    leads: string[] = [];
  let cursor = 0;
  for (const token of tokens) {
    const start = cursor;
    let k = cursor;
    while (k < text.length && /\s/.test(text[k])) k++;
    const lead = text.slice(start, k);
    const t = token.toLowerCase();
    let end: number;
    if (t && lower.startsWith(t, start)) end = start + t.length;
    else if (t && lower.startsWith(t.trimStart(), k)) end = k + t.trimStart().length;
    else {
      end = k;
      while (end < text.length && !/\s/.test(text[end])) end++;
    }
    pieces.push(text.slice(start, end));
    offsets.push(start);
    leads.push(token.startsWith(lead) ? '' : lead);
    cursor = end;
  }
  if (pieces.length && cursor < text.length) pieces[pieces.length - 1] += text.slice(cursor);
  return { pieces, offsets, leads };
}

/** Text in pieces for streaming when the backend gave no tokens: each word with the whitespace before it. */
export function wordPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}
