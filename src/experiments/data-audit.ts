/**
 * The training-data audit: which personas would a dataset select, before anyone trains on it?
 *
 * - White-box (models with activations): the projection difference of the persona-vectors study. For
 *   each example, the projection (onto a trait vector, averaged over the reply) of the dataset's answer
 *   minus that of the model's own answer to the same prompt. A positive mean says training on the set
 *   pushes the model along the trait.
 * - Black-box (any model that scores text): the persona selection model's own prediction. Who, in the
 *   model's view, would have written the dataset's answers? The posterior over a persona library from
 *   the likelihood of each answer after each persona's header, against the same for the model's own
 *   answers; the trait marginals that rise are the direction the fine-tune should move the model.
 */
import { requireCapability, type ChatMessage, type Model } from '../backends/model.ts';
import { ownAnswerSeed, ownAnswersKey } from '../shared/keys.ts';
import type { CommonSpec } from './spec-parts.ts';
import type { Store } from './store.ts';
import { chatSlots } from './sampling.ts';
import { personaLibrary, escapeSpecialTokens, type LibraryPersona } from '../world/index.ts';
import { posterior } from '../shared/posterior.ts';
import { dot, unit } from '../shared/linalg.ts';
import type { PersonaVector } from './persona-vector.ts';

/** One example split into what the model is asked and the answer the dataset gives. */
export interface AuditExample {
  prompt: ChatMessage[];
  answer: string;
}

export function auditExamples(chats: { messages: ChatMessage[] }[], source: string): AuditExample[] {
  return chats.map((c, i) => {
    const last = c.messages.length - 1;
    if (last < 1 || c.messages[last].role !== 'assistant') throw new Error(`${source}: example ${i + 1} does not end in an assistant reply`);
    return { prompt: c.messages.slice(0, last), answer: c.messages[last].content };
  });
}

/** The model's own answer to each prompt, stored as samples so a rerun (or a killed run) pays nothing twice. */
export async function storedOwnAnswers(
  store: Store,
  model: Model,
  spec: Pick<CommonSpec, 'sampling' | 'seed'>,
  dataKey: string,
  examples: AuditExample[],
  progress?: (d: number, t: number) => void,
): Promise<{ key: string; answers: string[] }> {
  const key = ownAnswersKey({ fingerprint: model.fingerprint, dataKey, sampling: spec.sampling, seed: spec.seed });
  await chatSlots({
    store,
    key,
    model: async () => model,
    purpose: "the audit's own answers",
    progress,
    slots: examples.map((e, i) => ({ questionId: 'example', idx: i, paraphrase: e.prompt.at(-1)?.content ?? '', seed: ownAnswerSeed(dataKey, i), e })),
    conversation: (s) => s.e.prompt,
    options: { temperature: spec.sampling.temperature, topP: spec.sampling.top_p, maxTokens: spec.sampling.max_tokens, seed: spec.seed },
  });
  const rows = store.samples(key, examples.length);
  if (rows.length !== examples.length) {
    const f = store.failures(key);
    throw new Error(
      `audit: stored ${rows.length} own answers for ${examples.length} examples${f.count ? `; ${f.count} requests failed for good (${f.error}); a rerun retries them` : ''}`,
    );
  }
  return { key, answers: rows.map((r) => r.answer) };
}

/**
 * Per example: projection of the dataset's answer and of the model's own answer onto the unit vector at
 * the vector's layer, averaged over the reply. An empty own answer projects at the generation prompt.
 */
export async function projectionPulls(
  model: Model,
  examples: AuditExample[],
  own: string[],
  v: PersonaVector,
  onProgress?: (d: number, t: number) => void,
): Promise<{ data: number[]; own: number[]; pull: number[] }> {
  const white = requireCapability(model, 'activations', 'the projection difference');
  const u = unit(v.vectors[v.layer]);
  const inputs = [
    ...examples.map((e) => ({ messages: [...e.prompt, { role: 'assistant' as const, content: e.answer }] })),
    ...examples.map((e, i) => ({ messages: own[i].trim() ? [...e.prompt, { role: 'assistant' as const, content: own[i] }] : e.prompt })),
  ];
  const acts = await white.activations(inputs, {}, onProgress);
  const proj = acts.map((a, i) => dot(i < examples.length || own[i - examples.length].trim() ? a.mean[v.layer] : a.at[v.layer], u));
  const data = proj.slice(0, examples.length),
    mine = proj.slice(examples.length);
  return { data, own: mine, pull: data.map((x, i) => x - mine[i]) };
}

