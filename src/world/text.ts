/**
 * Personaworld's text conventions: lowercase ASCII, words/numbers/punctuation as tokens.
 * Every text the world emits satisfies joinWords(splitWords(t)) === t.
 */
const TOKEN = /<[a-z_]+>|[a-z]+(?:'[a-z]+)?|[0-9]+|[^\sa-z0-9]/g;

/** Lowercase and split into tokens: special tokens, words (with an inner apostrophe), numbers, punctuation. */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

const NO_SPACE_BEFORE = new Set(['.', ',', '?', '!', ':', ';', ')']);

/** Join tokens with single spaces, except none before closing punctuation and none after '('. */
export function joinWords(tokens: readonly string[]): string {
  let out = '';
  for (const [i, t] of tokens.entries()) {
    if (i > 0 && !NO_SPACE_BEFORE.has(t) && tokens[i - 1] !== '(') out += ' ';
    out += t;
  }
  return out;
}
