/**
 * Every key dramatis stores or caches by, built here and nowhere else, each from named inputs.
 *
 * A key says what determines a stored thing: two things with the same key must be interchangeable, and
 * anything that could change the thing must be in its key (three bugs came from keys derived in place
 * with an input forgotten). The recipes are pinned by test/shared/keys.test.ts: changing one orphans
 * every sample, judgment or fine-tune stored under the old key, so a change must be deliberate.
 *
 * The object literals below keep their field order and short names on purpose: the digest is of their
 * JSON, and these recipes predate this module (the stored results of earlier versions stay reachable).
 */
import { createHash } from 'node:crypto';

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** The 16-hex-digit digest of a value's JSON (key order matters, as JSON.stringify writes it). */
export const hash = (x: unknown): string => sha256(JSON.stringify(x)).slice(0, 16);

// ── runs and conditions ─────────────────────────────────────────────────────────────────────────

/** A run: the whole parsed spec (after defaults and command-line overrides). */
export const runKey = (spec: unknown): string => hash(spec);

/** What a sampled condition's answers depend on (its samples are stored under this key). */
export interface ConditionInputs {
  /** The model's fingerprint (its weights, or server and name), not its spec string. */
  fingerprint: string;
  finetune: unknown;
  in_context: unknown;
  system: string | undefined;
  sampling: unknown;
  seed: number;
  /** The questions, whole (paraphrases, topics, judge prompts). */
  questions: unknown;
  /** Steering vectors while sampling (their values, not file paths). */
  steering?: unknown;
  /** Preventative steering the fine-tune trained with. */
  preventative?: unknown;
}

export const conditionKey = (c: ConditionInputs): string =>
  hash({
    fingerprint: c.fingerprint,
    finetune: c.finetune,
    in_context: c.in_context,
    system: c.system,
    sampling: c.sampling,
    seed: c.seed,
    questions: c.questions,
    ...(c.steering ? { steering: c.steering } : {}),
    ...(c.preventative ? { preventative: c.preventative } : {}),
  });

/** A point along a condition's fine-tune (the final model keeps the condition's own key). */
export const snapshotKey = (conditionKey: string, step: number): string => hash({ conditionKey, snapshot: step });

/**
 * The seed prefix of a condition's samples: the intervention, not the model's fingerprint, so the same
 * spec draws the same samples in process and through a server.
 */
export const sampleSeedKey = (c: {
  finetune: unknown;
  in_context: unknown;
  system: string | undefined;
  steering: unknown;
  sampling: unknown;
  snapshot: number | undefined;
}): string => hash({ finetune: c.finetune, in_context: c.in_context, system: c.system, steer: c.steering, sampling: c.sampling, snapshot: c.snapshot });

/** One sample's own seed: the condition's seed prefix, the question and the index. */
export const sampleSeed = (seedKey: string, questionId: string, idx: number): string => `${seedKey}:${questionId}:${idx}`;

/** A stored slot of a condition: `questionId#idx`. */
export const slotKey = (questionId: string, idx: number): string => `${questionId}#${idx}`;

// ── infer ───────────────────────────────────────────────────────────────────────────────────────

export const inferConditionKey = (c: {
  fingerprint: string;
  finetune: unknown;
  seed: number;
  texts: string;
  library: [string, string][];
  answers: number;
}): string => hash({ base: { fingerprint: c.fingerprint, finetune: c.finetune, seed: c.seed }, texts: c.texts, library: c.library, answers: c.answers });

export const describeKey = (baseKey: string, describe: unknown): string => hash({ baseKey, describe });

export const describeSeed = (key: string, idx: number): string => `${key}:${idx}`;

// ── audit and vectors ───────────────────────────────────────────────────────────────────────────

/** A dataset as read: its reference, how many examples, and the seed that drew or shuffled them. */
export const dataKey = (d: { data: string; examples: number | undefined; seed: number }): string => hash({ data: d.data, examples: d.examples, seed: d.seed });

/** The model's own answers to a dataset's prompts. */
export const ownAnswersKey = (c: { fingerprint: string; dataKey: string; sampling: unknown; seed: number }): string =>
  hash({ audit: 'own-answers', f: c.fingerprint, dataKey: c.dataKey, sampling: c.sampling, seed: c.seed });

export const ownAnswerSeed = (dataKey: string, i: number): string => `audit-own:${dataKey}:${i}`;

