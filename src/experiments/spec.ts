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
  kind: z.enum(['generalize', 'profile', 'infer']),
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
  samples: z.number().int().positive().default(240),
  sampling: samplingSchema.default({ temperature: 1, top_p: 1, max_tokens: 24 }),
  seed: z.number().int().default(1),
  conditions: z.array(conditionSchema).min(1),
  /** A published or prototype figure to print beside ours. */
  reference: z.string().optional(),
}).strict().superRefine((spec, ctx) => {
  const need = (field: 'target' | 'questions') => {
    if (spec[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required for kind ${spec.kind}` });
  };
  if (spec.kind === 'generalize') { need('target'); need('questions'); }
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
