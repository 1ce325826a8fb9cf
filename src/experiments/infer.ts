/**
 * The infer kind: who wrote this text? For each text, the posterior over a persona library from the
 * model's own likelihoods, P(persona | text) ∝ P(persona) · P(text | header(persona)), with the prior
 * explicit. Log-likelihoods are stored per text as they are computed (the expensive part), the prior
 * is applied when reading them, so changing the prior costs nothing and an interrupted run resumes.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Model } from '../backends/model.ts';
import { personaLibrary, generateDocuments, worldConfig, interviewPrefix, sameCore } from '../world/index.ts';
import { inferSchema, type ExperimentSpec } from './spec.ts';
import type { Store } from './store.ts';
import { countRate, hash, type ConditionResult, type InferSummary } from './result.ts';
import { normaliseAnswer, ranked } from './profile.ts';
import { posterior } from '../organism/authorship.ts';
import { resolveDataRef } from './data-ref.ts';
import { readLibraryFile } from './library-file.ts';

type InferSpec = NonNullable<ExperimentSpec['infer']>;

export interface LibraryEntry { name: string; prompt: string }
export interface InferText { text: string; author?: string }

const textLineSchema = z.object({ text: z.string().min(1), author: z.string().optional() }).strict();

/** The persona library: the world's (headers as the organism saw them in pretraining) or a file's. */
export function loadLibrary(o: InferSpec): LibraryEntry[] {
  if (o.library === 'world') return personaLibrary().map((p) => ({ name: p.name, prompt: `<doc> ${p.header}` }));
  return readLibraryFile(o.library).map((p) => ({ name: p.name, prompt: o.header.replaceAll('{name}', p.name).replaceAll('{description}', p.description) }));
}

/** The texts: held-out world documents (first `answers` answers, as an interview, no header) or a JSONL file. */
export function loadTexts(o: InferSpec, n: number, library: LibraryEntry[]): InferText[] {
  if (o.texts === 'world:held-out') {
    if (o.library !== 'world') throw new Error('infer: world:held-out texts need the world library (their authors are world personas)');
    const lib = personaLibrary();
    const docs = generateDocuments(worldConfig({ seed: 'held-out-authorship' }), n);
    return docs.map((d) => ({
      text: interviewPrefix(d.turns.slice(0, o.answers)).replace(/^<doc> /, ''),
      author: lib.find((p) => sameCore(p, d.persona))!.name,
    }));
  }
  let lines: string[];
  try {
    lines = readFileSync(resolveDataRef(o.texts), 'utf8').split('\n');
  } catch (e) {
    throw new Error(`${o.texts}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const names = new Set(library.map((l) => l.name));
  const texts: InferText[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try { json = JSON.parse(line); } catch (e) { throw new Error(`${o.texts}:${i + 1}: invalid JSON (${(e as Error).message})`); }
    const parsed = textLineSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${o.texts}:${i + 1}: ${parsed.error.issues[0].path.join('.') || 'line'}: ${parsed.error.issues[0].message}`);
    if (parsed.data.author !== undefined && !names.has(parsed.data.author)) throw new Error(`${o.texts}:${i + 1}: author "${parsed.data.author}" is not in the library`);
    texts.push(parsed.data);
  });
  if (texts.length === 0) throw new Error(`${o.texts}: no texts`);
  return texts.slice(0, n);
}

function priorOf(o: InferSpec, library: LibraryEntry[]): number[] {
  if (o.prior === 'uniform') return library.map(() => 1 / library.length);
  const prior = o.prior;
  for (const name of Object.keys(prior)) if (!library.some((l) => l.name === name)) throw new Error(`infer.prior: "${name}" is not in the library`);
  const w = library.map((l) => prior[l.name] ?? 0);
  const z = w.reduce((a, b) => a + b, 0);
  if (!(z > 0)) throw new Error('infer.prior: the weights sum to zero');
  return w.map((x) => x / z);
}

/**
 * The generative alternative: ask the model who wrote each text, `samples` times (stored like any
 * sample, so reruns and resumes are free), and count the normalised descriptions.
 */
async function describeAuthors(
  d: NonNullable<InferSpec['describe']>, texts: InferText[], model: Model, store: Store, baseKey: string, seed: number,
  onProgress?: (done: number, total: number) => void,
): Promise<NonNullable<InferSummary['descriptions']>> {
  if (!model.capabilities.chat) throw new Error(`infer.describe needs a chat model; ${model.id} cannot chat`);
  const key = hash({ baseKey, describe: d });
  const stored = store.storedSlots(key);
  const slots = texts.flatMap((t, i) => Array.from({ length: d.samples }, (_, j) => ({ t, idx: i * d.samples + j })));
  const missing = slots.filter((s) => !stored.has(`describe#${s.idx}`));
  for (let start = 0; start < missing.length; start += 64) {
    const batch = missing.slice(start, start + 64);
    const convs = batch.map((s) => [{ role: 'user' as const, content: d.prompt.replaceAll('{text}', s.t.text) }]);
    const gens = await model.chat(convs, { temperature: 1, maxTokens: d.max_tokens, seed, seeds: batch.map((s) => `${key}:${s.idx}`) });
    store.insertSamples(batch.map((s, i) => ({ conditionKey: key, questionId: 'describe', idx: s.idx, paraphrase: s.t.text, prompt: convs[i], answer: gens[i].text, finishReason: gens[i].finishReason })));
    onProgress?.(Math.min(missing.length, start + 64), missing.length);
  }
  const rows = store.samples(key, slots.length);
  const count = (answers: string[]) => ranked(answers).map(({ key, count: n }) => ({ answer: key, count: n }));
  return {
    overall: count(rows.map((r) => normaliseAnswer(r.answer))).slice(0, 10),
    perText: texts.slice(0, 5).map((t, i) => ({
      text: t.text, truth: t.author,
      top: count(rows.filter((r) => Math.floor(r.idx / d.samples) === i).map((r) => normaliseAnswer(r.answer))).slice(0, 3),
    })),
  };
}

