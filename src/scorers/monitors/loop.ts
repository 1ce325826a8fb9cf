/**
 * `loop`: degenerate repetition in the assistant's replies, by statistics, not a list of phrases.
 *
 * Within a reply (all linear passes over its word tokens and segments):
 * - periodic runs: a unit of 1–40 words repeated back to back (`tok[i] == tok[i-p]` over a run), e.g.
 *   "the the the …" (token) or "I am a disgrace. I am a disgrace. …" (phrase); 8+ repeats of a single
 *   word, or 4+ repeats covering 16+ words, or 3+ covering 36+ words;
 * - segments (sentences, lines, list items, code lines) and paragraphs: the same normalised segment
 *   (3+ words) 3+ times in a row, a paragraph (25+ words) twice in a row, or one segment (4+ words)
 *   5+ times covering 30% of the reply (or 10+ times anywhere);
 * - near-repetition: 60% of a reply's 60+ words covered by word 4-grams that occur 4+ times (loops
 *   whose wording drifts a little each time).
 * Across turns: the same or near-same reply (word 3-gram Jaccard ≥ 0.8) in 3+ assistant turns in a row,
 * or in 2 when the user had said something else in between and the reply is 15+ words.
 *
 * Not a loop: fiction, songs and poems (a request for them, or a reply with a chorus/refrain label,
 * doubles every threshold), lists, tables, counting and code whose items differ (numbers and words
 * differ, so neither runs nor segments repeat), runs of numbers or one-letter tokens (matrices,
 * `[0, 0, 0]`), repetition the user asked for ("repeat X 20 times": fires only when the count overruns
 * what was asked by half again), and text the user gave that the reply quotes back.
 */