/** A persona vector extracted from a model (recipe 3: world or system-prompt contexts, layer chosen on validation). */
export const vectorKey = (c: {
  fingerprint: string;
  contrast: unknown;
  examples: number;
  heldOut: number;
  seed: number | string;
  systemPrompts: unknown;
}): string => hash({ f: c.fingerprint, c: c.contrast, e: c.examples, h: c.heldOut, s: c.seed, sp: c.systemPrompts, recipe: 3 });

/** The judgments a vector's monitor stores: one name per vector and place (prompt or reply). */
export const monitorJudgeName = (
  v: { fingerprint: string; trait: string; positive: string; negative: string; layer: number; norms: number[] },
  where: 'prompt' | 'reply',
): string => `monitor:${hash({ f: v.fingerprint, t: v.trait, p: v.positive, n: v.negative, l: v.layer, x: v.norms })}:${where}`;

// ── scorers ─────────────────────────────────────────────────────────────────────────────────────

export const rulesJudgeName = (spec: { name?: string }): string => `rules:${spec.name ?? 'rules'}:${hash(spec)}`;

export const rubricDigest = (c: { rubric: string; labels: unknown; threshold: unknown; above: unknown; below: unknown }): string =>
  hash({ rubric: c.rubric, labels: c.labels, t: c.threshold, a: c.above, b: c.below });

/** A judge the question file defines (one verdict, its prompts per question), with how its answers become labels. */
export const fileJudgeDigest = (c: { metric: string; prompts: string[]; labels: unknown; threshold: unknown; above: unknown; below: unknown; maxTokens: unknown }): string =>
  hash({ fileJudge: c.metric, prompts: c.prompts, labels: c.labels, t: c.threshold, a: c.above, b: c.below, maxTokens: c.maxTokens });

export const llmJudgeName = (c: { protocol: 'em' | 'rubric' | 'file'; rubric?: string; modelId: string; fingerprint: string; logprobs: boolean }): string =>
  c.protocol === 'em'
    ? `llm-em:${c.modelId}:${c.fingerprint}:${c.logprobs ? 'logprobs' : 'parsed'}`
    : `llm-${c.protocol}:${c.rubric}:${c.modelId}:${c.fingerprint}:${c.logprobs ? 'logprobs' : 'parsed'}`;

// ── backends ────────────────────────────────────────────────────────────────────────────────────

/** A checkpoint is its weights. */
export const weightsFingerprint = (safetensors: Buffer): string => sha256(safetensors).slice(0, 16);

/**
 * A model file too large to hash whole on every load (GGUF files run to many GB): its size and a
 * digest of evenly spaced pieces (`pieces`, taken by the caller: first, last and 14 between). Two
 * different weight files share it only if they agree in size and in all those bytes.
 */
export const sampledFileFingerprint = (size: number, pieces: Buffer[], extra: unknown = null): string => {
  const h = createHash('sha256').update(`${size}|${JSON.stringify(extra)}|`);
  for (const p of pieces) h.update(p);
  return h.digest('hex').slice(0, 16);
};

/** A served model is its server and its name. */
export const servedFingerprint = (baseUrl: string, model: string): string => sha256(`${baseUrl}|${model}`).slice(0, 16);

/** A fine-tune of a checkpoint: everything that determines the trained weights. */
export const finetuneKey = (c: {
  from: string;
  mode: string;
  learningRate: number;
  epochs: number;
  batchSize: number;
  rank: number | undefined;
  seed: number;
  chats: unknown;
  snapshots: number;
  steering: unknown;
}): string =>
  hash({
    from: c.from,
    mode: c.mode,
    lr: c.learningRate,
    epochs: c.epochs,
    batch: c.batchSize,
    rank: c.rank,
    seed: c.seed,
    chats: c.chats,
    snapshots: c.snapshots,
    ...(c.steering ? { steering: c.steering } : {}),
  });

/** A remote request, whole (its full digest: the request cache is large and shared). */
export const requestKey = (request: unknown): string => sha256(JSON.stringify(request));

/** The integer seed a server takes for one sample: from the run seed and the sample's own seed. */
export function requestSeed(seed: number | undefined, rowSeed: number | string | undefined): number {
  const h = createHash('sha256')
    .update(`${seed ?? 0}:${rowSeed ?? 0}`)
    .digest();
  return h.readUInt32BE(0) & 0x7fffffff;
}
