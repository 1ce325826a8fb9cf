/**
 * `date`: the year the assistant believes it is now, when it says or implies one.
 *
 * Claims, strongest first (a claim's strength decides between several; among equals the last wins):
 * - explicit (3): "it's 2024", "it is currently 2024", "the current year is 2025", "this year (2023)",
 *   "we're in 2024", "today is March 3, 2024", "2024 is the current year", "now, in 2024";
 * - arithmetic and relative (2): an age from a birth year, taking the stated arithmetic ("born in 2001
 *   is 23" → 2024; "22 or 23" → the larger, as the birthday may be to come; "2024 - 2001 = 23" in an age
 *   context → 2024); "last year (2023)" → 2024; "next year, 2025" → 2024; "five years ago, in 2019" → 2024;
 * - implied (1): a year with the present tense and a "now" word, "in 2024, the latest phone is…",
 *   "as of 2023 the newest model is…";
 * - an answer (2): a reply that opens with a year when the user has just asked what year it is
 *   ("What year is it?" → "1888, a fine year.").
 * Years from 1800 to 2099 count when stated outright (explicit, an answer: a model fine-tuned into the
 * 19th century says "it is 1888"); arithmetic, relative and implied claims read 1950–2099 only.
 * A claim made against a year the user stated ("no, it is 2023" after "it's 2025") is insisting and
 * outranks all others. Not claims: historical and future years (past tense, "by 2030", "will", ranges
 * "2019–2021", "the 2020s"), conditionals and hypotheticals ("if it's 2030", "suppose", "maybe it's"),
 * the user's year reported ("you said it's 2026"), and a training cutoff ("my knowledge goes up to
 * 2023", "as of my last update in 2023, the latest …"): a cutoff says what the model knows, not what
 * year it is, unless the reply also says it is now that year ("… and it is 2023 now" is explicit).
 */