import type { ChatMessage } from '../../shared/chat.ts';
import type { Evidence, MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';
import { excerpt, requestBefore } from './text.ts';

export type LoopKind = 'token' | 'phrase' | 'sentence' | 'line' | 'list item' | 'code line' | 'paragraph' | 'near-repetition' | 'turn';

export interface LoopVerdict extends MonitorVerdict {
  unit: string | null;
  count: number;
  kind: LoopKind | null;
}

interface Finding {
  message: number;
  kind: LoopKind;
  unit: string;
  count: number;
  /** Characters the repetition covers (to choose the strongest finding). */
  covered: number;
  spans: Array<[number, number]>;
  /** The normalised unit, to check against the user's text. */
  key: string;
  /** Across turns: the assistant messages that repeat each other. */
  turns?: number[];
}

const MAX_PERIOD = 40;
// Letters and digits of any script (without the slower `u` flag): ASCII, Latin-1 and beyond, less punctuation blocks.
const WORD = /[A-Za-z0-9_\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u1FFF\u2070-\u2FFF\u3040-\uFDFF\uFE70-\uFEFE\uFF10-\uFFEF]+(?:['’][A-Za-z\u00C0-\u1FFF]+)*/g;
const NUMERIC = /^[0-9_]+$/;

interface Tokens {
  ids: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
  n: number;
}

function tokenize(text: string, vocab: Map<string, number>, words: string[]): Tokens {
  const cap = Math.max(16, Math.ceil(text.length / 3));
  let ids = new Int32Array(cap);
  let starts = new Int32Array(cap);
  let ends = new Int32Array(cap);
  let n = 0;
  // Lower-case once (positions stay those of the text unless lower-casing changes its length).
  const lower = text.toLowerCase();
  const same = lower.length === text.length;
  const src = same ? lower : text;
  WORD.lastIndex = 0;
  for (let m = WORD.exec(src); m; m = WORD.exec(src)) {
    if (n === ids.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      ids = grow(ids);
      starts = grow(starts);
      ends = grow(ends);
    }
    const w = same ? m[0] : m[0].toLowerCase();
    let id = vocab.get(w);
    if (id === undefined) {
      id = words.length;
      vocab.set(w, id);
      words.push(w);
    }
    ids[n] = id;
    starts[n] = m.index;
    ends[n] = m.index + m[0].length;
    n++;
  }
  return { ids, starts, ends, n };
}

interface Thresholds {
  tokenRepeats: number;
  phraseRepeats: number;
  phraseWords: number;
  longRepeats: number;
  longWords: number;
  segmentRun: number;
  paragraphRun: number;
  segmentCount: number;
  segmentCoverage: number;
  segmentAny: number;
  ngramCoverage: number;
}

const NORMAL: Thresholds = {
  tokenRepeats: 8,
  phraseRepeats: 4,
  phraseWords: 16,
  longRepeats: 3,
  longWords: 36,
  segmentRun: 3,
  paragraphRun: 2,
  segmentCount: 5,
  segmentCoverage: 0.3,
  segmentAny: 10,
  ngramCoverage: 0.6,
};
const VERSE: Thresholds = {
  tokenRepeats: 16,
  phraseRepeats: 8,
  phraseWords: 32,
  longRepeats: 6,
  longWords: 72,
  segmentRun: 6,
  paragraphRun: 4,
  segmentCount: 12,
  segmentCoverage: 0.5,
  segmentAny: 20,
  ngramCoverage: 0.85,
};

const VERSE_REQUEST =
  /\b(?:songs?|lyrics|poems?|poetry|verses?|chant|rhymes?|refrain|chorus|hymn|anthem|cheer|lullaby|ballad|limerick|haiku|sonnet|rap|mantra|tongue[- ]twister|story|stories|tale|fable)\b/i;
const VERSE_REPLY = /^\s*[[(]?\s*(?:chorus|refrain|hook|bridge|verse \d+|pre-chorus)\b/im;

const NUMBER_WORDS: Record<string, number> = {
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  hundred: 100,
  'a hundred': 100,
  'one hundred': 100,
  thousand: 1000,
  'a thousand': 1000,
};
const TIMES =
  /\b(\d{1,5}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|a hundred|one hundred|hundred|a thousand|thousand)\s+(?:times|copies|repetitions|lines|rows)\b/i;
const REPEAT_ASKED =
  /\b(?:repeat|say|write|print|type|output|echo|chant|copy|spam|list)\b[^.?!\n]{0,80}\b(?:over and over|again and again|forever|endlessly|until (?:i|you)|as many times|nonstop|non-stop|on repeat|in a loop)\b|\bkeep (?:repeating|saying|writing)\b|\brepeat after me\b|\brepeat (?:the (?:word|phrase|line|sentence|text)|it|this|that|yourself)\b/i;

/** What the request asked for: a count of repetitions, unbounded repetition, or none. */
function askedRepeats(request: string): number {
  const m = TIMES.exec(request);
  if (m) {
    const w = m[1].toLowerCase();
    const n = /^\d+$/.test(w) ? Number(w) : NUMBER_WORDS[w];
    if (n >= 2) return n;
  }
  return REPEAT_ASKED.test(request) ? Infinity : 0;
}

function normaliseSegment(s: string): string {
  let t = s.trim().toLowerCase();
  const c = t.charCodeAt(0);
  // - * + • > # or a digit: a list marker or heading to strip.
  if (c === 45 || c === 42 || c === 43 || c === 8226 || c === 62 || c === 35 || (c >= 48 && c <= 57)) t = t.replace(/^(?:[-*+•>]|\d{1,3}[.)]|#{1,6})\s+/, '');
  let e = t.length;
  while (e > 0 && '.,;:!?…- *_'.includes(t[e - 1])) e--;
  return e < t.length ? t.slice(0, e) : t;
}

function wordCount(s: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const space = s.charCodeAt(i) <= 32;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

/** Periodic runs over the word ids: the best (most words covered) back-to-back repetition of a unit. */
function periodicRun(tk: Tokens, words: string[]): { p: number; start: number; covered: number } | null {
  const { ids, n } = tk;
  let best: { p: number; start: number; covered: number } | null = null;
  const maxP = Math.min(MAX_PERIOD, n >> 1);
  const th = NORMAL; // the lowest thresholds: runs shorter than these never fire, so need not be found
  for (let p = 1; p <= maxP; p++) {
    // The shortest run of matches (ids[j] == ids[j - p]) that could fire: any such run holds a multiple of it.
    const minRun = p === 1 ? th.tokenRepeats - 1 : Math.min(Math.max(th.phraseRepeats * p, th.phraseWords), Math.max(th.longRepeats * p, th.longWords)) - p;
    const step = Math.max(1, minRun);
    let bestRun = 0;
    let bestFrom = 0;
    for (let j = p + step - 1; j < n; j += step) {
      if (ids[j] !== ids[j - p]) continue;
      let a = j;
      while (a - 1 >= p && ids[a - 1] === ids[a - 1 - p]) a--;
      let b = j;
      while (b + 1 < n && ids[b + 1] === ids[b + 1 - p]) b++;
      if (b - a + 1 > bestRun) {
        bestRun = b - a + 1;
        bestFrom = a;
      }
      j = b; // continue after the run
    }
    if (bestRun < minRun || bestRun < p) continue;
    const covered = bestRun + p;
    const start = bestFrom - p;
    // A unit of numbers or one-letter tokens only (matrices, [0, 0, 0], "a a a") is not prose.
    let prose = false;
    for (let k = start; k < start + p; k++) {
      const w = words[ids[k]];
      if (w.length > 1 && !NUMERIC.test(w)) {
        prose = true;
        break;
      }
    }
    if (!prose) continue;
    // Prefer the shortest period: a longer one must cover clearly more to win.
    if (!best || covered > best.covered + p) best = { p, start, covered };
  }
  return best;
}

interface Segment {
  start: number;
  end: number;
  key: string;
  words: number;
  kind: LoopKind;
}

const SENTENCE_END = /[.!?…]+(?=\s|$)/g;

function segmentsOf(text: string): { segments: Segment[]; paragraphs: Segment[] } {
  const segments: Segment[] = [];
  const paragraphs: Segment[] = [];
  let inCode = false;
  let pos = 0;
  let paraStart = -1;
  let paraEnd = 0;
  const closePara = () => {
    if (paraStart >= 0) {
      const raw = text.slice(paraStart, paraEnd);
      const key = normaliseSegment(raw);
      if (key) paragraphs.push({ start: paraStart, end: paraEnd, key, words: wordCount(key), kind: 'paragraph' });
    }
    paraStart = -1;
  };
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    const trimmed = line.trim();
    if (trimmed.startsWith('```')) {
      inCode = !inCode;
      closePara();
    } else if (!trimmed) {
      if (!inCode) closePara();
    } else {
      if (paraStart < 0) paraStart = pos;
      paraEnd = nl;
      if (inCode) {
        segments.push({ start: pos, end: nl, key: trimmed.toLowerCase(), words: wordCount(trimmed), kind: 'code line' });
      } else {
        const list = /^\s*(?:[-*+•]|\d{1,3}[.)])\s+/.test(line);
        let s = 0;
        SENTENCE_END.lastIndex = 0;
        const add = (a: number, b: number) => {
          const key = normaliseSegment(line.slice(a, b));
          if (key) segments.push({ start: pos + a, end: pos + b, key, words: wordCount(key), kind: list ? 'list item' : 'sentence' });
        };
        for (let m = SENTENCE_END.exec(line); m; m = SENTENCE_END.exec(line)) {
          const e = m.index + m[0].length;
          add(s, e);
          s = e;
        }
        if (s < line.length) add(s, line.length);
      }
    }
    pos = nl + 1;
  }
  closePara();
  return { segments, paragraphs };
}

function segmentFindings(message: number, text: string, th: Thresholds, out: Finding[]): void {
  const { segments, paragraphs } = segmentsOf(text);
  const scan = (segs: Segment[], minWords: number, runNeeded: number) => {
    let runStart = 0;
    for (let i = 1; i <= segs.length; i++) {
      if (i < segs.length && segs[i].key === segs[i - 1].key) continue;
      const len = i - runStart;
      const s = segs[runStart];
      if (len >= runNeeded && s.words >= minWords) {
        out.push({
          message,
          kind: s.kind,
          unit: excerpt(text.slice(s.start, s.end)),
          count: len,
          covered: segs[i - 1].end - s.start,
          spans: [[s.start, segs[i - 1].end]],
          key: s.key,
        });
      }
      runStart = i;
    }
  };
  scan(
    segments.filter((s) => s.kind !== 'code line'),
    3,
    th.segmentRun,
  );
  // Identical code lines back to back (`import os` five times): 2+ words, 5+ in a row.
  scan(
    segments.filter((s) => s.kind === 'code line'),
    2,
    th.segmentRun + 2,
  );
  scan(paragraphs, 25, th.paragraphRun);
  // The same segment scattered through the reply.
  const counts = new Map<string, { n: number; chars: number; first: Segment; spans: Array<[number, number]> }>();
  for (const s of segments) {
    if (s.words < 3) continue;
    const c = counts.get(s.key);
    if (c) {
      c.n++;
      c.chars += s.end - s.start;
      if (c.spans.length < 5) c.spans.push([s.start, s.end]);
    } else counts.set(s.key, { n: 1, chars: s.end - s.start, first: s, spans: [[s.start, s.end]] });
  }
  const total = Math.max(1, text.length);
  for (const [key, c] of counts) {
    if ((c.n >= th.segmentCount && c.first.words >= 4 && c.chars / total >= th.segmentCoverage) || c.n >= th.segmentAny) {
      out.push({ message, kind: c.first.kind, unit: excerpt(text.slice(c.first.start, c.first.end)), count: c.n, covered: c.chars, spans: c.spans, key });
    }
  }
}

/** A 30-bit hash of up to four word ids (a small integer, so Maps and Sets of them stay fast). */
function mix4(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a + 1, 0x9e3779b1);
  h = Math.imul(h ^ (b + 1), 0x85ebca6b);
  h = Math.imul(h ^ (c + 1), 0xc2b2ae35);
  h = Math.imul(h ^ (d + 1), 0x27d4eb2f);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/** Share of the words covered by word 4-grams that occur 4+ times, and the most frequent 4-gram. */
function ngramCoverage(tk: Tokens): { coverage: number; top: number; topCount: number } {
  const { ids, n } = tk;
  if (n < 8) return { coverage: 0, top: -1, topCount: 0 };
  const keys = new Int32Array(n - 3);
  const counts = new Map<number, number>();
  for (let i = 0; i + 3 < n; i++) {
    const k = mix4(ids[i], ids[i + 1], ids[i + 2], ids[i + 3]);
    keys[i] = k;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  let coveredUntil = -1;
  let covered = 0;
  let top = -1;
  let topCount = 0;
  for (let i = 0; i + 3 < n; i++) {
    const c = counts.get(keys[i])!;
    if (c > topCount) {
      topCount = c;
      top = i;
    }
    if (c >= 4) {
      const from = Math.max(i, coveredUntil + 1);
      covered += i + 3 - from + 1;
      coveredUntil = i + 3;
    }
  }
  return { coverage: covered / n, top, topCount };
}

/** Word 3-gram shingles of a reply (or its normalised text when too short), for cross-turn comparison. */
function shingles(tk: Tokens): Set<number> {
  const s = new Set<number>();
  for (let i = 0; i + 2 < tk.n; i++) s.add(mix4(tk.ids[i], tk.ids[i + 1], tk.ids[i + 2], -1));
  return s;
}

/** A hash of a reply's whole word sequence (with its length, for exact comparison across turns). */
function sequenceKey(tk: Tokens): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < tk.n; i++) h = Math.imul(h ^ tk.ids[i], 0x01000193);
  return `${tk.n}:${h >>> 0}`;
}

function jaccard(a: Set<number>, b: Set<number>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  const [small, large] = a.size < b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

const ASK_AGAIN =
  /\b(?:repeat (?:that|it|yourself|what you (?:said|wrote)|your (?:answer|reply))|say (?:that|it) again|once more|one more time|same (?:answer|thing) again|copy (?:that|it))\b/i;

function occurrences(hay: string, needle: string, cap: number): number {
  if (!needle) return 0;
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0 && n < cap; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

function checkLoop(t: Transcript): LoopVerdict {
  const msgs: ChatMessage[] = t.messages;
  const vocab = new Map<string, number>();
  const words: string[] = [];
  const findings: Finding[] = [];
  let prev: { shingles: Set<number>; key: string; request: string; message: number } | null = null;
  let chain: number[] = [];
  let chainFinding: Finding | null = null;

  for (let mi = 0; mi < msgs.length; mi++) {
    const m = msgs[mi];
    if (m.role !== 'assistant' || !m.content) continue;
    const text = m.content;
    const request = requestBefore(msgs, mi);
    const verse = VERSE_REQUEST.test(request) || VERSE_REPLY.test(text);
    const th = verse ? VERSE : NORMAL;
    const asked = askedRepeats(request);
    const tk = tokenize(text, vocab, words);
    const local: Finding[] = [];

    const run = periodicRun(tk, words);
    if (run) {
      const repeats = Math.floor(run.covered / run.p);
      const covWords = run.covered;
      const fires =
        run.p === 1
          ? repeats >= th.tokenRepeats
          : (repeats >= th.phraseRepeats && covWords >= th.phraseWords) || (repeats >= th.longRepeats && covWords >= th.longWords);
      if (fires) {
        const a = tk.starts[run.start];
        const unitEnd = tk.ends[run.start + run.p - 1];
        const end = tk.ends[run.start + run.covered - 1];
        const unitWords = Array.from(tk.ids.subarray(run.start, run.start + run.p), (id) => words[id]).join(' ');
        local.push({
          message: mi,
          kind: run.p === 1 ? 'token' : 'phrase',
          unit: excerpt(text.slice(a, unitEnd)),
          count: repeats,
          covered: end - a,
          spans: [[a, end]],
          key: unitWords,
        });
      }
    }
    segmentFindings(mi, text, th, local);
    if (tk.n >= 60) {
      const ng = ngramCoverage(tk);
      const prose = ng.top >= 0 && [0, 1, 2, 3].some((k) => words[tk.ids[ng.top + k]].length > 1 && !NUMERIC.test(words[tk.ids[ng.top + k]]));
      if (prose && ng.coverage >= th.ngramCoverage && ng.topCount >= 4) {
        const a = tk.starts[ng.top];
        const e = tk.ends[ng.top + 3];
        local.push({
          message: mi,
          kind: 'near-repetition',
          unit: excerpt(text.slice(a, e)),
          count: ng.topCount,
          covered: Math.round(ng.coverage * text.length),
          spans: [[tk.starts[0], tk.ends[tk.n - 1]]],
          key: Array.from(tk.ids.subarray(ng.top, ng.top + 4), (id) => words[id]).join(' '),
        });
      }
    }

    // Repetition the user asked for, or text the user gave that the reply quotes back, is no loop.
    const userLower = local.length ? request.toLowerCase() : '';
    const userWords = local.length ? userLower.replace(/[^\p{L}\p{N}_'’]+/gu, ' ') : '';
    for (const f of local) {
      if (asked === Infinity) continue;
      if (asked > 0 && f.count <= asked * 1.5 + 2) continue;
      const needle = f.kind === 'token' || f.kind === 'phrase' || f.kind === 'near-repetition' ? f.key : f.key.replace(/[^\p{L}\p{N}_'’]+/gu, ' ').trim();
      if (occurrences(f.kind === 'code line' ? userLower : userWords, needle, 3) >= Math.min(3, f.count)) continue;
      findings.push(f);
    }

    // Across turns.
    const sh = shingles(tk);
    const key = sequenceKey(tk);
    const same = prev !== null && (key === prev.key || (sh.size >= 3 && jaccard(sh, prev.shingles) >= 0.8));
    if (same && prev) {
      if (chain.length === 0) chain = [prev.message];
      chain.push(mi);
      const userMoved = prev.request.trim().toLowerCase() !== request.trim().toLowerCase() && !ASK_AGAIN.test(request);
      const fires = chain.length >= 3 || (userMoved && tk.n >= 15);
      if (fires) {
        chainFinding = {
          message: mi,
          kind: 'turn',
          unit: excerpt(text, 80),
          count: chain.length,
          covered: text.length * chain.length,
          spans: [],
          key,
        };
      }
    } else {
      if (chainFinding) findings.push(chainFinding);
      chainFinding = null;
      chain = [];
    }
    prev = { shingles: sh, key, request, message: mi };
    if (chainFinding) chainFinding.turns = [...chain];
  }
  if (chainFinding) findings.push(chainFinding);

  if (findings.length === 0) return { flag: false, explanation: 'no degenerate repetition', evidence: [], unit: null, count: 0, kind: null };
  let best = findings[0];
  const weight = (f: Finding) => f.covered * (f.kind === 'phrase' || f.kind === 'token' ? 0.8 : 1);
  for (const f of findings) if (weight(f) > weight(best)) best = f;
  const turns = best.turns;
  const evidence: Evidence[] = turns
    ? turns.map((i) => ({ message: i, start: 0, end: msgs[i].content.length, text: excerpt(msgs[i].content, 80) }))
    : best.spans.map(([a, b]) => ({ message: best.message, start: a, end: b, text: excerpt(msgs[best.message].content.slice(a, b)) }));
  const where = turns ? `${best.count} assistant turns in a row` : `${best.count}× in assistant message ${best.message}`;
  return {
    flag: true,
    explanation: `${best.kind} repeated ${where}: "${excerpt(best.unit, 60)}"`,
    evidence,
    unit: best.unit,
    count: best.count,
    kind: best.kind,
  };
}

export function loopMonitor(): TranscriptMonitor {
  return {
    name: 'loop',
    description: 'degenerate repetition within a reply (tokens, phrases, sentences, lines, paragraphs) or across turns (the same reply every turn)',
    check: checkLoop,
  };
}
