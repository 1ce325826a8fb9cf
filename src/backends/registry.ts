/**
 * The backend registry: model references → models. Open, keyed by the reference's prefix
 * (`organism:NAME`, `openai:MODEL`; `registerBackend` adds more, e.g. `gguf:` or `hf:`). Each backend
 * declares its own options (a zod schema), given in the spec's model block:
 *
 *   model: organism:assistant                                   # the plain string form
 *   model: { id: openai:gpt-4o, base_url: http://…/v1, api_key_env: KEY, concurrency: 8 }
 */
import { z } from 'zod';
import type { Model } from './model.ts';
import { OpenAIModel } from './openai-backend.ts';

/** A model as a spec names it: `prefix:name`, or a block with the id and the backend's options. */
export const modelRefSchema = z.union([z.string().min(1), z.object({ id: z.string().min(1) }).catchall(z.unknown())]);
export type ModelRef = z.infer<typeof modelRefSchema>;

export const modelId = (ref: ModelRef): string => (typeof ref === 'string' ? ref : ref.id);

export interface LoadOptions {
  /** Where backends may cache (fine-tuned checkpoints, responses). */
  cacheDir: string;
  /** openai: the server (default $OPENAI_BASE_URL, else https://api.openai.com/v1). Same as the block's base_url. */
  baseUrl?: string;
  /** openai: the environment variable holding the key. Same as the block's api_key_env. */
  apiKeyEnv?: string;
  /** openai: requests in flight at once. Same as the block's concurrency. */
  concurrency?: number;
  /** In-process backends: fine-tune on a worker thread, so the caller (a server) keeps answering. */
  trainInWorker?: boolean;
}

export interface Backend<O extends z.ZodType = z.ZodType> {
  /** The reference prefix, without the colon. */
  prefix: string;
  /** What the name after the prefix is, for errors: e.g. `NAME|PATH`. */
  names: string;
  /** The options a model block may give this backend. */
  options: O;
  load(name: string, options: z.infer<O>, context: { cacheDir: string; ref: string; trainInWorker?: boolean }): Promise<Model>;
}

const backends = new Map<string, Backend>();

export function registerBackend<O extends z.ZodType>(b: Backend<O>): void {
  if (backends.has(b.prefix)) throw new Error(`a backend for "${b.prefix}:" is already registered`);
  backends.set(b.prefix, b as unknown as Backend);
}

export const registeredBackends = (): string[] => [...backends.keys()];

export async function loadModel(ref: ModelRef, o: LoadOptions): Promise<Model> {
  const id = modelId(ref);
  const colon = id.indexOf(':');
  const prefix = colon < 0 ? id : id.slice(0, colon);
  const name = colon < 0 ? '' : id.slice(colon + 1);
  const backend = backends.get(prefix);
  if (!backend) throw new Error(`unknown model "${id}": known backends are ${[...backends.values()].map((b) => `${b.prefix}:${b.names}`).join(', ')}`);
  if (!name) throw new Error(`model "${id}": say which, e.g. ${backend.prefix}:${backend.names.split('|')[0]}`);
  // The command line's and the spec's top-level fields are the defaults; the model's own block wins.
  const legacy = {
    ...(o.baseUrl ? { base_url: o.baseUrl } : {}),
    ...(o.apiKeyEnv ? { api_key_env: o.apiKeyEnv } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  };
  const { id: _id, ...block } = typeof ref === 'string' ? { id } : ref;
  const given = { ...legacyFor(backend, legacy), ...block };
  const parsed = backend.options.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `model "${id}": ${issue.path.join('.') || 'options'}: ${issue.message} (the ${backend.prefix}: backend takes ${optionNames(backend).join(', ') || 'no options'})`,
    );
  }
  return backend.load(name, parsed.data, { cacheDir: o.cacheDir, ref: id, trainInWorker: o.trainInWorker });
}

/** Top-level defaults that this backend understands (others, meant for another model, are not its business). */
function legacyFor(b: Backend, legacy: Record<string, unknown>): Record<string, unknown> {
  const known = new Set(optionNames(b));
  return Object.fromEntries(Object.entries(legacy).filter(([k]) => known.has(k)));
}

function optionNames(b: Backend): string[] {
  return b.options instanceof z.ZodObject ? Object.keys(b.options.shape) : [];
}

registerBackend({
  prefix: 'organism',
  names: 'NAME|PATH',
  // The organism is in process: the top-level openai options mean nothing to it and are ignored.
  options: z
    .object({})
    .catchall(z.unknown())
    .transform(() => ({})),
  // Loaded on demand: the organism brings tfjs, which an openai: run never needs (and takes ~1 s to import).
  load: async (name, _o, c) => (await import('./organism-backend.ts')).OrganismModel.load(name, c.cacheDir, { trainInWorker: c.trainInWorker }),
});

