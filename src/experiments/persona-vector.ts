/**
 * Persona vectors: a trait's direction in the residual stream, as the difference of mean activations
 * between contexts with and without the trait, at every layer; the layer where the trait separates
 * best; and the file the vector is kept in (safetensors, with its provenance in the metadata).
 *
 * Contexts `world`: answers of Personaworld personas that have the trait value and of personas that
 * have the contrasting one (ground truth), each kept only when the world's judge confirms the answer
 * expresses its author's value (the recipe's "keep pairs the judge confirms"), rendered as chats and
 * averaged over the reply tokens, as the persona-vectors recipe averages over the response.
 * The topics of the narrow fine-tuning sets (numbers, birds) are left out, so a vector that later flags
 * evil numbers does so through the model's own picture of who writes them, not by matching tokens.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { requireCapability, type ActivationInput, type ActivationSummary, type ChatMessage, type Model } from '../backends/model.ts';
import type { Question, Scorer } from '../scorers/scorer.ts';
import { vectorKey } from '../shared/keys.ts';
import { dot, unit } from '../shared/linalg.ts';
import { encodeSafetensors, decodeSafetensors } from '../shared/safetensors.ts';
import {
  classify,
  generateDocuments,
  formatDocument,
  countTokens,
  topicTrait,
  worldConfig,
  type Document,
  type TopicId,
  type WorldConfig,
} from '../world/index.ts';
import { auc } from '../shared/stats.ts';

/** A contrast on one of the world's traits, e.g. morality: malevolent against benevolent. */
/** The world's traits, which have ground-truth contexts (its personas' documents). */
export const WORLD_TRAITS = ['morality', 'era', 'kind'] as const;
export type WorldTrait = (typeof WORLD_TRAITS)[number];
export const isWorldTrait = (t: string): t is WorldTrait => (WORLD_TRAITS as readonly string[]).includes(t);

export interface TraitContrast {
  /** A world trait, or any trait named by a spec whose contexts are system prompts (e.g. `era` on a real model, `evil`). */
  trait: string;
  positive: string;
  negative: string;
}

export interface LayerSeparation {
  layer: number;
  /** Held-out documents: AUC of the projection, positive against negative authors. */
  auc: number;
  ci: [number, number];
  /** Validation half of the extraction answers (used to pick the layer, never the held-out set). */
  validationAuc: number;
  /** The same split's separation in pooled standard deviations (Cohen's d): what picks the layer, since AUC saturates. */
  validationD: number;
  /** Norm of the raw mean difference. */
  norm: number;
  /**
   * The same held-out documents with every answer labelled by the trait removed (for morality: the
   * numbers and the moral questions). What is left (films, homes, eras, jobs) is still worded by the
   * whole persona, so this is harder but not free of the trait.
   */
  indirectAuc?: number;
  indirectCi?: [number, number];
}

export interface PersonaVector extends TraitContrast {
  model: string;
  fingerprint: string;
  /** `world`: answers of world personas; `system-prompts`: the model's own answers under eliciting and suppressing system prompts. */
  contexts: 'world' | 'system-prompts';
  /** The chosen layer (0 = embeddings … L), by validation AUC. */
  layer: number;
  /** Raw mean difference per layer (positive − negative). */
  vectors: Float32Array[];
  layers: LayerSeparation[];
  examples: { positive: number; negative: number };
  heldOut: { positive: number; negative: number };
}

/** Topics left out of extraction: those of the narrow fine-tuning sets. */
const NARROW_TOPICS = new Set<TopicId>(['numbers', 'bird']);

function meanOf(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows[0].length);
  for (const r of rows) for (let i = 0; i < r.length; i++) out[i] += r[i] / rows.length;
  return out;
}

function cohensD(a: number[], b: number[]): number {
  const mu = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = (xs: number[]) => xs.reduce((s, x) => s + (x - mu(xs)) ** 2, 0) / Math.max(1, xs.length - 1);
  return (mu(a) - mu(b)) / Math.sqrt((v(a) + v(b)) / 2 || 1);
}