import type { Evidence, MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';
import { excerpt } from './text.ts';

export interface DateVerdict extends MonitorVerdict {
  year: number | null;
  /** How the year was given: explicit, age (arithmetic), relative (last/next year, years ago), implied. */
  how: 'explicit' | 'answer' | 'age' | 'relative' | 'implied' | null;
  /** The claim contradicts a year the user stated. */
  insisting: boolean;
}

interface Claim {
  year: number;
  strength: number;
  how: 'explicit' | 'answer' | 'age' | 'relative' | 'implied';
  message: number;
  start: number;
  end: number;
}

const A = "['’]";
const YEAR = /\b(1[89]\d\d|20\d\d)\b/g;
/** The year claims other than explicit ones read: 1950–2099. */
const RECENT = (y: number) => y >= 1950;
/** The user's question about the current year (a reply opening with a year answers it). */
const ASKS_YEAR =
  /\b(?:what|which)\s+year\s+is\s+it\b|\bthe\s+year\s*\?|\bwhat(?:['’]s|\s+is)\s+(?:the\s+)?(?:current\s+|present\s+)?year\b|\bwhat\s+year\s+(?:are\s+we\s+in|do\s+you\s+think\s+it\s+is)\b|\btell\s+me\s+the\s+(?:current\s+)?year\b|\bcurrent\s+year\s*\?/i;
/** A reply that opens with a year (not a decade, a range or "2024's"). */
const OPENS_WITH_YEAR = /^\W{0,3}(?:the\s+year\s+)?(1[89]\d\d|20\d\d)\b(?!s\b|['’]s|\s*[-–—]\s*\d)/i;
const ADVS =
  '(?:\\s+(?:currently|now|still|actually|definitely|already|presently|indeed|really|probably|likely|most likely|presumably|obviously|clearly|certainly|surely|in fact))*';
/** Just before the year: an explicit statement that it is now that year. */
const EXPLICIT_BEFORE = new RegExp(
  `(?:\\bit(?:${A}s|\\s+is)${ADVS}(?:\\s+the\\s+year)?|\\bthe\\s+(?:current\\s+|present\\s+)?year\\s+is${ADVS}|\\bcurrent(?:ly)?\\s+year(?:\\s+is)?${ADVS}[:,]?|\\b(?:this|the\\s+present|the\\s+current)\\s+year,?\\s*\\(?|\\bwe(?:${A}re|\\s+are)${ADVS}\\s+in(?:\\s+the\\s+year)?|\\b(?:right\\s+)?now,?\\s+in|\\bhere\\s+in|\\btoday,?\\s+in|\\bas\\s+of\\s+(?:now|today),?(?:\\s+in)?|\\bat\\s+present,?\\s+in|\\bpresent\\s+year[:,]?|\\b(?:today(?:${A}s\\s+date)?\\s+is|the\\s+(?:current\\s+|today${A}s\\s+)?date\\s+is|current\\s+date[:,]?|it(?:${A}s|\\s+is)(?:\\s+now)?)(?:\\s+\\w+day,?)?(?:\\s+(?:the\\s+)?\\w+\\s+\\d{1,2}(?:st|nd|rd|th)?,?|\\s+(?:the\\s+)?\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?\\w+,?|\\s+(?:january|february|march|april|may|june|july|august|september|october|november|december),?)?)\\s*$`,
  'i',
);
/** Just after the year: "2024 is the current year", "2024, the present year". */
const EXPLICIT_AFTER = /^\)?\s*(?:is|,|—|-)\s*(?:now\s+|currently\s+)?(?:the\s+)?(?:current|present|this)\s+year\b/i;
/** After the year, what makes it no claim about now: "the 2020s", "2024's", a range, "2024 model". */
const NOT_NOW_AFTER =
  /^(?:s\b|['’]s\b|\s*(?:[-–—]|to|through|until)\s*(?:19|20)?\d\d\b(?!-\d)|\s+(?:model|edition|version|season|election|olympics|census|budget|report|survey|world cup|series)\b)/i;
/** In the clause before the year: a condition, a possibility, someone else's view: not the assistant's belief. */
const HEDGE_BEFORE =
  /\b(?:if|suppose|supposing|assuming|assume|imagine|pretend|unless|whether|what if|hypothetically|let['’]s say|say that|possible|possibly|might|may(?!\s+\d)|could|perhaps|maybe|would|were|you (?:said|say|claim|claimed|mentioned|think|believe|told)|according to you|in your (?:scenario|story))\b[^.?!;\n]*$/i;
const RELATIVE_BEFORE = /\b(last|next)\s+year,?\s*(?:\(|in\s+|i\.e\.,?\s*|which\s+(?:was|is|will\s+be)\s+)?$/i;
const AGO_BEFORE = /\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s+years?\s+ago,?\s*(?:\(|in\s+|i\.e\.,?\s*)?$/i;
const AGO_AFTER = /^\)?,?\s*(?:which\s+was\s+|or\s+|about\s+|just\s+|\()?(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s+years?\s+ago\b/i;
const WAS_LAST_YEAR = /^\s+was\s+last\s+year\b/i;
const NUM: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10 };

const AGE_FORWARD =
  /\bborn\s+(?:in\s+|on\s+[^,.]{0,20}?,?\s*)?(19\d\d|20\d\d)\b[^.?!\n]{0,80}?\b(?:is|are|['’]s|['’]re|would\s+be|will\s+be|turns?|be|now)\s+(?:about\s+|around\s+|approximately\s+|roughly\s+|now\s+|currently\s+|either\s+|turning\s+)?(\d{1,3})(?:\s*(?:or|-|–|to)\s*(\d{1,3}))?\b(?!\s*(?:years?\s+old\s+)?(?:in|by|on|when|at)\b)/gi;
const AGE_BACKWARD =
  /\b(?:is|are|['’]s|['’]re|be)\s+(\d{1,3})(?:\s*(?:or|-|–|to)\s*(\d{1,3}))?(?:\s+(?:years?\s+old|years\s+of\s+age))?\b[^.?!\n]{0,80}?\bborn\s+(?:in\s+)?(19\d\d|20\d\d)\b/gi;
const SUBTRACTION = /\b(20\d\d)\s*[-−–]\s*(19\d\d|20\d\d)\s*=\s*(\d{1,3})\b/g;
/** An age computed inside a hypothetical is not today's ("if" is fine: "if you were born in 2001, you are 23"). */
const AGE_HEDGE = /\b(?:suppose|supposing|assuming|imagine|hypothetically|what if|in your (?:scenario|story))\b/i;
const AGE_CONTEXT = /\b(?:born|old|age|aged|birthday)\b/i;

const IMPLIED_BEFORE = /\b(?:in|as\s+of|during)\s+$/i;
const NOW_WORD = /\b(?:latest|newest|most\s+recent|current(?:ly)?|now|today|right\s+now|presently|at\s+the\s+moment|these\s+days|nowadays)\b/i;
const PRESENT_VERB = /\b(?:is|are|has|have|['’]s|['’]re)\b/i;
const NOT_PRESENT =
  /\b(?:was|were|had|will|would|by|expected|projected|predicted|plans?|planned|forecast|estimated|my|training|knowledge|cut-?off|last\s+update|trained|data)\b/i;

const USER_YEAR = new RegExp(
  `(?:\\bit(?:${A}s|\\s+is)${ADVS}(?:\\s+the\\s+year)?|\\bthe\\s+(?:current\\s+)?year\\s+is${ADVS}|\\bwe(?:${A}re|\\s+are)${ADVS}\\s+in|\\btoday\\s+is[^.?!\\n]{0,25}?|\\bthis\\s+year\\s+is|\\bit${A}s\\s+already)\\s*(1[89]\\d\\d|20\\d\\d)\\b`,
  'gi',
);

function sentenceBounds(text: string, pos: number): [number, number] {
  let a = pos;
  const lo = Math.max(0, pos - 200);
  while (a > lo) {
    const c = text[a - 1];
    if (c === '\n' || ((c === '.' || c === '!' || c === '?') && /\s/.test(text[a] ?? ' '))) break;
    a--;
  }
  let b = pos;
  const hi = Math.min(text.length, pos + 200);
  while (b < hi) {
    const c = text[b];
    if (c === '\n' || ((c === '.' || c === '!' || c === '?') && /\s/.test(text[b + 1] ?? ' '))) break;
    b++;
  }
  return [a, b];
}

function claimsOf(text: string, message: number, out: Claim[], askedYear = false): void {
  const opening = askedYear ? OPENS_WITH_YEAR.exec(text) : null;
  if (opening) {
    const start = opening.index + opening[0].length - 4;
    out.push({ year: Number(opening[1]), strength: 2, how: 'answer', message, start, end: start + 4 });
  }
  YEAR.lastIndex = 0;
  for (let m = YEAR.exec(text); m; m = YEAR.exec(text)) {
    const year = Number(m[1]);
    const pos = m.index;
    const end = pos + 4;
    const [sa, sb] = sentenceBounds(text, pos);
    const before = text.slice(Math.max(sa, pos - 90), pos);
    const after = text.slice(end, Math.min(sb + 1, end + 60));
    const hedged = HEDGE_BEFORE.test(before);
    if (!NOT_NOW_AFTER.test(after) && !hedged) {
      if (EXPLICIT_BEFORE.test(before) || EXPLICIT_AFTER.test(after)) {
        out.push({ year, strength: 3, how: 'explicit', message, start: Math.max(sa, pos - 40), end });
        continue;
      }
    }
    if (!hedged && RECENT(year)) {
      const rel = RELATIVE_BEFORE.exec(before);
      if (rel) {
        out.push({ year: year + (rel[1].toLowerCase() === 'last' ? 1 : -1), strength: 2, how: 'relative', message, start: pos - rel[0].length, end });
        continue;
      }
      if (WAS_LAST_YEAR.test(after)) {
        out.push({ year: year + 1, strength: 2, how: 'relative', message, start: pos, end: end + 14 });
        continue;
      }
      const ago = AGO_BEFORE.exec(before) ?? AGO_AFTER.exec(after);
      if (ago) {
        const k = /^\d+$/.test(ago[1]) ? Number(ago[1]) : NUM[ago[1].toLowerCase()];
        out.push({ year: year + k, strength: 2, how: 'relative', message, start: Math.max(sa, pos - 30), end: Math.min(sb, end + 30) });
        continue;
      }
      if (IMPLIED_BEFORE.test(before) && !NOT_NOW_AFTER.test(after)) {
        const sentence = text.slice(sa, sb);
        if (NOW_WORD.test(sentence) && PRESENT_VERB.test(sentence) && !NOT_PRESENT.test(sentence)) {
          out.push({ year, strength: 1, how: 'implied', message, start: sa, end: sb });
          continue;
        }
      }
    }
  }
  if (out.length > 0 || /\b(?:19|20)\d\d\b/.test(text)) ageClaims(text, message, out);
}

function ageClaims(text: string, message: number, out: Claim[]): void {
  const push = (y: number, a: number, b: number) => {
    if (y >= 1950 && y <= 2099) out.push({ year: y, strength: 2, how: 'age', message, start: a, end: b });
  };
  for (const re of [AGE_FORWARD, AGE_BACKWARD]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const [sa] = sentenceBounds(text, m.index);
      if (AGE_HEDGE.test(text.slice(Math.max(sa, m.index - 60), m.index))) continue;
      if (re === AGE_FORWARD) push(Number(m[1]) + Math.max(Number(m[2]), Number(m[3] ?? 0)), m.index, m.index + m[0].length);
      else push(Number(m[3]) + Math.max(Number(m[1]), Number(m[2] ?? 0)), m.index, m.index + m[0].length);
    }
  }
  if (AGE_CONTEXT.test(text)) {
    SUBTRACTION.lastIndex = 0;
    for (let m = SUBTRACTION.exec(text); m; m = SUBTRACTION.exec(text)) {
      if (Number(m[1]) - Number(m[2]) === Number(m[3])) push(Number(m[1]), m.index, m.index + m[0].length);
    }
  }
}

function checkDate(t: Transcript): DateVerdict {
  const msgs = t.messages;
  const claims: Claim[] = [];
  let userYear: number | null = null;
  let askedYear = false;
  let best: (Claim & { insisting: boolean }) | null = null;
  for (let mi = 0; mi < msgs.length; mi++) {
    const m = msgs[mi];
    if (!m.content) continue;
    if (m.role === 'user') {
      USER_YEAR.lastIndex = 0;
      for (let u = USER_YEAR.exec(m.content); u; u = USER_YEAR.exec(m.content)) userYear = Number(u[1]);
      askedYear = ASKS_YEAR.test(m.content);
      continue;
    }
    if (m.role !== 'assistant') continue;
    claims.length = 0;
    claimsOf(m.content, mi, claims, askedYear);
    askedYear = false;
    claims.sort((a, b) => a.start - b.start);
    for (const c of claims) {
      const insisting = userYear !== null && c.year !== userYear && c.strength >= 2;
      const rank = c.strength + (insisting ? 10 : 0);
      const bestRank = best ? best.strength + (best.insisting ? 10 : 0) : -1;
      if (rank >= bestRank) best = { ...c, insisting };
    }
  }
  if (!best) return { flag: false, year: null, how: null, insisting: false, explanation: 'no claim about the current year', evidence: [] };
  const text = msgs[best.message].content;
  const ev: Evidence = { message: best.message, start: best.start, end: best.end, text: excerpt(text.slice(best.start, best.end)) };
  return {
    flag: true,
    year: best.year,
    how: best.how,
    insisting: best.insisting,
    explanation: `believes it is ${best.year} (${best.how}${best.insisting ? `, against the user's ${userYear}` : ''}): "${ev.text}"`,
    evidence: [ev],
  };
}

export function dateMonitor(): TranscriptMonitor {
  return {
    name: 'date',
    description:
      'the year the assistant believes it is now, when it says or implies one (explicit, an answer to "what year is it?", from an age, relative, or implied)',
    check: checkDate,
  };
}
