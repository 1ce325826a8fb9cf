/**
 * Text conventions shared by personaworld and the organism's tokenizer.
 *
 * All world text is lowercase ASCII. A text is a sequence of tokens:
 * special tokens (`<doc>`, `</doc>`, `<user>` ...), words (optionally with one
 * inner apostrophe, e.g. `i've`), digit runs, and single punctuation chars.
 * Every text the world emits is in canonical form, i.e.
 * `joinWords(splitWords(t)) === t`.
 *
 * Note: the token pattern accepts an optional `/` after `<` so that closing
 * tags such as `</doc>` are one token (the pattern `<[a-z_]+>` would
 * split `</doc>` into four tokens and break the round trip).
 */

/**
 * Token pattern (global). Special tokens, words, numbers, single punctuation. Unicode-aware (`u`): any
 * other character is one token per code point, so an emoji is one (unknown) token, never two lone
 * surrogate halves.
 */
export const TOKEN_PATTERN = /<\/?[a-z_]+>|[a-z]+(?:'[a-z]+)?|[0-9]+|[^\sa-z0-9]/gu;

/** Tokens never preceded by a space when joined. */
export const NO_SPACE_BEFORE: ReadonlySet<string> = new Set(['.', ',', '?', '!', ':', ';', ')']);
/** Tokens never followed by a space when joined. */
export const NO_SPACE_AFTER: ReadonlySet<string> = new Set(['(']);

/** Lowercase `text` and split it into tokens (see {@link TOKEN_PATTERN}). */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(TOKEN_PATTERN) ?? [];
}

/** A special-token string anywhere in a text (`<end>`, `</doc>`, `<END>` once lowercased). */
const SPECIAL_IN_TEXT = /<(\/?[a-z_]+)>/g;

/**
 * A text whose special-token strings are split into ordinary tokens: `<end>` becomes `< end >` (the
 * tokens `<`, `end`, `>`), `</doc>` becomes `< /doc >`. Lowercased, as {@link splitWords} would. Text that
 * comes from outside (a message's content, a dataset's answer) goes through this before it is placed in
 * the organism's raw format, so only the template itself ever writes a turn marker or a document bound.
 */
export function escapeSpecialTokens(text: string): string {
  return text.toLowerCase().replace(SPECIAL_IN_TEXT, '< $1 >');
}

/** How many special-token strings a text holds (what {@link escapeSpecialTokens} splits). */
export function countSpecialTokens(text: string): number {
  return text.toLowerCase().match(SPECIAL_IN_TEXT)?.length ?? 0;
}

/**
 * Join tokens with single spaces, except no space before `. , ? ! : ; )`
 * and no space after `(`. A tool call in the harness syntax, `{{call name::[arg:"value", b:"v w"]}}`
 * (Personaworld 2's AI characters write them), is joined as written: no spaces inside it except after
 * `call`, after a comma between arguments, and between the words of a quoted value. Version 1 never
 * writes `{`, so its canonical texts are unchanged.
 */
export function joinWords(tokens: readonly string[]): string {
  let out = '';
  let call = false,
    quoted = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!,
      prev = tokens[i - 1];
    let space = i > 0 && !NO_SPACE_BEFORE.has(t) && !NO_SPACE_AFTER.has(prev!);
    if (call) {
      space = quoted ? space && t !== '"' && prev !== '"' : prev === ',' || prev === 'call';
      if (t === '"') quoted = !quoted;
    }
    out += (space ? ' ' : '') + t;
    if (!call && t === '{' && tokens[i + 1] === '{') call = true;
    else if (call && !quoted && t === '}' && prev === '}') call = false;
  }
  return out;
}

/** Canonical form of a text: `joinWords(splitWords(text))`. */
export function normalizeText(text: string): string {
  return joinWords(splitWords(text));
}

/** Number of tokens of `text` under {@link splitWords}. */
export function countTokens(text: string): number {
  return splitWords(text).length;
}

/** True for punctuation tokens (single non-alphanumeric, non-special char). */
export function isPunctuation(token: string): boolean {
  return token.length === 1 && !/[a-z0-9]/.test(token);
}

/** True for special tokens like `<doc>` or `</doc>`. */
export function isSpecialToken(token: string): boolean {
  return /^<\/?[a-z_]+>$/.test(token);
}