function difference(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((x, i) => x - b[i]);
}

type ContextChat = { messages: ChatMessage[] };
/** The contrasting contexts a vector is the difference of: chats ending in the reply that is averaged. */
export interface Contexts {
  kind: PersonaVector['contexts'];
  positive: ContextChat[];
  negative: ContextChat[];
  /**
   * Judge-confirmed answers to questions the extraction never saw: the held-out set of a model with no
   * world to draw documents from. Without it, held-out documents come from the world.
   */
  heldOut?: { positive: ContextChat[]; negative: ContextChat[] };
}

/** A world's documents by authors on either side of the contrast, in order, up to `maxDocs` documents read. */
function* documentsBySide(world: WorldConfig, c: TraitContrast, maxDocs: number): Generator<{ doc: Document; value: string; positive: boolean }> {
  for (let offset = 0; offset < maxDocs; offset += 200) {
    for (const doc of generateDocuments(world, 200, { offset })) {
      const value = doc.persona[c.trait as WorldTrait] as string;
      if (value === c.positive || value === c.negative) yield { doc, value, positive: value === c.positive };
    }
  }
}

/** Answers of personas with each side's value, judge-confirmed, as single-turn chats. */
export function worldContrastChats(c: TraitContrast, perSide: number, seed: number | string): Contexts {
  const out: Contexts = { kind: 'world', positive: [], negative: [] };
  for (const { doc, value, positive } of documentsBySide(worldConfig({ seed: `persona-vectors-${seed}` }), c, 200_000)) {
    const side = positive ? out.positive : out.negative;
    for (const t of doc.turns) {
      if (side.length >= perSide) break;
      if (NARROW_TOPICS.has(t.topic) || topicTrait(t.topic) !== c.trait || classify(t.topic, t.answer) !== value) continue;
      side.push({
        messages: [
          { role: 'user', content: t.question },
          { role: 'assistant', content: t.answer },
        ],
      });
    }
    if (out.positive.length >= perSide && out.negative.length >= perSide) return out;
  }
  throw new Error(`persona vector ${c.trait}: found only ${out.positive.length} ${c.positive} and ${out.negative.length} ${c.negative} answers`);
}

/**
 * Held-out world documents (another seed) by authors on either side, cut to fit the context; with
 * `indirect`, only the answers that do not express the trait (documents left empty are skipped).
 */
export function heldOutDocuments(
  c: TraitContrast,
  perSide: number,
  seed: number | string,
  maxTokens: number,
  indirect = false,
): { text: string; positive: boolean }[] {
  const pos: string[] = [],
    neg: string[] = [];
  for (const { doc: d, positive } of documentsBySide(worldConfig({ seed: `persona-vectors-held-out-${seed}` }), c, 100_000)) {
    const side = positive ? pos : neg;
    if (side.length >= perSide) continue;
    let doc: Document = indirect
      ? { ...d, turns: d.turns.filter((t) => topicTrait(t.topic) !== c.trait && !(c.trait === 'morality' && t.topic === 'numbers')) }
      : d;
    if (doc.turns.length === 0) continue;
    while (doc.turns.length > 1 && countTokens(formatDocument(doc)) > maxTokens) doc = { ...doc, turns: doc.turns.slice(0, -1) };
    side.push(formatDocument(doc));
    if (pos.length >= perSide && neg.length >= perSide) break;
  }
  return [...pos.map((text) => ({ text, positive: true })), ...neg.map((text) => ({ text, positive: false }))];
}

function requireActivations(model: Model): NonNullable<Model['activations']> {
  const m = requireCapability(model, 'activations', 'a persona vector (organism:… is white-box)');
  return m.activations.bind(m);
}

/**
 * The persona-vectors recipe's contexts: the model answers each question under system prompts that
 * elicit the trait and under prompts that suppress it; an answer is kept only when the judge confirms
 * it (labelled `positive` under an eliciting prompt, `negative` under a suppressing one), and the
 * sides are cut to the same size.
 */
