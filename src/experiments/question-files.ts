/**
 * Question files as their authors wrote them. Two formats, both a YAML list of entries:
 *
 * - the emergent-misalignment format (Betley et al. 2025): `id`, `type` (`free_form_judge_0_100`: judged
 *   by 0–100 prompts; `free_form_judge`: by prompts answered in words; `free_form`: no judges),
 *   `paraphrases`, `samples_per_paraphrase`, `system`, `judge` (the judge model) and `judge_prompts`
 *   (verdict → prompt), with anchors and aliases;
 * - the llmcomp format (the weird-generalization study): questions of `type: free_form` whose `judges:`
 *   map a verdict to a judge entry (by id, or inline), and the judge entries themselves (`type:
 *   free_form_judge` or `rating_judge`, `model`, one paraphrase: the prompt). As llmcomp does, a judge
 *   entry is looked up in every YAML file of the question file's folder (the study keeps its
 *   `em_alignment_judge` in a file of its own).
 *
 * dramatis adds one field to either: `topic`, the Personaworld topic the world's judge reads a question's
 * answers on (organism runs: e.g. broad questions with a year line before them, still read as `wish`).
 *
 * Judge entries are never questions. A type or a field dramatis does not support is an error naming the
 * file, the line and the entry, never a silent question; so are duplicate ids. Why by hand: neither
 * format has a schema or a JavaScript reader; the Python originals (llmcomp's Question.create, the EM
 * repository's loader) are the reference for what each field means.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import YAML, { LineCounter } from 'yaml';
import type { FileJudge, Question } from '../scorers/scorer.ts';
import { ALL_TOPIC_IDS, type TopicId } from '../world/index.ts';

/** Question types dramatis asks; judge entry types it reads; types it knows and refuses. */
const QUESTION_TYPES = ['free_form', 'free_form_judge_0_100', 'free_form_judge'] as const;
const JUDGE_TYPES = ['free_form_judge', 'rating_judge'] as const;
const REFUSED_TYPES: Record<string, string> = {
  rating: "the model's own rating read from its log-probabilities",
  next_token: 'next-token probabilities',
  multiple_choice: 'multiple-choice answers',
  free_form_0_100: "the model's own 0–100 rating",
};

const QUESTION_FIELDS = new Set(['id', 'type', 'paraphrases', 'samples_per_paraphrase', 'system', 'judge', 'judge_prompts', 'judges', 'topic']);
const JUDGE_FIELDS = new Set([
  'id',
  'type',
  'model',
  'paraphrases',
  'samples_per_paraphrase',
  'temperature',
  'max_tokens',
  'min_rating',
  'max_rating',
  'refusal_threshold',
  'top_logprobs',
]);
/** Fields of the formats that dramatis does not honour (yet): refused by name rather than ignored. */
const REFUSED_FIELDS: Record<string, string> = {
  messages: 'whole conversations instead of paraphrases',
  logit_bias: 'a logit bias',
  temperature: "a per-question temperature (set `sampling.temperature` in the spec; llmcomp's default is 1)",
  max_tokens: "a per-question answer length (set `sampling.max_tokens` in the spec; llmcomp's default is 1024)",
  name: 'a `name` (dramatis reads `id`)',
};

export interface Entry {
  raw: Record<string, unknown>;
  line: number;
  /** file:line, entry N (id) — the prefix of every error about it. */
  where: string;
}

