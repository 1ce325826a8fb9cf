/** The models a server offers: id → a loader (each loads on first use; any backend's model). */
import type { Model } from '../backends/model.ts';

export type ModelTable = Map<string, () => Promise<Model>>;
