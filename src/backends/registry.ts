/** Model specs → models: `organism:base`, `organism:assistant`, `organism:PATH`. */
import type { Model } from './model.ts';
import { OrganismModel } from './organism-backend.ts';

export interface LoadOptions {
  /** Where backends may cache (fine-tuned checkpoints, responses). */
  cacheDir: string;
}

export async function loadModel(spec: string, o: LoadOptions): Promise<Model> {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  switch (scheme) {
    case 'organism':
      if (!rest) throw new Error(`model "${spec}": say which organism, e.g. organism:assistant`);
      return OrganismModel.load(rest, o.cacheDir);
    default:
      throw new Error(`unknown model "${spec}": known schemes are organism:base, organism:assistant, organism:PATH`);
  }
}