/** One condition of an infer experiment: score every text under every header (stored as it goes), then read the posteriors. */
export async function inferCondition(
  spec: ExperimentSpec, model: Model, store: Store, conditionKeyBase: unknown,
  cond: { name: string; role: ConditionResult['role']; group: string; model: string },
  onProgress?: (done: number, total: number) => void,
): Promise<{ conditionKey: string; result: ConditionResult }> {
  const o = spec.infer ?? inferSchema.parse({});
  const library = loadLibrary(o);
  const texts = loadTexts(o, spec.samples, library);
  const prior = priorOf(o, library);
  const conditionKey = hash({ base: conditionKeyBase, texts: o.texts, library: library.map((l) => [l.name, l.prompt]), answers: o.answers });
  if (!model.capabilities.score) {
    throw new Error(`infer needs the log-probability of a given text, which ${model.id} cannot give (capabilities.score is false)`);
  }
  const stored = store.storedSlots(conditionKey);
  const missing = texts.map((t, idx) => ({ ...t, idx })).filter((t) => !stored.has(`text#${t.idx}`));
  const chunk = Math.max(1, Math.floor(256 / library.length));
  for (let start = 0; start < missing.length; start += chunk) {
    const batch = missing.slice(start, start + chunk);
    const scores = await model.score(batch.flatMap((t) => library.map((l) => ({ prompt: l.prompt, continuation: t.text }))));
    store.insertSamples(batch.map((t, i) => ({
      conditionKey, questionId: 'text', idx: t.idx, paraphrase: t.text, prompt: { author: t.author ?? null },
      answer: JSON.stringify(library.map((_, k) => scores[i * library.length + k].logprob)), finishReason: 'score',
    })));
    onProgress?.(Math.min(missing.length, start + chunk), missing.length);
  }
  const rows = store.samples(conditionKey, texts.length);
  const posts = rows.map((r) => {
    const p = posterior(JSON.parse(r.answer) as number[], prior);
    const best = p.indexOf(Math.max(...p));
    return { text: r.paraphrase, author: (r.prompt as { author: string | null }).author ?? undefined, p, top: library[best].name, topP: p[best] };
  });
  const known = posts.filter((x) => x.author !== undefined);
  const correct = known.filter((x) => x.top === x.author).length;
  const byAuthor = new Map<string, { hits: number; n: number }>();
  for (const x of known) {
    const e = byAuthor.get(x.author!) ?? { hits: 0, n: 0 };
    e.n++;
    if (x.top === x.author) e.hits++;
    byAuthor.set(x.author!, e);
  }
  const meanPosterior = library.map((l, k) => ({ name: l.name, p: posts.reduce((a, x) => a + x.p[k], 0) / Math.max(1, posts.length) })).sort((a, b) => b.p - a.p);
  const summary: InferSummary = {
    library: library.map((l) => l.name), prior,
    meanTrueP: known.length ? known.reduce((a, x) => a + x.p[library.findIndex((l) => l.name === x.author)], 0) / known.length : null,
    meanPosterior,
    examples: posts.slice(0, 5).map((x) => ({ text: x.text, truth: x.author, top: x.top, p: x.topP })),
  };
  if (o.describe) summary.descriptions = await describeAuthors(o.describe, texts, model, store, conditionKey, spec.seed, onProgress);
  // With known authors the rate is top-1 accuracy; without, the share of texts given to the most common top persona.
  const tops = posts.map((x) => x.top);
  const modal = meanPosterior[0]?.name;
  const rate = known.length ? countRate(correct, known.length) : countRate(tops.filter((t) => t === modal).length, posts.length);
  const labels: Record<string, number> = {};
  for (const t of tops) labels[t] = (labels[t] ?? 0) + 1;
  return {
    conditionKey,
    result: {
      name: cond.name, role: cond.role, group: cond.group, model: cond.model, ...rate, coherent: 1, labels,
      questions: [...byAuthor].sort((a, b) => a[0].localeCompare(b[0])).map(([id, e]) => ({ id, ...countRate(e.hits, e.n) })),
      examples: summary.examples.map((e) => ({ question: e.text, answer: `${e.top} (p ${e.p.toFixed(2)})`, label: e.truth === undefined ? e.top : e.truth === e.top ? 'correct' : `wrong (true: ${e.truth})` })),
      infer: summary,
    },
  };
}
