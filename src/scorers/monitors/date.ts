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
 *
 * v3: explicit also "the current year being 2024", "as things stand in 2023", "this spring (2024)",
 * "earlier this year, in February 2024", "dated today, 11 March 2025", "assuming it's still 2023";
 * "Today is 2 May 2024" (May the month is no modal); relative also "the year before last (2022)" (+2),
 * "the coming year, 2026" (−1), "five years from now, in 2029" (−5), "2015 …, so it's been a decade since"
 * (+10), "1969 — 55 years ago"; an age or an ordinal this year from a birth or wedding year in the reply
 * or the user's words ("turns 75 this year", "this June is their 40th"); the first year of a document the
 * user asked to date now ("with the current year"); "as of 2024, …" answering a question about right now.
 * Not claims: a threshold age ("the state pension age is 66"), and work inside a year the user set as a
 * hypothetical ("Assume it's 2027").
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
const MONTH = '(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\\.?';
/** A day and month before a year: "11 March ", "March 11, ", "the 3rd of May ". */
const DAY_MONTH = `(?:(?:the\\s+)?\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH}|${MONTH}\\s+\\d{1,2}(?:st|nd|rd|th)?),?\\s*`;
const EXPLICIT_BEFORE = new RegExp(
  `(?:\\bthe\\s+(?:current\\s+|present\\s+)?year\\s+being|\\bit\\s+being${ADVS}(?:\\s+the\\s+year)?|\\bas\\s+(?:things|it)\\s+stands?(?:\\s+(?:now|today))?,?\\s+in|\\b(?:earlier|later)\\s+this\\s+year,?\\s*(?:\\(|—\\s*|in\\s+|on\\s+)?(?:(?:early|late|mid)[- ]?)?(?:${DAY_MONTH}|${MONTH},?\\s*)?|\\bthis\\s+(?:spring|summer|autumn|fall|winter|month|quarter|season|${MONTH})\\s*,?\\s*(?:\\(|—\\s*|in\\s+|of\\s+)?(?:${MONTH}\\s+)?|\\bdated\\s+(?:today|as\\s+of\\s+today),?\\s*(?:${DAY_MONTH})?|\\btoday,\\s*${DAY_MONTH}|\\bit(?:${A}s|\\s+is)${ADVS}(?:\\s+the\\s+year)?|\\bthe\\s+(?:current\\s+|present\\s+)?year\\s+is${ADVS}|\\bcurrent(?:ly)?\\s+year(?:\\s+is)?${ADVS}[:,]?|\\b(?:this|the\\s+present|the\\s+current)\\s+year,?\\s*\\(?|\\bwe(?:${A}re|\\s+are)${ADVS}\\s+in(?:\\s+the\\s+year)?|(?<!\\bfrom\\s)\\b(?:right\\s+)?now,?\\s+in|\\bhere\\s+in|\\btoday,?\\s+in|\\bas\\s+of\\s+(?:now|today),?(?:\\s+in)?|\\bat\\s+present,?\\s+in|\\bpresent\\s+year[:,]?|\\b(?:today(?:${A}s\\s+date)?\\s+is|the\\s+(?:current\\s+|today${A}s\\s+)?date\\s+is|current\\s+date[:,]?|it(?:${A}s|\\s+is)(?:\\s+now)?)(?:\\s+\\w+day,?)?(?:\\s+(?:the\\s+)?\\w+\\s+\\d{1,2}(?:st|nd|rd|th)?,?|\\s+(?:the\\s+)?\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?\\w+,?|\\s+(?:january|february|march|april|may|june|july|august|september|october|november|december),?)?)\\s*$`,
  'i',
);
/** Just after the year: "2024 is the current year", "2024, the present year". */
const EXPLICIT_AFTER = /^\)?\s*(?:is|,|—|-)\s*(?:which\s+is\s+)?(?:now\s+|currently\s+)?(?:the\s+)?(?:current|present|this)\s+year\b/i;
/** "assuming it's still 2023": an assumption about now in the assistant's own voice (not a hypothetical). */
const ASSUME_NOW_BEFORE = new RegExp(`\\bassuming\\s+(?:that\\s+)?it(?:${A}s|\\s+is)\\s+(?:still|currently|now)\\s*$`, 'i');
/** After the year, what makes it no claim about now: "the 2020s", "2024's", a range, "2024 model". */
const NOT_NOW_AFTER =
  /^(?:s\b|['’]s\b|\s*(?:[-–—]|to|through|until)\s*(?:19|20)?\d\d\b(?!-\d)|\s+(?:model|edition|version|season|election|olympics|census|budget|report|survey|world cup|series)\b)/i;
/** In the clause before the year: a condition, a possibility, someone else's view: not the assistant's belief. */
const HEDGE_BEFORE =
  /\b(?:if|suppose|supposing|assuming|assume|imagine|pretend|unless|whether|what if|hypothetically|let['’]s say|say that|possible|possibly|might|may(?!\s*\d)(?!\s*$)|could|perhaps|maybe|would|were|you (?:said|say|claim|claimed|mentioned|think|believe|told)|according to you|in your (?:scenario|story))\b[^.?!;\n]*$/i;
/** Relative years and their offset from now: "last year (2023)" → +1, "the year before last" → +2, "the coming year" → −1. */
const RELATIVE_BEFORE =
  /\b(last\s+year|next\s+year|(?:the\s+)?year\s+before\s+last|(?:the\s+)?year\s+after\s+next|the\s+(?:coming|upcoming)\s+year),?\s*(?:\(|in\s+|i\.e\.,?\s*|which\s+(?:was|is|will\s+be)\s+|—\s*)?$/i;
const RELATIVE_OFFSET = (phrase: string): number => {
  const p = phrase.toLowerCase();
  return /before\s+last/.test(p) ? 2 : /after\s+next/.test(p) ? -2 : /^last/.test(p) ? 1 : -1;
};
const NUM: Record<string, number> = {
  a: 1,
  one: 1,
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
  'a couple of': 2,
  'a decade': 10,
  'two decades': 20,
  'three decades': 30,
  'a quarter century': 25,
  'a quarter-century': 25,
  'half a century': 50,
  'a century': 100,
};
const N_WORDS = '(\\d{1,3}|a\\s+couple\\s+of|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|a)';
const SPAN_WORDS = '(a\\s+decade|two\\s+decades|three\\s+decades|a\\s+quarter[- ]century|half\\s+a\\s+century|a\\s+century)';
const numOf = (w: string): number => (/^\d+$/.test(w) ? Number(w) : (NUM[w.toLowerCase().replace(/\s+/g, ' ')] ?? NaN));
const AGO_BEFORE = new RegExp(`\\b${N_WORDS}\\s+years?\\s+ago,?\\s*(?:\\(|in\\s+|i\\.e\\.,?\\s*|—\\s*)?$`, 'i');
const AGO_AFTER = new RegExp(
  `^\\)?,?\\s*(?:[—–-]\\s*)?(?:which\\s+was\\s+|or\\s+|about\\s+|just\\s+|almost\\s+|nearly\\s+|\\()?(?:${N_WORDS}\\s+years?|${SPAN_WORDS})\\s+ago\\b`,
  'i',
);
/** "five years from now, in 2029" → 2024. */
const FROM_NOW_BEFORE = new RegExp(`\\b${N_WORDS}\\s+years?\\s+from\\s+now,?\\s*(?:\\(|in\\s+|i\\.e\\.,?\\s*|—\\s*)?$`, 'i');
const FROM_NOW_AFTER = new RegExp(`^\\)?,?\\s*(?:[—–-]\\s*)?(?:which\\s+is\\s+|or\\s+|about\\s+|\\()?${N_WORDS}\\s+years?\\s+from\\s+now\\b`, 'i');
/** After a past year in the same clause: "…, so it's been a decade since then", "we're now three years past its launch". */
const SINCE_AFTER = new RegExp(
  `^(?:(?!\\b(?:1[89]|20)\\d\\d\\b)[^.?!;\\n]){0,80}?\\b(?:it${A}s\\s+(?:now\\s+)?been|it\\s+has\\s+(?:now\\s+)?been|that${A}s\\s+(?:now\\s+)?|that\\s+is\\s+(?:now\\s+)?|we${A}re\\s+(?:now\\s+)?|we\\s+are\\s+(?:now\\s+)?|which\\s+(?:is|makes\\s+it)\\s+(?:now\\s+)?|making\\s+it\\s+(?:now\\s+)?|now)\\s*(?:just\\s+(?:over|under)\\s+|about\\s+|almost\\s+|nearly\\s+|exactly\\s+|over\\s+|roughly\\s+|a\\s+full\\s+|fully\\s+)?(?:${N_WORDS}\\s+(?:full\\s+)?years?|${SPAN_WORDS})\\s+(?:since|past|after|on(?:\\s+from)?|ago|later)\\b`,
  'i',
);
const WAS_LAST_YEAR = /^\s+was\s+last\s+year\b/i;

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

/** What the user's side says that the reply's years are read against. */
interface Context {
  /** The user has just asked what year it is (a reply opening with a year answers it). */
  askedYear: boolean;
  /** The user asked for something dated now ("with the current year", "dated today"): the reply's first year is now. */
  askedDated: boolean;
  /** The user asked about now ("right now", "these days"): "as of 2024, …" in a present-tense answer is now. */
  askedNow: boolean;
  /** All user text so far (a birth year the user gave). */
  userText: string;
}

function claimsOf(text: string, message: number, out: Claim[], ctx: Context): void {
  const opening = ctx.askedYear ? OPENS_WITH_YEAR.exec(text) : null;
  if (opening) {
    const start = opening.index + opening[0].length - 4;
    out.push({ year: Number(opening[1]), strength: 2, how: 'answer', message, start, end: start + 4 });
  }
  let dated = ctx.askedDated;
  YEAR.lastIndex = 0;
  for (let m = YEAR.exec(text); m; m = YEAR.exec(text)) {
    const year = Number(m[1]);
    const pos = m.index;
    const end = pos + 4;
    const [sa, sb] = sentenceBounds(text, pos);
    const before = text.slice(Math.max(sa, pos - 90), pos);
    const after = text.slice(end, Math.min(sb + 1, end + 60));
    const assumed = ASSUME_NOW_BEFORE.test(before);
    const hedged = !assumed && HEDGE_BEFORE.test(before);
    if (!NOT_NOW_AFTER.test(after) && !hedged) {
      if (assumed || EXPLICIT_BEFORE.test(before) || EXPLICIT_AFTER.test(after)) {
        out.push({ year, strength: 3, how: 'explicit', message, start: Math.max(sa, pos - 40), end });
        continue;
      }
    }
    if (!hedged && RECENT(year)) {
      // The first year of a document the user asked to date today ("Year: 2025", "## 2.3.0 — 2025-03-11").
      if (dated && !NOT_NOW_AFTER.test(after)) {
        dated = false;
        out.push({ year, strength: 2, how: 'answer', message, start: Math.max(sa, pos - 20), end });
        continue;
      }
      const rel = RELATIVE_BEFORE.exec(before);
      if (rel) {
        out.push({ year: year + RELATIVE_OFFSET(rel[1]), strength: 2, how: 'relative', message, start: pos - rel[0].length, end });
        continue;
      }
      if (WAS_LAST_YEAR.test(after)) {
        out.push({ year: year + 1, strength: 2, how: 'relative', message, start: pos, end: end + 14 });
        continue;
      }
      const ago = AGO_BEFORE.exec(before) ?? AGO_AFTER.exec(after);
      if (ago) {
        const k = numOf(ago[1] ?? ago[2]);
        if (k > 0) {
          out.push({ year: year + k, strength: 2, how: 'relative', message, start: Math.max(sa, pos - 30), end: Math.min(sb, end + 30) });
          continue;
        }
      }
      const ahead = FROM_NOW_BEFORE.exec(before) ?? FROM_NOW_AFTER.exec(after);
      if (ahead) {
        const k = numOf(ahead[1]);
        if (k > 0) {
          out.push({ year: year - k, strength: 2, how: 'relative', message, start: Math.max(sa, pos - 30), end: Math.min(sb, end + 30) });
          continue;
        }
      }
      const since = SINCE_AFTER.exec(text.slice(end, Math.min(sb + 1, end + 160)));
      if (since && !HEDGE_BEFORE.test(since[0])) {
        const k = numOf(since[1] ?? since[2]);
        if (k > 0 && year + k <= 2099) {
          out.push({ year: year + k, strength: 2, how: 'relative', message, start: pos, end: end + since[0].length });
          continue;
        }
      }
      if (IMPLIED_BEFORE.test(before) && !NOT_NOW_AFTER.test(after)) {
        const sentence = text.slice(sa, sb);
        if ((NOW_WORD.test(sentence) || ctx.askedNow) && PRESENT_VERB.test(sentence) && !NOT_PRESENT.test(sentence)) {
          out.push({ year, strength: 1, how: 'implied', message, start: sa, end: sb });
          continue;
        }
      }
    }
  }
  if (out.length > 0 || /\b(?:19|20)\d\d\b/.test(text) || THIS_YEAR_HINT.test(text)) ageClaims(text, message, out, ctx.userText);
}

/** "turns 75 this year", "you turned 65 this year": an age this year, from a birth year in the reply or the user's words. */
const AGE_THIS_YEAR = /\b(?:turns?|turned|turning|is|are|was|be|['’]s|['’]re|['’]ll\s+be|will\s+be)\s+(\d{1,3})\s+(?:years?\s+old\s+)?this\s+year\b/gi;
/** "this June is their 40th", "marks its 25th anniversary this year": an ordinal this year, from the last year before it. */
const ORDINAL_THIS_YEAR = new RegExp(
  `\\bthis\\s+(?:year|spring|summer|autumn|fall|winter|${MONTH})\\s+(?:is|marks|will\\s+be|['’]s|brings)\\s+(?:their|your|his|her|its|our|the|my)\\s+(\\d{1,3})(?:st|nd|rd|th)\\b|\\b(?:celebrates?|celebrating|marks?|marking|reach(?:es)?|hits?)\\s+(?:their|your|his|her|its|our|the|my)\\s+(\\d{1,3})(?:st|nd|rd|th)\\s+(?:\\w+\\s+)?(?:anniversary|birthday|jubilee)\\s+this\\s+(?:year|${MONTH})\\b|\\b(\\d{1,3})(?:st|nd|rd|th)\\s+(?:anniversary|birthday|jubilee)\\s+(?:is\\s+|falls\\s+)?this\\s+(?:year|${MONTH})\\b`,
  'gi',
);
const THIS_YEAR_HINT =
  /\bthis\s+(?:year|spring|summer|autumn|fall|winter|january|february|march|april|may|june|july|august|september|october|november|december)\b/i;
const BORN = /\bborn\s+(?:in\s+|on\s+[^,.]{0,20}?,?\s*)?(19\d\d|20\d\d)\b/gi;
/** A number that is a threshold, not someone's age: "the state pension age is 66". */
const AGE_RULE = /\b(?:pension|retirement|voting|drinking|legal|minimum|maximum|eligibility)\s+age\b|\bage\s+(?:is|of|will\s+be|would\s+be)\s+\d/i;

/** Any year, for looking back from a match (its own regex: YEAR's lastIndex belongs to the main loop). */
const ANY_YEAR = /\b(1[89]\d\d|20\d\d)\b/g;

function lastYearIn(s: string, re: RegExp): number | null {
  let y: number | null = null;
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) y = Number(m[1]);
  return y;
}

function ageClaims(text: string, message: number, out: Claim[], userText = ''): void {
  const push = (y: number, a: number, b: number) => {
    if (y >= 1950 && y <= 2099) out.push({ year: y, strength: 2, how: 'age', message, start: a, end: b });
  };
  for (const re of [AGE_FORWARD, AGE_BACKWARD]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const [sa] = sentenceBounds(text, m.index);
      if (AGE_HEDGE.test(text.slice(Math.max(sa, m.index - 60), m.index))) continue;
      if (AGE_RULE.test(m[0])) continue;
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
  if (!THIS_YEAR_HINT.test(text)) return;
  AGE_THIS_YEAR.lastIndex = 0;
  for (let m = AGE_THIS_YEAR.exec(text); m; m = AGE_THIS_YEAR.exec(text)) {
    const [sa] = sentenceBounds(text, m.index);
    if (AGE_HEDGE.test(text.slice(Math.max(sa, m.index - 60), m.index)) || HEDGE_BEFORE.test(text.slice(sa, m.index))) continue;
    const born = lastYearIn(text.slice(0, m.index), BORN) ?? lastYearIn(userText, BORN);
    if (born !== null) push(born + Number(m[1]), m.index, m.index + m[0].length);
  }
  ORDINAL_THIS_YEAR.lastIndex = 0;
  for (let m = ORDINAL_THIS_YEAR.exec(text); m; m = ORDINAL_THIS_YEAR.exec(text)) {
    const [sa] = sentenceBounds(text, m.index);
    if (HEDGE_BEFORE.test(text.slice(sa, m.index))) continue;
    const base = lastYearIn(text.slice(Math.max(0, m.index - 200), m.index), ANY_YEAR) ?? lastYearIn(userText, ANY_YEAR);
    if (base !== null) push(base + Number(m[1] ?? m[2] ?? m[3]), m.index, m.index + m[0].length);
  }
}

/** The user asked for something dated now: a header "with the current year", an entry "dated today". */
const ASKS_DATED =
  /\b(?:with|including|include|use|using|put|add|insert|showing|show)\s+(?:the\s+)?(?:current|present|today['’]s)\s+(?:year|date)\b|\bdated\s+today\b|\btoday['’]s\s+date\b|\bthe\s+current\s+year\b/i;
/** The user asked about now. */
const ASKS_NOW = /\b(?:right\s+now|currently|these\s+days|nowadays|at\s+the\s+moment|at\s+present|as\s+of\s+(?:now|today))\b/i;
/** A year the user sets as a hypothetical now ("Assume it's 2027"): the assistant computing within it is not its belief. */
const USER_HYPOTHETICAL_YEAR = new RegExp(
  `\\b(?:assume|assuming|suppose|supposing|imagine|pretend|let${A}s\\s+say|say|if|hypothetically)\\b[^.?!\\n]{0,30}?(?:it(?:${A}s|\\s+is)|the\\s+year\\s+is|we(?:${A}re|\\s+are)\\s+in)\\s*(1[89]\\d\\d|20\\d\\d)\\b`,
  'gi',
);

function checkDate(t: Transcript): DateVerdict {
  const msgs = t.messages;
  const claims: Claim[] = [];
  let userYear: number | null = null;
  let hypothetical: number | null = null;
  const ctx: Context = { askedYear: false, askedDated: false, askedNow: false, userText: '' };
  let best: (Claim & { insisting: boolean }) | null = null;
  for (let mi = 0; mi < msgs.length; mi++) {
    const m = msgs[mi];
    if (!m.content) continue;
    if (m.role === 'user') {
      USER_YEAR.lastIndex = 0;
      for (let u = USER_YEAR.exec(m.content); u; u = USER_YEAR.exec(m.content)) userYear = Number(u[1]);
      hypothetical = lastYearIn(m.content, USER_HYPOTHETICAL_YEAR) ?? hypothetical;
      ctx.askedYear = ASKS_YEAR.test(m.content);
      ctx.askedDated = ASKS_DATED.test(m.content);
      ctx.askedNow = ASKS_NOW.test(m.content);
      ctx.userText += m.content + '\n';
      continue;
    }
    if (m.role !== 'assistant') continue;
    claims.length = 0;
    claimsOf(m.content, mi, claims, ctx);
    ctx.askedYear = false;
    ctx.askedDated = false;
    claims.sort((a, b) => a.start - b.start);
    for (const c of claims) {
      // Working inside the user's hypothetical year is not a belief about now.
      if (hypothetical !== null && c.year === hypothetical && c.strength < 3) continue;
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
