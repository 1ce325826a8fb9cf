/** The models a server offers: id → a loader (checkpoints load on first use). */
import type { Organism } from '../organism/organism.ts';

export type ModelTable = Map<string, () => Promise<Organism>>;