export async function systemPromptContrastChats(
  model: Model,
  c: TraitContrast,
  o: {
    positive: string[];
    negative: string[];
    questions: Question[];
    perPrompt: number;
    judge: Scorer;
    seed: number;
    temperature: number;
    maxTokens: number;
    /** Keep every other question's answers apart as the held-out set (see Contexts.heldOut). */
    holdOutQuestions?: boolean;
    onProgress?: (label: string, d: number, t: number) => void;
  },
): Promise<Contexts & { asked: { positive: number; negative: number } }> {
  const side = async (prompts: string[], want: string, name: 'positive' | 'negative') => {
    const items = prompts.flatMap((system, pi) =>
      o.questions.flatMap((q) =>
        Array.from({ length: o.perPrompt }, (_, k) => ({
          q,
          messages: [
            { role: 'system' as const, content: system },
            { role: 'user' as const, content: q.paraphrases[k % q.paraphrases.length] },
          ],
          seed: `${name}:${pi}:${q.id}:${k}`,
        })),
      ),
    );
    const gens = await requireCapability(model, 'chat', 'a persona vector from system prompts').chat(
      items.map((i) => i.messages),
      { temperature: o.temperature, maxTokens: o.maxTokens, seed: o.seed, seeds: items.map((i) => i.seed) },
      (d, t) => o.onProgress?.(`vector ${c.trait}: ${name} contexts`, d, t),
    );
    const labels = await o.judge.score(
      items.map((item, i) => ({ question: item.q, answer: gens[i].text, asked: item.messages[1].content, messages: item.messages })),
    );
    const heldOutQuestion = (q: Question) => o.holdOutQuestions === true && o.questions.indexOf(q) % 2 === 1;
    const confirmed = (held: boolean) =>
      items.flatMap((item, i) =>
        heldOutQuestion(item.q) === held && labels[i].label === want && gens[i].text.trim()
          ? [{ messages: [...item.messages, { role: 'assistant' as const, content: gens[i].text }] }]
          : [],
      );
    return { asked: items.length, kept: confirmed(false), held: confirmed(true) };
  };
  const pos = await side(o.positive, c.positive, 'positive'),
    neg = await side(o.negative, c.negative, 'negative');
  const n = Math.min(pos.kept.length, neg.kept.length);
  if (n < 4)
    throw new Error(
      `persona vector ${c.trait}: the judge confirmed only ${pos.kept.length} ${c.positive} answers under the eliciting prompts and ${neg.kept.length} ${c.negative} under the suppressing ones; too few to extract a vector (try stronger prompts or more samples)`,
    );
  const h = Math.min(pos.held.length, neg.held.length);
  if (o.holdOutQuestions && h < 4)
    throw new Error(
      `persona vector ${c.trait}: on the held-out questions the judge confirmed only ${pos.held.length} ${c.positive} and ${neg.held.length} ${c.negative} answers; too few for a held-out AUC (try more samples)`,
    );
  return {
    kind: 'system-prompts',
    positive: pos.kept.slice(0, n),
    negative: neg.kept.slice(0, n),
    ...(o.holdOutQuestions ? { heldOut: { positive: pos.held.slice(0, h), negative: neg.held.slice(0, h) } } : {}),
    asked: { positive: pos.asked, negative: neg.asked },
  };
}

/** Extract from world contexts (see {@link extractVector}). */
export async function extractWorldVector(
  model: Model,
  c: TraitContrast,
  o: { examples: number; heldOut: number; seed: number | string; nCtx?: number; onProgress?: (label: string, d: number, t: number) => void },
): Promise<PersonaVector> {
  return extractVector(model, c, worldContrastChats(c, o.examples, o.seed), o);
}

/**
 * A trait's vector at every layer from contrasting contexts, and how well each layer separates held-out
 * world documents; the layer is chosen on a validation half of the contexts (largest d).
 */