registerBackend({
  prefix: 'openai',
  names: 'MODEL',
  options: z
    .object({
      /** The server (default $OPENAI_BASE_URL, else https://api.openai.com/v1). */
      base_url: z.string().url().optional(),
      /** The environment variable holding the key (default OPENAI_API_KEY; unset is allowed for local servers). */
      api_key_env: z.string().min(1).optional(),
      /** Requests in flight at once (default 16). */
      concurrency: z.number().int().positive().max(1024).optional(),
      /** Seconds one attempt may take (default 120). */
      timeout_s: z.number().positive().max(3600).optional(),
      /** Retries after the first attempt (default 5). */
      max_retries: z.number().int().min(0).max(50).optional(),
      /** The longest Retry-After obeyed, in seconds (default 60); a longer one falls back to the back-off. */
      retry_after_max_s: z.number().min(0).max(3600).optional(),
      /** A request's whole budget, all attempts and waits together, in seconds (default: none). */
      deadline_s: z.number().positive().max(86_400).optional(),
      /**
       * A LoRA adapter for a vLLM server to load at run time, before the first request: requests then ask
       * for it by `name`; `path` is on the server's disk (vLLM needs --enable-lora and
       * VLLM_ALLOW_RUNTIME_LORA_UPDATING=True). The model becomes `openai:MODEL+lora(NAME)`.
       */
      lora: z
        .object({ name: z.string().min(1), path: z.string().min(1) })
        .strict()
        .optional(),
    })
    .strict(),
  load: async (name, o, c) => {
    if (o.api_key_env && !process.env[o.api_key_env]) throw new Error(`model "${c.ref}": the environment variable ${o.api_key_env} named for its key is empty`);
    const baseUrl = o.base_url ?? process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1';
    return new OpenAIModel({
      model: name,
      baseUrl,
      apiKey: openaiKey(baseUrl, o.api_key_env),
      concurrency: o.concurrency,
      ...(o.timeout_s !== undefined ? { timeoutMs: o.timeout_s * 1000 } : {}),
      ...(o.max_retries !== undefined ? { maxRetries: o.max_retries } : {}),
      ...(o.retry_after_max_s !== undefined ? { retryAfterMaxMs: o.retry_after_max_s * 1000 } : {}),
      ...(o.deadline_s !== undefined ? { deadlineMs: o.deadline_s * 1000 } : {}),
      ...(o.lora ? { lora: o.lora } : {}),
      cacheDir: c.cacheDir,
    });
  },
});

/** A LoRA adapter as a model block names it: a path, or a path with its scale. */
const loraSchema = z.union([
  z
    .string()
    .min(1)
    .transform((path) => ({ path, scale: 1 })),
  z.object({ path: z.string().min(1), scale: z.number().default(1) }).strict(),
]);

registerBackend({
  prefix: 'gguf',
  names: 'PATH',
  options: z
    .object({
      /** Tokens each sequence holds (default: the model's training context, at most 4096). */
      context_size: z.number().int().min(16).max(1_048_576).optional(),
      /** Rows evaluated in parallel (default 2: more are checked when loaded, see gguf-backend.ts). */
      sequences: z.number().int().min(1).max(256).optional(),
      /** CPU threads (default: the cores available less one). */
      threads: z.number().int().min(1).max(1024).optional(),
      /** Tokens per decode batch (default 512). */
      batch_size: z.number().int().min(1).max(65_536).optional(),
      /** Flash attention on or off (default: llama.cpp decides). */
      flash_attention: z.boolean().optional(),
      /** KV cache precision (default f16): f32 for parity checks. */
      kv_cache: z.enum(['f16', 'f32']).optional(),
      /** LoRA adapters in GGUF form: a path, {path, scale}, or a list of them. */
      lora: z.union([loraSchema, z.array(loraSchema)]).optional(),
    })
    .strict(),
  // Loaded on demand: node-llama-cpp is an optional dependency that only gguf: runs need.
  load: async (name, o, c) =>
    (await import('./gguf-backend.ts')).GgufModel.load(
      name,
      {
        contextSize: o.context_size,
        sequences: o.sequences,
        threads: o.threads,
        batchSize: o.batch_size,
        flashAttention: o.flash_attention,
        kvCache: o.kv_cache,
        lora: o.lora === undefined ? undefined : Array.isArray(o.lora) ? o.lora : [o.lora],
      },
      c.ref,
    ),
});

registerBackend({
  prefix: 'hf',
  names: 'PATH',
  options: z
    .object({
      /** A running worker to use instead of starting one (the same worker on a GPU node). */
      url: z.string().url().optional(),
      /** The Python with the worker installed (default $DRAMATIS_WORKER_PYTHON, else worker/.venv). */
      python: z.string().min(1).optional(),
      device: z.enum(['cpu', 'cuda', 'auto']).optional(),
      dtype: z.enum(['float32', 'bfloat16', 'float16']).optional(),
      threads: z.number().int().min(1).max(1024).optional(),
      /** Rows per request to the worker (default 16). */
      rows_per_request: z.number().int().min(1).max(4096).optional(),
    })
    .strict(),
  // Loaded on demand: the worker is a Python process that only hf: runs start.
  load: async (name, o, c) =>
    (await import('./hf-backend.ts')).HfModel.load(
      name,
      { url: o.url, python: o.python, device: o.device, dtype: o.dtype, threads: o.threads, rowsPerRequest: o.rows_per_request },
      { cacheDir: c.cacheDir, ref: c.ref },
    ),
});

/**
 * The key sent to an OpenAI-compatible server: the variable the spec or flag names; without one,
 * $OPENAI_API_KEY only to OpenAI's own host or to the server $OPENAI_BASE_URL names (the environment's
 * own pairing). A spec naming some other base_url never receives the default key.
 */
export function openaiKey(baseUrl: string, apiKeyEnv: string | undefined): string | undefined {
  if (apiKeyEnv) return process.env[apiKeyEnv];
  const host = (u: string | undefined) => {
    try {
      return u ? new URL(u).host : undefined;
    } catch {
      return undefined;
    }
  };
  const ours = host(baseUrl);
  return ours === 'api.openai.com' || (ours !== undefined && ours === host(process.env.OPENAI_BASE_URL)) ? process.env.OPENAI_API_KEY : undefined;
}
