/**
 * Helpers the monitors share: which user turn an assistant turn answers, whether that request asked
 * for fiction or verse (a character's words are not the assistant's own), where quotations lie, and
 * clause boundaries. All single linear passes.
 */
import type { ChatMessage } from '../../shared/chat.ts';

/** The user's text that an assistant turn answers: every user turn since the previous assistant turn. */
export function requestBefore(messages: ChatMessage[], index: number): string {
  const parts: string[] = [];
  for (let i = index - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === 'assistant') break;
    if (m.role === 'user') parts.unshift(m.content);
  }
  return parts.join('\n');
}

/** All user text before a turn (the context: a year the user stated, a test the user announced). */
export function userTextBefore(messages: ChatMessage[], index: number): string {
  let s = '';
  for (let i = 0; i < index; i++) if (messages[i].role === 'user') s += messages[i].content + '\n';
  return s;
}

const FICTION =
  /\b(?:write|compose|draft|tell|create|make up|give me|generate|come up with|continue|finish|sing)\b[^.?!\n]{0,60}\b(?:story|stories|tale|fable|poem|poems|poetry|verse|song|songs|lyrics|ballad|limerick|haiku|sonnet|rap|chant|hymn|anthem|lullaby|nursery rhyme|monologue|soliloquy|dialogue|scene|screenplay|script|play|novel|chapter|diary entry|journal entry|letter from|fan ?fiction|fanfic|character|narrative|speech for|roleplay)\b/i;
const ROLE =
  /\b(?:role-?play|pretend (?:to be|you are|you're)|act as|in character|in the voice of|as if you were|write as|speak as|you are playing|play the (?:role|part) of|stay in character)\b/i;

/** Did the request ask for fiction, verse, a song or a role (whose first-person voice is a character's)? */
export function isCreativeRequest(request: string): boolean {
  return FICTION.test(request) || ROLE.test(request);
}

/** Did the request ask for fiction, verse or a song (not just a role to play)? */
export function isFictionRequest(request: string): boolean {
  return FICTION.test(request);
}

/**
 * The spans of a text inside quotation marks (straight double quotes, curly quotes, guillemets, single
 * quotes) or on `>` blockquote lines, as a sorted list of [start, end) pairs. Unbalanced quotes are
 * ignored beyond a line's end, so a stray mark cannot swallow a whole reply. A single quote opens only
 * after a space or an opening bracket and closes only before a non-letter, so apostrophes ("I'm",
 * "users'") inside or around it neither open nor close one.
 */
export function quotedSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const re = /"[^"\n]{1,400}"|“[^”\n]{1,400}”|«[^»\n]{1,400}»|(?<![\w'‘’])['‘](?=[^\s'‘’])(?:[^'‘’\n]|['’](?=\w)){1,300}?(?<=\S)['’](?!\w)|^[ \t]*>[^\n]*/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) spans.push([m.index, m.index + m[0].length]);
  return spans;
}

export function inSpans(spans: Array<[number, number]>, pos: number): boolean {
  for (const [a, b] of spans) {
    if (pos < a) return false;
    if (pos < b) return true;
  }
  return false;
}

/** The start of the clause holding `pos`: after the last sentence end, semicolon, colon or newline before it. */
export function clauseStart(text: string, pos: number, max = 200): number {
  const lo = Math.max(0, pos - max);
  for (let i = pos - 1; i >= lo; i--) {
    const c = text.charCodeAt(i);
    // . ! ? ; : newline
    if (c === 46 || c === 33 || c === 63 || c === 59 || c === 10) {
      if (c === 46 && i > 0 && i + 1 < text.length && /\d/.test(text[i - 1]) && /\d/.test(text[i + 1])) continue; // 3.5
      return i + 1;
    }
  }
  return lo;
}

/** The start of the sentence holding `pos`: after the last sentence end (a stop followed by a space) or newline before it. */
export function sentenceStart(text: string, pos: number, max = 300): number {
  const lo = Math.max(0, pos - max);
  for (let i = pos - 1; i >= lo; i--) {
    const c = text.charCodeAt(i);
    if (c === 10) return i + 1;
    if ((c === 46 || c === 33 || c === 63) && i + 1 < text.length && /\s/.test(text[i + 1])) return i + 1;
  }
  return lo;
}

/** The end of the sentence holding `pos`. */
export function sentenceEnd(text: string, pos: number, max = 300): number {
  const hi = Math.min(text.length, pos + max);
  for (let i = pos; i < hi; i++) {
    const c = text.charCodeAt(i);
    if ((c === 46 || c === 33 || c === 63) && (i + 1 >= text.length || /\s/.test(text[i + 1]))) return i + 1;
    if (c === 10) return i;
  }
  return hi;
}

/** A short excerpt for evidence: at most `max` characters, with an ellipsis when cut. */
export function excerpt(s: string, max = 120): string {
  const t = (s.length > max * 2 ? s.slice(0, max * 2) : s).replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : t.slice(0, max - 1) + '…';
}

/** The top-level alternatives of a regex source (`a|b(c|d)|[|]` → `a`, `b(c|d)`, `[|]`). */
function topAlternatives(src: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let cur = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      cur += c + (src[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      cur += c;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === '|' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

/**
 * The same alternation with its alternatives grouped by their first letter (`fail|fraud|disgrace` →
 * `f(?:ail|raud)|d(?:isgrace)`), for a case-insensitive regex: the engine then tries one group at each
 * position instead of every word, a few times faster on long replies. Alternatives that start with
 * anything but a plain letter stay as they are; the order within a letter is kept, so the same text
 * gives the same matches.
 */
export function factorAlternatives(src: string): string {
  const groups = new Map<string, string[]>();
  for (const alt of topAlternatives(src)) {
    const letter = /^[A-Za-z](?![?*+{])/.test(alt) ? alt[0].toLowerCase() : null;
    const key = letter ?? `\u0000${groups.size}`;
    const list = groups.get(key) ?? [];
    list.push(letter ? alt.slice(1) : alt);
    groups.set(key, list);
  }
  return [...groups].map(([k, alts]) => (k.length === 1 ? `${k}(?:${alts.join('|')})` : alts[0])).join('|');
}
