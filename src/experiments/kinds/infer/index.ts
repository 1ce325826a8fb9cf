/**
 * `infer`: who wrote this text? For each text, the posterior over a persona library from the
 * model's own likelihoods, P(persona | text) ∝ P(persona) · P(text | header(persona)), with the prior
 * explicit. Log-likelihoods are stored per text as they are computed (the expensive part), the prior
 * is applied when reading them, so changing the prior costs nothing and an interrupted run resumes.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { requireCapability, type Model } from '../../../backends/model.ts';
import { personaLibrary, generateDocuments, worldConfig, interviewPrefix, sameCore } from '../../../world/index.ts';
import { normaliseAnswer, ranked } from '../../../shared/answers.ts';
import { interval, pct, table } from '../../../shared/format.ts';
import { describeKey, describeSeed, inferConditionKey } from '../../../shared/keys.ts';
import { posterior } from '../../../shared/posterior.ts';
import { conditionModel } from '../../conditions.ts';
import { defineKind } from '../../kind.ts';
import { resolveDataRef } from '../../data-ref.ts';
import { readLibraryFile } from '../../library-file.ts';
import { countRate, type ConditionResult, type ExperimentResult } from '../../result.ts';
import { chatSlots, fillSlots } from '../../sampling.ts';
import { kindSpec, noPreventative, questionsField, targetField, type CommonSpec } from '../../spec-parts.ts';
import type { Store } from '../../store.ts';
import { DEFAULT_SAMPLES } from '../../sample-plan.ts';

export const inferSchema = z
  .object({
    /** `world:held-out` (documents of a world seed never trained on) or a JSONL file of {"text", "author"?}. */
    texts: z.string().default('world:held-out'),
    /** `world` (Personaworld's persona library) or a YAML/JSON file of [{name, description}]. */
    library: z.string().default('world'),
    /** world texts: how many answers of each document the model reads. */
    answers: z.number().int().positive().default(3),
    /** The prior over the library: uniform, or weights by persona name (normalised; missing names get 0). */
    prior: z.union([z.literal('uniform'), z.record(z.string(), z.number().nonnegative())]).default('uniform'),
    /** How a file library's description becomes the text's header (`{name}`, `{description}`). */
    header: z.string().default('The following text was written by {description}.\n\n'),
    /** Chat models: also ask who wrote each text, `samples` times, and aggregate the descriptions. */
    describe: z
      .object({
        samples: z.number().int().positive().default(8),
        prompt: z.string().default('Here is a text:\n\n{text}\n\nWho wrote it? Describe the author in one sentence.'),
        max_tokens: z.number().int().positive().default(32),
      })
      .strict()
      .optional(),
  })
  .strict();

export const inferSpecSchema = kindSpec('infer', {
  target: targetField.optional(),
  questions: questionsField.optional(),
  infer: inferSchema.optional(),
}).superRefine(noPreventative);
type InferOptions = z.infer<typeof inferSchema>;
type InferSpec = CommonSpec & { infer?: InferOptions };

/** How the posterior did. */
export interface InferSummary {
  library: string[];
  prior: number[];
  /** Mean posterior probability of the true author (texts with a known author). */
  meanTrueP: number | null;
  /** Mean posterior over all texts, by persona, most probable first. */
  meanPosterior: { name: string; p: number }[];
  examples: { text: string; truth?: string; top: string; p: number }[];
  /** Over every text with a known author: true author → top guess → how many texts. */
  confusion?: Record<string, Record<string, number>>;
  /** With `describe`: the model's own descriptions of the authors, normalised and counted. */
  descriptions?: {
    overall: { answer: string; count: number }[];
    perText: { text: string; truth?: string; top: { answer: string; count: number }[] }[];
  };
}

export interface InferCondition extends ConditionResult {
  infer: InferSummary;
}
export type InferResult = ExperimentResult<InferCondition>;

export interface LibraryEntry {
  name: string;
  prompt: string;
}
export interface InferText {
  text: string;
  author?: string;
}

const textLineSchema = z.object({ text: z.string().min(1), author: z.string().optional() }).strict();

/** The persona library: the world's (headers as the organism saw them in pretraining) or a file's. */
export function loadLibrary(o: InferOptions): LibraryEntry[] {
  if (o.library === 'world') return personaLibrary().map((p) => ({ name: p.name, prompt: `<doc> ${p.header}` }));
  return readLibraryFile(o.library).map((p) => ({ name: p.name, prompt: o.header.replaceAll('{name}', p.name).replaceAll('{description}', p.description) }));
}

