/**
 * Compare two golden passes preset by preset from their per-preset dumps (what run.ts writes as it goes),
 * for passes that stopped before writing digests.json or that ran different preset lists: for each preset
 * both passes hold, how many answers differ (matched by condition key, question and index), how many
 * judgments differ, whether the set of keys is the same, and the largest change of a condition's rate.
 *
 *   npx tsx bench/golden/compare-dumps.ts BEFORE_DIR AFTER_DIR
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface Dump {
  runs: { name: string; summary?: { conditions?: { name: string; rate?: number }[] } }[];
  samples: { condition_key: string; question_id: string; idx: number; answer: string; finish_reason: string }[];
  judgments: { sample: string; judge: string; label: string | null; score: number | null }[];
}

const [before, after] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: compare-dumps.ts BEFORE_DIR AFTER_DIR');
  process.exit(2);
}
const load = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Dump;
const names = readdirSync(after)
  .filter((f) => f.endsWith('.json') && f !== 'digests.json' && existsSync(join(before, f)))
  .map((f) => f.slice(0, -5))
  .sort();

let answers = 0,
  differ = 0,
  failed = 0;
console.log('| preset | samples | answers differing | judgments differing | keys | largest rate change (pp) |');
console.log('|---|---|---|---|---|---|');
for (const name of names) {
  const a = load(before, name),
    b = load(after, name);
  const key = (s: Dump['samples'][number]) => `${s.condition_key}/${s.question_id}/${s.idx}`;
  const sa = new Map(a.samples.map((s) => [key(s), s])),
    sb = new Map(b.samples.map((s) => [key(s), s]));
  const sameKeys = sa.size === sb.size && [...sa.keys()].every((k) => sb.has(k));
  let d = 0;
  for (const [k, s] of sa) {
    const t = sb.get(k);
    if (t && (t.answer !== s.answer || t.finish_reason !== s.finish_reason)) d++;
  }
  const jkey = (j: Dump['judgments'][number]) => `${j.sample}|${j.judge}`;
  const ja = new Map(a.judgments.map((j) => [jkey(j), `${j.label}|${j.score}`])),
    jb = new Map(b.judgments.map((j) => [jkey(j), `${j.label}|${j.score}`]));
  let jd = 0;
  for (const [k, v] of ja) if (jb.get(k) !== v) jd++;
  for (const k of jb.keys()) if (!ja.has(k)) jd++;
  const rates = (x: Dump) => new Map(x.runs.flatMap((r) => (r.summary?.conditions ?? []).map((c) => [`${r.name}/${c.name}`, c.rate] as const)));
  const ra = rates(a),
    rb = rates(b);
  let worst = 0;
  for (const [k, r] of ra) {
    const s = rb.get(k);
    if (typeof r === 'number' && typeof s === 'number') worst = Math.max(worst, Math.abs(r - s) * 100);
  }
  answers += sa.size;
  differ += d;
  if (d || jd || !sameKeys || worst > 0) failed++;
  console.log(`| ${name} | ${sa.size} | ${d} | ${jd} | ${sameKeys ? 'same' : 'DIFFERENT'} | ${worst.toFixed(1)} |`);
}
console.log(`\n${differ} of ${answers} answers differ; ${failed} of ${names.length} presets differ in something`);
process.exitCode = failed ? 1 : 0;