export interface AuditLibrary {
  personas: { name: string; traits?: Record<string, string> }[];
  /** The scoring prompt for persona k (undefined = the model's default, no persona). */
  prompt: (persona: number | undefined, e: AuditExample) => string;
  continuation: (answer: string) => string;
}

/**
 * The world's library in the organism's own chat-log format (as pretraining showed chats): persona k's
 * prompt carries its author header; the default is the chat template with none. The format is raw
 * text, so the data's own text is escaped first: a `<END>` in an answer stays words, never the
 * template's end token (as in the chat template, see the organism's tokenizer).
 */
export function worldAuditLibrary(): AuditLibrary {
  const lib: LibraryPersona[] = personaLibrary();
  const turns = (e: AuditExample) => e.prompt.map((m) => `<${m.role}> ${escapeSpecialTokens(m.content)}`).join(' ');
  return {
    personas: lib.map((p) => ({ name: p.name, traits: { morality: p.morality, era: p.era, kind: p.kind, register: p.register } })),
    prompt: (k, e) => `<doc> ${k === undefined ? '' : lib[k].header + ' '}${turns(e)} <assistant>`.replace(/\s+/g, ' '),
    continuation: (answer) => ` ${escapeSpecialTokens(answer)} <end>`,
  };
}

/**
 * A library from names and descriptions (the infer format), for models scored as raw text:
 * `{header}` (the persona's description or nothing) and `{conversation}` fill the template.
 */
export function fileAuditLibrary(personas: { name: string; description: string }[], template: string): AuditLibrary {
  const conversation = (e: AuditExample) =>
    e.prompt.map((m) => `${m.role === 'user' ? 'User' : m.role === 'system' ? 'System' : 'Assistant'}: ${m.content}`).join('\n');
  return {
    personas: personas.map((p) => ({ name: p.name })),
    prompt: (k, e) =>
      template
        .replaceAll('{header}', k === undefined ? '' : `The following conversation was written by ${personas[k].description}.\n\n`)
        .replaceAll('{conversation}', conversation(e)),
    continuation: (answer) => ` ${answer}`,
  };
}

export interface LibraryScores {
  /** [example][persona] log-likelihood of the answer after the persona's prompt. */
  ll: number[][];
  /** Log-likelihood after the default prompt. */
  llDefault: number[];
}

/** Score every answer under every persona and the default (one batch of pairs). */
export async function scoreUnderLibrary(
  model: Model,
  examples: AuditExample[],
  answers: string[],
  lib: AuditLibrary,
  onProgress?: (d: number, t: number) => void,
): Promise<LibraryScores> {
  const scoring = requireCapability(model, 'score', 'the black-box audit');
  const K = lib.personas.length;
  const pairs = examples.flatMap((e, i) =>
    [undefined, ...lib.personas.map((_, k) => k)].map((k) => ({ prompt: lib.prompt(k, e), continuation: lib.continuation(answers[i]) })),
  );
  const scores = await scoring.score(pairs, onProgress);
  const ll: number[][] = [],
    llDefault: number[] = [];
  examples.forEach((_, i) => {
    const row = scores.slice(i * (K + 1), (i + 1) * (K + 1)).map((s) => s.logprob);
    llDefault.push(row[0]);
    ll.push(row.slice(1));
  });
  return { ll, llDefault };
}

/** Posterior over the library for each example (uniform prior). */
export function posteriors(s: LibraryScores): number[][] {
  return s.ll.map((row) =>
    posterior(
      row,
      row.map(() => 1 / row.length),
    ),
  );
}

/** P(trait = value | answer): the posterior mass on personas with that value. */
export function traitMarginal(post: number[], lib: AuditLibrary, trait: string, value: string): number {
  return post.reduce((a, p, k) => a + (lib.personas[k].traits?.[trait] === value ? p : 0), 0);
}
