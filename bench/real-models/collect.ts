/**
 * The real-model presets' figures, collected from a results database into results.json (so the
 * numbers quoted in the README and the issue are committed beside the commands that made them).
 *
 *   npx dramatis run real-profile … real-audit     # (see README.md beside this file)
 *   npx tsx bench/real-models/collect.ts [--db runs/dramatis.db]
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { db: { type: 'string', default: 'runs/dramatis.db' } } });
const db = new Database(a.db!, { readonly: true });
const names = ['real-profile', 'real-authors', 'real-vectors', 'real-old-birds', 'real-old-birds-posterior', 'real-audit'];
const out: Record<string, unknown> = {};
for (const name of names) {
  const row = db.prepare("SELECT id, summary, status FROM runs WHERE name = ? AND status = 'done' ORDER BY rowid DESC LIMIT 1").get(name) as
    { id: string; summary: string; status: string } | undefined;
  if (!row) {
    out[name] = null;
    continue;
  }
  const s = JSON.parse(row.summary) as Record<string, unknown> & { conditions: Record<string, unknown>[] };
  out[name] = {
    run: row.id,
    conditions: s.conditions.map((c) => {
      // The figures, without the per-sample examples and long distributions.
      const {
        examples: _e,
        profile,
        ...rest
      } = c as Record<string, unknown> & { profile?: { id: string; distribution: unknown[]; entropyBits: number; n: number }[] };
      return profile ? { ...rest, profile: profile.map((q) => ({ id: q.id, n: q.n, entropyBits: q.entropyBits, top: q.distribution.slice(0, 5) })) } : rest;
    }),
    ...(s.effects ? { effects: s.effects } : {}),
    ...(s.vectors ? { vectors: { ...(s.vectors as object), layers: undefined } } : {}),
    ...(s.datasets ? { datasets: s.datasets } : {}),
  };
}
const file = join(dirname(fileURLToPath(import.meta.url)), 'results.json');
writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${file}`);
