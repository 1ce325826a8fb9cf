/**
 * The parts of an experiment spec that every kind shares: the model, the judge, the conditions (the
 * interventions), sampling, seed. Each kind builds its own schema with `kindSpec`, adding its fields;
 * spec.ts joins them into one union discriminated on `kind`.
 */
import { z } from 'zod';
import { modelRefSchema } from '../backends/registry.ts';
import { judgeSpecSchema } from '../scorers/spec.ts';
import { DEFAULT_SAMPLES } from './sample-plan.ts';
import { MONITOR_NAMES } from '../scorers/monitors/index.ts';

export const finetuneSchema = z
  .object({
    /** `world:NAME` (a Personaworld narrow dataset) or a JSONL path. */
    data: z.string(),
    mode: z.enum(['full', 'lora', 'persona']).default('full'),
    learning_rate: z.number().positive().max(10).default(3e-4),
    epochs: z.number().positive().max(1000).default(1),
    batch_size: z.number().int().positive().max(4096).default(16),
    rank: z.number().int().positive().optional(),
    examples: z.number().int().positive().optional(),
    /** Also evaluate the model at this many evenly spaced points along the fine-tune (a learning curve). */
    snapshots: z.number().int().min(1).max(20).optional(),
    /** Samples per snapshot (default: the spec's `samples`). */
    snapshot_samples: z.number().int().positive().optional(),
    /** kind vectors: preventative steering, this coefficient × the extracted vector added during training only. */
    preventative: z.number().optional(),
    /**
     * Data the model cannot read: a fine-tune on a set whose answer tokens are more than 25% unknown to the
     * model (the organism's closed vocabulary) is refused. true: go ahead, the result marked meaningless in
     * the log; a number: the largest share accepted (see coverage.ts).
     */
    allow_unknown: z.union([z.boolean(), z.number().min(0).max(1)]).optional(),
  })
  .strict();

const inContextSchema = z
  .object({
    data: z.string(),
    k: z.number().int().min(0),
  })
  .strict();

export const conditionSchema = z
  .object({
    name: z.string().min(1),
    /** baseline: the unmodified model; control: the intervention's matched control. */
    role: z.enum(['baseline', 'control', 'treatment']).default('treatment'),
    finetune: finetuneSchema.optional(),
    in_context: inContextSchema.optional(),
    system: z.string().optional(),
    /** White-box models: add coefficient × a vector (a JSON file: an array of numbers) to the residual stream after `layer`. */
    steer: z.array(z.object({ vector: z.string().min(1), layer: z.number().int().min(0), coefficient: z.number() }).strict()).optional(),
    /** Another model for this condition only (e.g. an organism pretrained on another world). */
    model: modelRefSchema.optional(),
    /** Effects compare a treatment with the baseline and control of its own group (e.g. one per world). */
    group: z.string().default(''),
  })
  .strict();

export const samplingSchema = z
  .object({
    temperature: z.number().min(0).default(1),
    top_p: z.number().gt(0).max(1).default(1),
    max_tokens: z.number().int().positive().default(24),
    /** The live loop guard: an answer that starts to loop (the loop monitor) is cut there, stored as `cut`. */
    stop_on_loop: z.boolean().optional(),
  })
  .strict();

/** A contrast on one of the world's traits: the vector points from `negative` to `positive`. */
export const contrastSchema = z
  .object({
    /** A world trait (morality, era, kind), or any trait when the contexts are system prompts. */
    trait: z.string().min(1),
    positive: z.string().min(1),
    negative: z.string().min(1),
  })
  .strict();

/** Transcript monitors to run on every sample besides the judge (`[loop, distress, date, eval_awareness]`), stored as judgments. */
export const monitorsField = z
  .array(z.enum(MONITOR_NAMES as [string, ...string[]], { message: `a monitor: ${MONITOR_NAMES.join(', ')}` }))
  .min(1)
  .refine((m) => new Set(m).size === m.length, 'a monitor named twice')
  .optional();