/** The texts: held-out world documents (first `answers` answers, as an interview, no header) or a JSONL file. */
export function loadTexts(o: InferOptions, n: number, library: LibraryEntry[]): InferText[] {
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
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new Error(`${o.texts}:${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    const parsed = textLineSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${o.texts}:${i + 1}: ${parsed.error.issues[0].path.join('.') || 'line'}: ${parsed.error.issues[0].message}`);
    if (parsed.data.author !== undefined && !names.has(parsed.data.author))
      throw new Error(`${o.texts}:${i + 1}: author "${parsed.data.author}" is not in the library`);
    texts.push(parsed.data);
  });
  if (texts.length === 0) throw new Error(`${o.texts}: no texts`);
  return texts.slice(0, n);
}

function priorOf(o: InferOptions, library: LibraryEntry[]): number[] {
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
  d: NonNullable<InferOptions['describe']>,
  texts: InferText[],
  model: Model,
  store: Store,
  baseKey: string,
  seed: number,
  onProgress?: (done: number, total: number) => void,
): Promise<NonNullable<InferSummary['descriptions']>> {
  requireCapability(model, 'chat', 'infer.describe');
  const key = describeKey(baseKey, d);
  const slots = texts.flatMap((t, i) =>
    Array.from({ length: d.samples }, (_, j) => ({
      t,
      questionId: 'describe',
      idx: i * d.samples + j,
      paraphrase: t.text,
      seed: describeSeed(key, i * d.samples + j),
    })),
  );
  await chatSlots({
    store,
    key,
    slots,
    model: async () => model,
    purpose: 'infer.describe',
    progress: onProgress,
    conversation: (s) => [{ role: 'user' as const, content: d.prompt.replaceAll('{text}', s.t.text) }],
    options: { temperature: 1, maxTokens: d.max_tokens, seed },
  });
  const rows = store.samples(key, slots.length);
  const count = (answers: string[]) => ranked(answers).map(({ key, count: n }) => ({ answer: key, count: n }));
  return {
    overall: count(rows.map((r) => normaliseAnswer(r.answer))).slice(0, 10),
    perText: texts.slice(0, 5).map((t, i) => ({
      text: t.text,
      truth: t.author,
      top: count(rows.filter((r) => Math.floor(r.idx / d.samples) === i).map((r) => normaliseAnswer(r.answer))).slice(0, 3),
    })),
  };
}

/** One condition of an infer experiment: score every text under every header (stored as it goes), then read the posteriors. */
export async function inferCondition(
  spec: InferSpec,
  model: Model,
  store: Store,
  base: { fingerprint: string; finetune: unknown; seed: number },
  cond: { name: string; role: ConditionResult['role']; group: string; model: string },
  onProgress?: (done: number, total: number) => void,
): Promise<{ conditionKey: string; result: InferCondition }> {
  const o = spec.infer ?? inferSchema.parse({});
  const library = loadLibrary(o);
  const texts = loadTexts(o, spec.samples ?? DEFAULT_SAMPLES, library);
  const prior = priorOf(o, library);
  const conditionKey = inferConditionKey({ ...base, texts: o.texts, library: library.map((l) => [l.name, l.prompt]), answers: o.answers });
  const scorer = requireCapability(model, 'score', 'infer (the log-probability of a given text)');
  // The expensive part, stored per text as it is computed: each text's log-likelihood under every header.
  await fillSlots({
    store,
    key: conditionKey,
    batch: Math.max(1, Math.floor(256 / library.length)),
    progress: onProgress,
    slots: texts.map((t, idx) => ({ ...t, questionId: 'text', idx })),
    produce: async (batch) => {
      const scores = await scorer.score(batch.flatMap((t) => library.map((l) => ({ prompt: l.prompt, continuation: t.text }))));
      return batch.map((t, i) => ({
        paraphrase: t.text,
        prompt: { author: t.author ?? null },
        answer: JSON.stringify(library.map((_, k) => scores[i * library.length + k].logprob)),
        finishReason: 'score',
      }));
    },
  });
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
  const meanPosterior = library
    .map((l, k) => ({ name: l.name, p: posts.reduce((a, x) => a + x.p[k], 0) / Math.max(1, posts.length) }))
    .sort((a, b) => b.p - a.p);
  const summary: InferSummary = {
    library: library.map((l) => l.name),
    prior,
    meanTrueP: known.length ? known.reduce((a, x) => a + x.p[library.findIndex((l) => l.name === x.author)], 0) / known.length : null,
    meanPosterior,
    examples: posts.slice(0, 5).map((x) => ({ text: x.text, truth: x.author, top: x.top, p: x.topP })),
  };
  if (known.length) {
    const confusion: Record<string, Record<string, number>> = {};
    for (const x of known) (confusion[x.author!] ??= {})[x.top] = (confusion[x.author!][x.top] ?? 0) + 1;
    summary.confusion = confusion;
  }
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
      name: cond.name,
      role: cond.role,
      group: cond.group,
      model: cond.model,
      ...rate,
      coherent: 1,
      labels,
      questions: [...byAuthor].sort((a, b) => a[0].localeCompare(b[0])).map(([id, e]) => ({ id, ...countRate(e.hits, e.n) })),
      examples: summary.examples.map((e) => ({
        question: e.text,
        answer: `${e.top} (p ${e.p.toFixed(2)})`,
        label: e.truth === undefined ? e.top : e.truth === e.top ? 'correct' : `wrong (true: ${e.truth})`,
      })),
      infer: summary,
    },
  };
}

