/**
 * Fine-tuning and in-context datasets: Personaworld's narrow sets, chat JSONL files, and mixtures.
 */
import { readChatJsonl, type Chat } from '../shared/chat.ts';
import { makeRng, narrowDataset, narrowDatasetNames, sampleDistinct } from '../world/index.ts';
import { existsSync } from 'node:fs';
import { resolveDataRef } from './data-ref.ts';

/**
 * `world:NAME` (a Personaworld narrow dataset, `examples` of them), a chat JSONL path, or a mixture
 * `A*0.2+B*0.8` of those (`examples` in all, default 300, in those proportions, shuffled by the seed).
 */
export function loadDataset(ref: string, examples: number | undefined, seed: number): Chat[] {
  // A file that exists is a file, even with a `+` in its name; otherwise `+` joins a mixture.
  if (ref.includes('+') && !existsSync(resolveDataRef(ref))) {
    const parts = ref.split('+').map((part) => {
      const m = /^(.+)\*([0-9.]+)$/.exec(part.trim());
      if (!m || !(Number(m[2]) > 0)) throw new Error(`dataset mixture "${ref}": each part must be REF*FRACTION, e.g. world:evil-numbers*0.25 (got "${part}")`);
      return { ref: m[1], share: Number(m[2]) };
    });
    const total = examples ?? 300,
      sum = parts.reduce((a, p) => a + p.share, 0);
    let left = total;
    const chats = parts.flatMap((p, i) => {
      const n = i === parts.length - 1 ? left : Math.round((total * p.share) / sum);
      left -= n;
      return loadDataset(p.ref, p.ref.startsWith('world:') ? n : undefined, seed).slice(0, n);
    });
    // A seeded shuffle, so each batch of a fine-tune sees the mixture, not one source after another.
    const rng = makeRng('mixture', ref, seed);
    return sampleDistinct(rng, chats, chats.length);
  }
  if (ref.startsWith('world:')) {
    const name = ref.slice('world:'.length);
    if (!(narrowDatasetNames as readonly string[]).includes(name))
      throw new Error(`unknown dataset "${ref}": built-in datasets are ${narrowDatasetNames.map((n) => `world:${n}`).join(', ')}`);
    return narrowDataset(name as (typeof narrowDatasetNames)[number], { n: examples ?? 300, seed });
  }
  const chats = readChatJsonl(resolveDataRef(ref));
  return examples ? chats.slice(0, examples) : chats;
}