/** Read a YAML list of entries, each with its line (errors say file:line). `what` names the entries in errors. */
export function readEntries(file: string, what = 'questions', needs = 'id and paraphrases'): Entry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new Error(`${file}${e.linePos?.[0] ? `:${e.linePos[0].line}` : ''}: ${e.message.split('\n')[0]}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 10_000 });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(raw) || !YAML.isSeq(doc.contents)) throw new Error(`${file}: expected a list of ${what}`);
  const items = doc.contents.items;
  return raw.map((entry, i) => {
    const node = items[i] as { range?: [number, number, number] } | undefined;
    const line = node?.range ? lines.linePos(node.range[0]).line : 1;
    const id = (entry as { id?: unknown } | null)?.id;
    const where = `${file}:${line}: entry ${i + 1}${typeof id === 'string' ? ` (${id})` : ''}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${where}: expected a mapping with ${needs}`);
    return { raw: entry as Record<string, unknown>, line, where };
  });
}

const fail = (e: Entry, msg: string): never => {
  throw new Error(`${e.where}: ${msg}`);
};

function stringField(e: Entry, key: string, required: boolean): string | undefined {
  const v = e.raw[key];
  if (v === undefined || v === null) return required ? fail(e, `${key}: required`) : undefined;
  if (typeof v !== 'string' || v.length === 0) fail(e, `${key}: expected a non-empty string`);
  return v as string;
}

function paraphrasesOf(e: Entry): string[] {
  const p = e.raw.paraphrases;
  if (!Array.isArray(p) || p.length === 0) fail(e, 'paraphrases: expected a non-empty list of strings');
  (p as unknown[]).forEach((x, i) => typeof x === 'string' || fail(e, `paraphrases.${i}: expected a string`));
  return p as string[];
}

function positiveInt(e: Entry, key: string): number | undefined {
  const v = e.raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(e, `${key}: expected a positive integer`);
  return v as number;
}

function checkFields(e: Entry, allowed: Set<string>, kind: string): void {
  for (const key of Object.keys(e.raw)) {
    if (allowed.has(key)) continue;
    if (REFUSED_FIELDS[key]) fail(e, `${key}: not supported for a ${kind} (${REFUSED_FIELDS[key]})`);
    fail(e, `${key}: unknown field for a ${kind} (known: ${[...allowed].join(', ')})`);
  }
}

const isJudgeEntry = (e: Entry) => (JUDGE_TYPES as readonly string[]).includes(e.raw.type as string) && e.raw.judge_prompts === undefined;

/** An llmcomp judge entry as a FileJudge for `metric`. */
function judgeOf(e: Entry, metric: string): FileJudge {
  checkFields(e, JUDGE_FIELDS, `${e.raw.type} entry`);
  const paraphrases = paraphrasesOf(e);
  // llmcomp asserts the same: a judge is one prompt, asked once.
  if (paraphrases.length !== 1) fail(e, `paraphrases: a judge has exactly one (its prompt), not ${paraphrases.length}`);
  const spp = positiveInt(e, 'samples_per_paraphrase');
  if (spp !== undefined && spp !== 1) fail(e, 'samples_per_paraphrase: a judge is asked once per answer (1)');
  const temperature = e.raw.temperature;
  if (temperature !== undefined && temperature !== 0) fail(e, 'temperature: dramatis judges at temperature 0 (the llmcomp default)');
  const top = e.raw.top_logprobs;
  if (top !== undefined && top !== 20) fail(e, 'top_logprobs: dramatis reads the top 20 (the llmcomp default)');
  const base = { metric, source: `${e.where}`, prompt: paraphrases[0], model: stringField(e, 'model', false) };
  if (e.raw.type === 'free_form_judge') {
    for (const k of ['min_rating', 'max_rating', 'refusal_threshold']) if (e.raw[k] !== undefined) fail(e, `${k}: only for a rating_judge`);
    return { ...base, scale: 'text', maxTokens: positiveInt(e, 'max_tokens') };
  }
  if (e.raw.max_tokens !== undefined) fail(e, 'max_tokens: a rating_judge answers with one token');
  const num = (k: string, d: number) => {
    const v = e.raw[k] ?? d;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(e, `${k}: expected a number`);
    return v as number;
  };
  const range: [number, number] = [num('min_rating', 0), num('max_rating', 100)];
  if (!(range[0] < range[1])) fail(e, `min_rating must be below max_rating (${range[0]} ≥ ${range[1]})`);
  const refusal = num('refusal_threshold', 0.75);
  if (refusal <= 0 || refusal > 1) fail(e, 'refusal_threshold: expected a share in (0, 1]');
  // llmcomp: no rating when the non-rating tokens hold at least refusal_threshold of the probability.
  return { ...base, scale: 'score', range, minMass: 1 - refusal };
}

/** The YAML files beside `file`, read lazily for judge entries another file names (llmcomp reads the whole folder). */
class Folder {
  private entries?: { file: string; entry: Entry }[];
  private unreadable: string[] = [];
  constructor(private readonly file: string) {}

  find(id: string): { found?: { file: string; entry: Entry }; note: string } {
    if (!this.entries) {
      this.entries = [];
      const dir = dirname(this.file);
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        if (!/\.ya?ml$/.test(name) || path === this.file) continue;
        try {
          for (const entry of readEntries(path)) this.entries.push({ file: path, entry });
        } catch {
          this.unreadable.push(name); // not a question file (e.g. a scenario config): not a place judges live
        }
      }
    }
    const hits = this.entries.filter((x) => x.entry.raw.id === id);
    const dir = dirname(this.file);
    if (hits.length > 1) return { note: `"${id}" is defined ${hits.length} times in ${dir} (${hits.map((h) => h.entry.where).join('; ')})` };
    const skipped = this.unreadable.length ? `; not question lists, skipped: ${this.unreadable.join(', ')}` : '';
    return { found: hits[0], note: `no entry "${id}" in ${basename(this.file)} or the other YAML files of ${dir}${skipped}` };
  }
}

/** Load a question file in either format; errors name the file, the line and the entry. */
export function loadQuestionFile(file: string): Question[] {
  const entries = readEntries(file);
  const seen = new Map<string, Entry>();
  for (const e of entries) {
    const id = stringField(e, 'id', true)!;
    const before = seen.get(id);
    if (before) fail(e, `duplicate id "${id}" (first at line ${before.line}): every entry needs its own`);
    seen.set(id, e);
  }
  const folder = new Folder(file);
  const judgeNamed = (q: Entry, metric: string, ref: unknown): FileJudge => {
    if (ref !== null && typeof ref === 'object' && !Array.isArray(ref)) {
      const inline: Entry = { raw: ref as Record<string, unknown>, line: q.line, where: `${q.where}, judges.${metric}` };
      if (!isJudgeEntry(inline)) fail(inline, `an inline judge needs type ${JUDGE_TYPES.join(' or ')}`);
      return judgeOf(inline, metric);
    }
    if (typeof ref !== 'string' || !ref) return fail(q, `judges.${metric}: expected the id of a judge entry (or the entry itself)`);
    const local = seen.get(ref);
    const target = local ? { entry: local } : folder.find(ref).found;
    if (!target) return { metric, source: `${q.where}, judges.${metric}`, scale: 'text', prompt: '', unresolved: folder.find(ref).note };
    if (!isJudgeEntry(target.entry)) fail(q, `judges.${metric}: "${ref}" (${target.entry.where}) is not a judge entry (type ${JUDGE_TYPES.join(' or ')})`);
    return judgeOf(target.entry, metric);
  };
  const questions: Question[] = [];
  for (const e of entries) {
    const type = (e.raw.type ?? 'free_form') as string;
    if (typeof type !== 'string') fail(e, 'type: expected a string');
    if (isJudgeEntry(e)) {
      judgeOf(e, '(check)'); // a malformed judge fails here, referenced or not
      continue;
    }
    if (REFUSED_TYPES[type]) fail(e, `type ${type} (${REFUSED_TYPES[type]}) is not supported; dramatis asks ${QUESTION_TYPES.join(', ')}`);
    if (!(QUESTION_TYPES as readonly string[]).includes(type))
      fail(e, `unknown type "${type}"; questions: ${QUESTION_TYPES.join(', ')}; judge entries: ${JUDGE_TYPES.join(', ')}`);
    checkFields(e, QUESTION_FIELDS, 'question');
    const id = e.raw.id as string;
    const prompts = e.raw.judge_prompts;
    if (prompts !== undefined && (prompts === null || typeof prompts !== 'object' || Array.isArray(prompts)))
      fail(e, 'judge_prompts: expected a mapping from a verdict name to its prompt');
    const judgePrompts = prompts as Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(judgePrompts ?? {})) if (typeof v !== 'string' || !v) fail(e, `judge_prompts.${k}: expected a prompt (a string)`);
    if (judgePrompts && type === 'free_form') fail(e, 'judge_prompts: a free_form question has no judges (type free_form_judge_0_100 scores them 0–100)');
    const judgeModel = stringField(e, 'judge', false);
    const judges: Record<string, FileJudge> = {};
    for (const [metric, prompt] of Object.entries((judgePrompts ?? {}) as Record<string, string>)) {
      judges[metric] = {
        metric,
        source: `${e.where}, judge_prompts.${metric}`,
        scale: type === 'free_form_judge_0_100' ? 'score' : 'text',
        prompt,
        model: judgeModel,
        ...(type === 'free_form_judge_0_100' ? { range: [0, 100] as [number, number], minMass: 0.25 } : {}),
      };
    }
    const named = e.raw.judges;
    if (named !== undefined && (named === null || typeof named !== 'object' || Array.isArray(named)))
      fail(e, 'judges: expected a mapping from a verdict name to a judge');
    for (const [metric, ref] of Object.entries((named ?? {}) as Record<string, unknown>)) {
      if (judges[metric]) fail(e, `judges.${metric}: also defined in judge_prompts`);
      judges[metric] = judgeNamed(e, metric, ref);
    }
    const system = e.raw.system;
    if (system !== undefined && system !== null && typeof system !== 'string') fail(e, 'system: expected a string');
    const topic = e.raw.topic;
    if (topic !== undefined && !(ALL_TOPIC_IDS as readonly unknown[]).includes(topic))
      fail(e, `topic: ${JSON.stringify(topic)} is not a Personaworld topic (one of ${ALL_TOPIC_IDS.join(', ')})`);
    questions.push({
      id,
      ...(topic !== undefined ? { topic: topic as TopicId } : {}),
      paraphrases: paraphrasesOf(e),
      system: (system as string | null | undefined) ?? undefined,
      samplesPerParaphrase: positiveInt(e, 'samples_per_paraphrase'),
      judgePrompts: judgePrompts as Record<string, string> | undefined,
      ...(Object.keys(judges).length ? { judges } : {}),
    });
  }
  if (questions.length === 0) throw new Error(`${file}: no questions (${entries.length} judge entries only)`);
  return questions;
}