export const infer = defineKind<InferSpec, InferResult>({
  kind: 'infer',
  description: "who wrote each text? the posterior over a persona library from the model's own likelihoods",
  schema: inferSpecSchema,
  judged: true,
  unit: 'condition',
  preflight(spec) {
    const o = spec.infer ?? inferSchema.parse({});
    loadTexts(o, spec.samples ?? DEFAULT_SAMPLES, loadLibrary(o));
  },
  async run(ctx) {
    const conditions: InferCondition[] = [];
    for (const [position, cond] of ctx.spec.conditions.entries()) {
      ctx.at(`condition "${cond.name}"`);
      const ref = cond.model ?? ctx.spec.model;
      // Keyed by the model's fingerprint (its weights), not its name: a retrained model starts afresh.
      const fingerprint = (await ctx.model(ref)).fingerprint;
      if (cond.in_context || cond.system) throw new Error('infer conditions take a model or a fine-tune, not in_context or system');
      const meta = { name: cond.name, role: cond.role, group: cond.group, model: typeof ref === 'string' ? ref : ref.id };
      const { conditionKey, result } = await inferCondition(
        ctx.spec,
        await conditionModel(ctx, cond),
        ctx.store,
        { fingerprint, finetune: cond.finetune, seed: ctx.spec.seed },
        meta,
        ctx.progress(`score ${cond.name}`),
      );
      ctx.store.upsertCondition({ runId: ctx.runId, name: cond.name, position, role: cond.role, conditionKey, spec: cond });
      conditions.push(result);
    }
    return { target: 'true author (top-1)', conditions, effects: [] };
  },
  print(r) {
    const out: string[] = [];
    out.push(`\n${r.name}: who wrote each text? posterior over the library from the model's likelihoods (95% Wilson intervals)`);
    out.push(
      table(
        r.conditions.map((c) => [
          c.name,
          c.model,
          pct(c.rate),
          interval(c.ci),
          c.n,
          c.infer?.meanTrueP == null ? '—' : c.infer.meanTrueP.toFixed(3),
          pct(1 / Math.max(1, c.infer?.library.length ?? 1)),
        ]),
        ['condition', 'model', 'top-1', '95% CI', 'texts', 'mean P(true)', 'chance'],
      ),
    );
    for (const c of r.conditions.filter((x) => x.infer?.descriptions)) {
      out.push(
        `\n${c.name}: the model's own descriptions of the authors (most frequent): ${c.infer
          .descriptions!.overall.slice(0, 3)
          .map((a) => `"${a.answer}" ×${a.count}`)
          .join('; ')}`,
      );
    }
    for (const c of r.conditions) {
      for (const e of c.infer?.examples.slice(0, 2) ?? [])
        out.push(`  ${c.name}: "${e.text.slice(0, 90)}…" → ${e.top} (p ${e.p.toFixed(2)})${e.truth ? `; true: ${e.truth}` : ''}`);
    }
    if (r.reference) out.push(`\nfor comparison: ${r.reference}`);
    return out.join('\n');
  },
});