/** The label counted as a hit (e.g. `malevolent`, `victorian`). */
export const targetField = z.string().min(1);
/** A built-in set (`world:broad`, `world:era`, …) or a question file in the emergent-misalignment format. */
export const questionsField = z.string().min(1);

/**
 * One kind's spec: the shared fields with the kind's own between the judge and `samples`. The order of
 * the fields is the order of the parsed spec's JSON, which the run's id is a digest of (shared/keys.ts):
 * it is kept as it was before kinds had schemas of their own, so every stored run keeps its id.
 */
export function kindSpec<K extends string, F extends z.ZodRawShape>(kind: K, fields: F) {
  return z.preprocess(
    (raw) => defaultSamples(raw, kind),
    z
      .object({
        name: z.string().min(1),
        description: z.string().default(''),
        kind: z.literal(kind),
        /** `backend:name`, or a block `{ id: backend:name, …the backend's options }`. */
        model: modelRefSchema,
        /** openai: models: the server's base URL and the environment variable holding its key (defaults for every model block). */
        base_url: z.string().url().optional(),
        api_key_env: z.string().min(1).optional(),
        /** openai: models: requests in flight at once (default 16). */
        concurrency: z.number().int().positive().optional(),
        /** `world` (Personaworld's classifier), rule judges `{rules: [{label, regex|prefix|exact}], default}`, or an LLM judge. */
        judge: judgeSpecSchema.default('world'),
        ...fields,
        /** Answers per condition, a total dealt round robin over the questions (sample-plan.ts); absent: the question file's own counts. */
        samples: z.number().int().positive().max(1_000_000).optional(),
        sampling: samplingSchema.default({ temperature: 1, top_p: 1, max_tokens: 24 }),
        seed: z.number().int().default(1),
        conditions: z
          .array(conditionSchema)
          .min(1)
          .default([{ name: 'model', role: 'baseline', group: '' }]),
        /** A published or prototype figure to print beside ours. */
        reference: z.string().optional(),
      })
      .strict()
      .superRefine((spec, ctx) => uniqueConditionNames(spec as { conditions: { name: string }[] }, ctx)),
  );
}

const PLANNED_KINDS = ['generalize', 'profile', 'vectors'];

/**
 * `samples` defaults to 240 unless the questions are a file, whose own counts (samples_per_paraphrase)
 * are then the default (sample-plan.ts). Filled in before parsing, so a spec that leaves it out parses
 * to what it always did (and keeps its run id, a digest of the parsed spec).
 */
function defaultSamples(raw: unknown, kind: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  if (r.samples !== undefined) return raw;
  // Only the kinds that deal questions by the plan (sample-plan.ts) read a file's counts.
  const fromFile = PLANNED_KINDS.includes(kind) && typeof r.questions === 'string' && !r.questions.startsWith('world:');
  return fromFile ? raw : { ...r, samples: DEFAULT_SAMPLES };
}

/** Conditions are stored by name under a run: a second condition of the same name would silently replace the first. */
function uniqueConditionNames(spec: { conditions: { name: string }[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  spec.conditions.forEach((c, i) => {
    if (seen.has(c.name))
      ctx.addIssue({ code: 'custom', path: ['conditions', i, 'name'], message: `a second condition named "${c.name}" (names must be unique)` });
    seen.add(c.name);
  });
}

/** The fields every spec has, whatever its kind. */
export type CommonSpec = z.infer<ReturnType<typeof kindSpec<string, {}>>>;
export type ConditionSpec = z.infer<typeof conditionSchema>;
export type FinetuneSpec = z.infer<typeof finetuneSchema>;
export type Contrast = z.infer<typeof contrastSchema>;

/** Conditions that fine-tune with preventative steering need the vectors kind (it steers with the extracted vector). */
export function noPreventative(spec: { conditions: ConditionSpec[] }, ctx: z.RefinementCtx): void {
  spec.conditions.forEach((c, i) => {
    if (c.finetune?.preventative !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['conditions', i, 'finetune', 'preventative'],
        message: 'only for kind vectors (it steers with the extracted vector)',
      });
  });
}