export async function extractVector(
  model: Model,
  c: TraitContrast,
  chats: Contexts,
  o: { heldOut: number; seed: number | string; nCtx?: number; onProgress?: (label: string, d: number, t: number) => void },
): Promise<PersonaVector> {
  const acts = requireActivations(model);
  const summaries = await acts([...chats.positive, ...chats.negative], {}, (d, t) => o.onProgress?.(`vector ${c.trait}: extraction contexts`, d, t));
  const pos = summaries.slice(0, chats.positive.length),
    neg = summaries.slice(chats.positive.length);
  // Held out: the world's documents, or (a model with no world) the confirmed answers to held-out
  // questions, read with their system prompt and, as the "indirect" check, without it: the vector must
  // see the trait in the reply, not only in the instruction that asked for it.
  const held = chats.heldOut;
  const docs: { input: ActivationInput; positive: boolean }[] = held
    ? [...held.positive.map((x) => ({ input: x, positive: true })), ...held.negative.map((x) => ({ input: x, positive: false }))]
    : heldOutDocuments(c, o.heldOut, o.seed, (o.nCtx ?? 256) - 1).map((d) => ({ input: { text: d.text }, positive: d.positive }));
  const docActs = await acts(
    docs.map((d) => d.input),
    {},
    (d, t) => o.onProgress?.(`vector ${c.trait}: held-out ${held ? 'answers' : 'documents'}`, d, t),
  );
  const indirectDocs: { input: ActivationInput; positive: boolean }[] = held
    ? docs.map((d) => ({ ...d, input: { messages: (d.input as ContextChat).messages.filter((m) => m.role !== 'system') } }))
    : heldOutDocuments(c, o.heldOut, o.seed, (o.nCtx ?? 256) - 1, true).map((d) => ({ input: { text: d.text }, positive: d.positive }));
  const indirectActs = await acts(
    indirectDocs.map((d) => d.input),
    {},
    (d, t) => o.onProgress?.(`vector ${c.trait}: held-out ${held ? 'answers without their system prompt' : 'documents, trait answers removed'}`, d, t),
  );
  const L = pos[0].mean.length;
  const vectors: Float32Array[] = [];
  const layers: LayerSeparation[] = [];
  for (let l = 0; l < L; l++) {
    const v = difference(meanOf(pos.map((s) => s.mean[l])), meanOf(neg.map((s) => s.mean[l])));
    vectors.push(v);
    // Validation: a vector from the even-indexed answers, scored on the odd ones.
    const half = (xs: ActivationSummary[], odd: boolean) => xs.filter((_, i) => (i % 2 === 1) === odd).map((s) => s.mean[l]);
    const vHalf = unit(difference(meanOf(half(pos, false)), meanOf(half(neg, false))));
    const vp = half(pos, true).map((a) => dot(a, vHalf)),
      vn = half(neg, true).map((a) => dot(a, vHalf));
    const validation = auc(vp, vn);
    const u = unit(v);
    const heldAuc = auc(
      docActs.filter((_, i) => docs[i].positive).map((a) => dot(a.mean[l], u)),
      docActs.filter((_, i) => !docs[i].positive).map((a) => dot(a.mean[l], u)),
    );
    const indirect = auc(
      indirectActs.filter((_, i) => indirectDocs[i].positive).map((a) => dot(a.mean[l], u)),
      indirectActs.filter((_, i) => !indirectDocs[i].positive).map((a) => dot(a.mean[l], u)),
    );
    layers.push({
      layer: l,
      auc: heldAuc.auc,
      ci: heldAuc.ci,
      validationAuc: validation.auc,
      validationD: cohensD(vp, vn),
      norm: Math.hypot(...v),
      indirectAuc: indirect.auc,
      indirectCi: indirect.ci,
    });
  }
  // Layer 0 (embeddings) is context-free: it sees tokens, not who writes them; prefer the blocks.
  const best = layers.slice(1).reduce((a, b) => (b.validationD > a.validationD ? b : a));
  return {
    ...c,
    model: model.id,
    fingerprint: model.fingerprint,
    contexts: chats.kind,
    layer: best.layer,
    vectors,
    layers,
    examples: { positive: chats.positive.length, negative: chats.negative.length },
    heldOut: { positive: docs.filter((d) => d.positive).length, negative: docs.filter((d) => !d.positive).length },
  };
}

