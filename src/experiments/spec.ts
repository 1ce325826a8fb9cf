/**
 * The experiment spec: one YAML file says which model, which interventions, which questions, which judge
 * and how many samples. Validated with zod; errors name the file, the line and the field.
 */
import { readFileSync } from 'node:fs';
import YAML, { LineCounter, isNode } from 'yaml';
import { z } from 'zod';
import { judgeSpecSchema } from './judges.ts';

const finetuneSchema = z.object({
  /** `world:NAME` (a Personaworld narrow dataset) or a JSONL path. */
  data: z.string(),
  mode: z.enum(['full', 'lora', 'persona']).default('full'),
  learning_rate: z.number().positive().default(3e-4),
  epochs: z.number().positive().default(1),
  batch_size: z.number().int().positive().default(16),
  rank: z.number().int().positive().optional(),
  examples: z.number().int().positive().optional(),
  /** Also evaluate the model at this many evenly spaced points along the fine-tune (a learning curve). */
  snapshots: z.number().int().min(1).max(20).optional(),
  /** Samples per snapshot (default: the spec's `samples`). */
  snapshot_samples: z.number().int().positive().optional(),
  /** kind vectors: preventative steering, this coefficient × the extracted vector added during training only. */
  preventative: z.number().optional(),
}).strict();

const inContextSchema = z.object({
  data: z.string(),
  k: z.number().int().min(0),
}).strict();

export const inferSchema = z.object({
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
  describe: z.object({
    samples: z.number().int().positive().default(8),
    prompt: z.string().default('Here is a text:\n\n{text}\n\nWho wrote it? Describe the author in one sentence.'),
    max_tokens: z.number().int().positive().default(32),
  }).strict().optional(),
}).strict();

/** A contrast on one of the world's traits: the vector points from `negative` to `positive`. */
export const contrastSchema = z.object({
  trait: z.enum(['morality', 'era', 'kind']),
  positive: z.string().min(1),
  negative: z.string().min(1),
}).strict();

export const vectorsSchema = z.object({
  contrast: contrastSchema.default({ trait: 'morality', positive: 'malevolent', negative: 'benevolent' }),
  /**
   * `world`: answers of world personas with and without the trait (ground truth, judge-confirmed); or
   * the persona-vectors recipe: the model's own answers under system prompts that elicit the trait and
   * prompts that suppress it, to `questions` (default: the spec's), `samples` per prompt and question,
   * each kept only when the spec's judge labels it the contrast's positive (or negative) value.
   */
  contexts: z.union([z.literal('world'), z.object({
    system_prompts: z.object({ positive: z.array(z.string().min(1)).min(1), negative: z.array(z.string().min(1)).min(1) }).strict(),
    questions: z.string().min(1).optional(),
    samples: z.number().int().positive().default(10),
  }).strict()]).default('world'),
  /** Answers per side for extraction, and held-out documents per side for the AUC. */
  examples: z.number().int().min(10).default(300),
  held_out: z.number().int().min(5).default(200),
  /** Monitor: store each sample's projection (last prompt token and reply) and correlate it with the judged trait. */
  monitor: z.boolean().default(true),
  /** Steering sweep: these conditions, each with coefficient × vector added at the vector's layer. */
  sweep: z.object({
    conditions: z.array(z.string().min(1)).min(1),
    coefficients: z.array(z.number()).min(1),
  }).strict().optional(),
  /** Predict each fine-tune's shift before training: the projection difference of its data (the audit). */
  predict: z.boolean().default(true),
}).strict();

export const auditSchema = z.object({
  /** The datasets audited: `world:NAME`, a mixture `world:A*0.2+world:B*0.8`, or a chat JSONL path. */
  datasets: z.array(z.object({ name: z.string().min(1), data: z.string().min(1), examples: z.number().int().positive().optional() }).strict()).min(1),
  /** White-box: trait vectors to project on (extracted from world contexts on the audited model). */
  traits: z.array(contrastSchema).default([
    { trait: 'morality', positive: 'malevolent', negative: 'benevolent' },
    { trait: 'era', positive: 'victorian', negative: 'modern' },
    { trait: 'kind', positive: 'ai', negative: 'human' },
  ]),
  vector_examples: z.number().int().min(10).default(300),
  /** Black-box: `world` (the persona library in the organism's chat-log format) or a file of [{name, description}]. */
  library: z.string().default('world'),
  /** File libraries: the scoring prompt, `{header}` (empty for the model's default) and `{conversation}`. */
  template: z.string().default('{header}{conversation}\nAssistant:'),
  /** Examples shown as pulling hardest. */
  top: z.number().int().positive().default(10),
  /** Which way counts as a hit (`rate`): the target trait value, e.g. malevolent. */
  target_trait: contrastSchema.optional(),
}).strict();

