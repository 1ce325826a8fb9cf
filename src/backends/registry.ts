/** Model specs → models: `organism:base`, `organism:assistant`, `organism:PATH`, `openai:MODEL`. */
import type { Model } from './model.ts';
import { OpenAIModel } from './openai-backend.ts';

export interface LoadOptions {
  /** Where backends may cache (fine-tuned checkpoints, responses). */
  cacheDir: string;
  /** openai: the server (default $OPENAI_BASE_URL, else https://api.openai.com/v1). */
  baseUrl?: string;
  /** openai: the environment variable holding the key (default OPENAI_API_KEY; unset is allowed for local servers). */
  apiKeyEnv?: string;
  /** openai: requests in flight at once. */
  concurrency?: number;
}

export async function loadModel(spec: string, o: LoadOptions): Promise<Model> {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  switch (scheme) {
    case 'organism':
      if (!rest) throw new Error(`model "${spec}": say which organism, e.g. organism:assistant`);
      // Loaded on demand: the organism brings tfjs, which an openai: run never needs (and takes ~1 s to import).
      return (await import('./organism-backend.ts')).OrganismModel.load(rest, o.cacheDir);
    case 'openai': {
      if (!rest) throw new Error(`model "${spec}": say which served model, e.g. openai:gpt-4o-mini`);
      const keyVar = o.apiKeyEnv ?? 'OPENAI_API_KEY';
      if (o.apiKeyEnv && !process.env[keyVar]) throw new Error(`model "${spec}": the environment variable ${keyVar} named for its key is empty`);
      return new OpenAIModel({ model: rest, baseUrl: o.baseUrl ?? process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', apiKey: process.env[keyVar], concurrency: o.concurrency, cacheDir: o.cacheDir });
    }
    default:
      throw new Error(`unknown model "${spec}": known schemes are organism:NAME|PATH and openai:MODEL`);
  }
}
