/**
 * The experiment kinds: the one place that lists them. A new kind is a folder beside these (its spec
 * schema, its run, its printer; `view.ts` for the viewer, listed in views.ts) and one line here.
 */
import type { Kind } from '../kind.ts';
import { audit } from './audit/index.ts';
import { conversation } from './conversation/index.ts';
import { generalize } from './generalize/index.ts';
import { infer } from './infer/index.ts';
import { profile } from './profile/index.ts';
import { vectors } from './vectors/index.ts';

export const KINDS = [generalize, profile, infer, vectors, audit, conversation] as const;

const byName = new Map<string, Kind>(KINDS.map((k) => [k.kind, k as unknown as Kind]));

/** Tests register kinds of their own (a kind is its module; nothing else needs to know it). */
export function registerKind(k: Kind): void {
  if (byName.has(k.kind)) throw new Error(`kind "${k.kind}" is already registered`);
  byName.set(k.kind, k);
}

export const kindNames = (): string[] => [...byName.keys()];

export function kindOf(name: string): Kind {
  const k = byName.get(name);
  if (!k) throw new Error(`unknown kind "${name}"; known kinds: ${kindNames().join(', ')}`);
  return k;
}