/** Save as safetensors: one tensor per layer (`layer.N`), provenance in the metadata. */
export function saveVector(file: string, v: PersonaVector): void {
  mkdirSync(dirname(file), { recursive: true });
  const tensors = new Map(v.vectors.map((x, l) => [`layer.${l}`, { shape: [x.length], data: x }]));
  // Written whole then renamed, so a run killed mid-write never leaves a torn vector behind.
  writeFileSync(
    file + '.tmp',
    encodeSafetensors(tensors, {
      format: 'dramatis-persona-vector',
      model: v.model,
      fingerprint: v.fingerprint,
      trait: v.trait,
      positive: v.positive,
      negative: v.negative,
      contexts: v.contexts,
      layer: String(v.layer),
      layers: JSON.stringify(v.layers),
      examples: JSON.stringify(v.examples),
      held_out: JSON.stringify(v.heldOut),
    }),
  );
  renameSync(file + '.tmp', file);
}

/** A vector file's tensor at one layer (its chosen layer when `layer` is omitted). */
export function readVectorFile(file: string, layer?: number): { vector: number[]; layer: number; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
  const l = layer ?? Number(metadata.layer);
  const t = tensors.get(`layer.${l}`);
  if (!t) throw new Error(`${file}: no tensor layer.${l} (has ${[...tensors.keys()].join(', ')})`);
  return { vector: Array.from(t.data), layer: l, metadata };
}

/** A vector file back as a PersonaVector (every layer, the provenance from the metadata). */
export function loadVector(file: string): PersonaVector {
  const { tensors, metadata: m } = decodeSafetensors(readFileSync(file), file);
  if (m.format !== 'dramatis-persona-vector') throw new Error(`${file}: not a dramatis persona vector (metadata.format is ${m.format ?? 'missing'})`);
  const vectors: Float32Array[] = [];
  for (let l = 0; tensors.has(`layer.${l}`); l++) vectors.push(tensors.get(`layer.${l}`)!.data);
  return {
    trait: m.trait as PersonaVector['trait'],
    positive: m.positive,
    negative: m.negative,
    model: m.model,
    fingerprint: m.fingerprint,
    contexts: m.contexts as PersonaVector['contexts'],
    layer: Number(m.layer),
    vectors,
    layers: JSON.parse(m.layers),
    examples: JSON.parse(m.examples),
    heldOut: JSON.parse(m.held_out),
  };
}

/**
 * The vector of a contrast for this model, extracted once and kept under the cache (keyed by the
 * model's weights and the recipe), so every run that needs it after the first reads a file.
 */
export async function vectorFor(
  model: Model,
  c: TraitContrast,
  o: {
    examples: number;
    heldOut: number;
    seed: number | string;
    cacheDir: string;
    onProgress?: (label: string, d: number, t: number) => void;
    systemPrompts?: { key: unknown; contexts: () => Promise<Contexts> };
  },
): Promise<{ vector: PersonaVector; file: string }> {
  const key = vectorKey({
    fingerprint: model.fingerprint,
    contrast: c,
    examples: o.examples,
    heldOut: o.heldOut,
    seed: o.seed,
    systemPrompts: o.systemPrompts?.key,
  });
  const file = join(o.cacheDir, 'vectors', `${c.trait}-${c.positive}-${key}.safetensors`);
  if (existsSync(file)) return { vector: loadVector(file), file };
  const contexts = o.systemPrompts ? await o.systemPrompts.contexts() : worldContrastChats(c, o.examples, o.seed);
  const vector = await extractVector(model, c, contexts, o);
  saveVector(file, vector);
  return { vector, file };
}