export const conditionSchema = z.object({
  name: z.string().min(1),
  /** baseline: the unmodified model; control: the intervention's matched control. */
  role: z.enum(['baseline', 'control', 'treatment']).default('treatment'),
  finetune: finetuneSchema.optional(),
  in_context: inContextSchema.optional(),
  system: z.string().optional(),
  /** White-box models: add coefficient × a vector (a JSON file: an array of numbers) to the residual stream after `layer`. */
  steer: z.array(z.object({ vector: z.string().min(1), layer: z.number().int().min(0), coefficient: z.number() }).strict()).optional(),
  /** Another model for this condition only (e.g. an organism pretrained on another world). */
  model: z.string().optional(),
  /** Effects compare a treatment with the baseline and control of its own group (e.g. one per world). */
  group: z.string().default(''),
}).strict();

const samplingSchema = z.object({
  temperature: z.number().min(0).default(1),
  top_p: z.number().gt(0).max(1).default(1),
  max_tokens: z.number().int().positive().default(24),
}).strict();

export const specSchema = z.object({
  name: z.string().min(1),
  description: z.string().default(''),
  /** generalize: judged rates of a target trait; profile: what the model says (distributions, entropy); infer: who wrote a text. */
  kind: z.enum(['generalize', 'profile', 'infer', 'vectors', 'audit']),
  model: z.string().min(1),
  /** openai: models: the server's base URL and the environment variable holding its key. */
  base_url: z.string().url().optional(),
  api_key_env: z.string().min(1).optional(),
  /** openai: models: requests in flight at once (default 16). */
  concurrency: z.number().int().positive().optional(),
  /** `world` (Personaworld's classifier) or rule judges: `{rules: [{label, regex|prefix|exact}], default}`. */
  judge: judgeSpecSchema.default('world'),
  /** The label counted as a hit (e.g. `malevolent`, `victorian`); generalize only. */
  target: z.string().min(1).optional(),
  /** A built-in set (`world:broad`, `world:era`, …) or a question file in the emergent-misalignment format. */
  questions: z.string().min(1).optional(),
  /** infer: the texts, the persona library and the prior. */
  infer: inferSchema.optional(),
  /** vectors: the persona vector (extract, monitor, steer, prevent); runs the conditions like generalize. */
  vectors: vectorsSchema.optional(),
  /** audit: the datasets and how to read them. */
  audit: auditSchema.optional(),
  samples: z.number().int().positive().default(240),
  sampling: samplingSchema.default({ temperature: 1, top_p: 1, max_tokens: 24 }),
  seed: z.number().int().default(1),
  conditions: z.array(conditionSchema).min(1).default([{ name: 'model', role: 'baseline', group: '' }]),
  /** A published or prototype figure to print beside ours. */
  reference: z.string().optional(),
}).strict().superRefine((spec, ctx) => {
  const need = (field: 'target' | 'questions') => {
    if (spec[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required for kind ${spec.kind}` });
  };
  if (spec.kind === 'generalize' || spec.kind === 'vectors') { need('target'); need('questions'); }
  if (spec.kind === 'vectors' && !spec.vectors) ctx.addIssue({ code: 'custom', path: ['vectors'], message: 'required for kind vectors' });
  if (spec.kind === 'audit' && !spec.audit) ctx.addIssue({ code: 'custom', path: ['audit'], message: 'required for kind audit' });
  if (spec.kind !== 'vectors' && spec.vectors) ctx.addIssue({ code: 'custom', path: ['vectors'], message: 'only for kind vectors' });
  if (spec.kind !== 'audit' && spec.audit) ctx.addIssue({ code: 'custom', path: ['audit'], message: 'only for kind audit' });
  spec.conditions.forEach((c, i) => {
    if (c.finetune?.preventative !== undefined && spec.kind !== 'vectors') ctx.addIssue({ code: 'custom', path: ['conditions', i, 'finetune', 'preventative'], message: 'only for kind vectors (it steers with the extracted vector)' });
  });
  for (const name of spec.vectors?.sweep?.conditions ?? []) {
    if (!spec.conditions.some((c) => c.name === name)) ctx.addIssue({ code: 'custom', path: ['vectors', 'sweep', 'conditions'], message: `no condition named "${name}"` });
  }
  if (spec.kind === 'profile') need('questions');
  if (spec.kind !== 'infer' && spec.infer) ctx.addIssue({ code: 'custom', path: ['infer'], message: `only for kind infer` });
});

export type ExperimentSpec = z.infer<typeof specSchema>;
export type ConditionSpec = z.infer<typeof conditionSchema>;

/** Parse and validate YAML text; `file` names the source in error messages. */
export function parseSpec(text: string, file: string): ExperimentSpec {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new Error(`${file}:${e.linePos?.[0].line ?? '?'}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const parsed = specSchema.safeParse(doc.toJS({ maxAliasCount: 1000 }));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  // Point at the deepest node of the path that exists in the document.
  let line: number | undefined;
  for (let n = issue.path.length; n >= 0 && line === undefined; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(issue.path.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) line = lines.linePos(node.range[0]).line;
  }
  const field = issue.path.join('.') || '(top level)';
  throw new Error(`${file}:${line ?? 1}: ${field}: ${issue.message}`);
}

export function loadSpec(file: string): ExperimentSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSpec(text, file);
}
