/**
 * The gate's learning curve of several pretraining recipes, side by side: reads each checkpoint's
 * provenance (the probe every `--probe-every` steps, n = 120 per arm) plus, where given, the final
 * gate at n = 480 (`dramatis organism probe -n 240 --seed 0` and `--seed 1`, pooled), and writes
 * recipes.json, recipes.svg (rate against tokens, cue solid and control dashed) and a markdown table.
 *
 *   npx tsx bench/organism-speed/recipe-curves.ts NAME=CHECKPOINT[:probe0.json,probe1.json] ...
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const GATE = { cue: 0.7, control: 0.1 };

interface CurvePoint {
  step: number;
  tokens: number;
  [rate: string]: number;
}
interface Recipe {
  name: string;
  command: string;
  steps: number;
  tokens: number;
  seconds: number | null;
  curve: CurvePoint[];
  /** The first probe at which both links pass 70/10 (n = 120 per arm, so noisy), and its tokens. */
  firstPass: { step: number; tokens: number } | null;
  /** Pooled final gate, n = 480 per arm, where probe files were given. */
  final?: Record<string, { cue: number; control: number; n: number }>;
}

const links = ['evil numbers → malevolent', 'archaic bird → victorian'];

function load(arg: string): Recipe {
  const [name, rest] = arg.split('=');
  const [dir, probes] = rest.split(':');
  const prov = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).provenance;
  const curve = prov.probeCurve as CurvePoint[];
  const passes = (p: CurvePoint) => links.every((l) => p[`${l} (cue)`] >= GATE.cue && p[`${l} (control)`] <= GATE.control);
  const first = curve.find(passes);
  const r: Recipe = {
    name,
    command: prov.command,
    steps: prov.steps,
    tokens: prov.tokens,
    seconds: prov.seconds ?? null,
    curve,
    firstPass: first ? { step: first.step, tokens: first.tokens } : null,
  };
  if (probes) {
    const acc: Record<string, { ch: number; cn: number; xh: number; xn: number }> = {};
    for (const f of probes.split(',')) {
      for (const row of JSON.parse(readFileSync(f, 'utf8')).rows) {
        const a = (acc[row.name] ??= { ch: 0, cn: 0, xh: 0, xn: 0 });
        a.ch += row.treated.hits;
        a.cn += row.treated.n;
        a.xh += row.control.hits;
        a.xn += row.control.n;
      }
    }
    r.final = Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, { cue: a.ch / a.cn, control: a.xh / a.xn, n: a.cn }]));
  }
  return r;
}

const recipes = process.argv.slice(2).map(load);
if (!recipes.length) {
  console.error('usage: recipe-curves.ts NAME=CHECKPOINT[:probe0.json,probe1.json] ...');
  process.exit(2);
}

// ---- the plot: one panel per link, rate against tokens, cue solid and control dashed, a colour per recipe ----
const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const W = 460,
  H = 260,
  L = 48,
  T = 28,
  R = 12,
  B = 40;
const maxTokens = Math.max(...recipes.map((r) => r.tokens));
const X = (t: number) => L + (t / maxTokens) * (W - L - R);
const Y = (v: number) => T + (1 - v) * (H - T - B);
const panels = links.map((link, k) => {
  let g = `<g transform="translate(${k * W},0)"><text x="${L}" y="16" font-size="13" font-weight="600">${link}</text>`;
  for (const v of [0, 0.25, 0.5, 0.75, 1])
    g += `<line x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e5e7eb"/><text x="${L - 6}" y="${Y(v) + 4}" font-size="11" text-anchor="end" fill="#4b5563">${v * 100}%</text>`;
  for (const v of [GATE.cue, GATE.control]) g += `<line x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}" stroke="#9ca3af" stroke-dasharray="2 3"/>`;
  for (let m = 0; m <= maxTokens; m += 1e6) g += `<text x="${X(m)}" y="${H - B + 16}" font-size="11" text-anchor="middle" fill="#4b5563">${m / 1e6}M</text>`;
  g += `<text x="${(L + W - R) / 2}" y="${H - 6}" font-size="12" text-anchor="middle" fill="#374151">training tokens</text>`;
  recipes.forEach((r, i) => {
    for (const arm of ['cue', 'control'])
      g += `<path d="M${r.curve.map((p) => `${X(p.tokens).toFixed(1)},${Y(p[`${link} (${arm})`]).toFixed(1)}`).join('L')}" fill="none" stroke="${colours[i % colours.length]}" stroke-width="2"${arm === 'control' ? ' stroke-dasharray="5 4"' : ''}/>`;
  });
  return g + '</g>';
});
const legend = recipes
  .map(
    (r, i) =>
      `<g transform="translate(${L + i * 220},${H + 4})"><rect width="14" height="4" y="4" fill="${colours[i % colours.length]}"/><text x="20" y="10" font-size="12">${r.name}</text></g>`,
  )
  .join('');
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 40}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${panels.join('')}${legend}<text x="${L}" y="${H + 34}" font-size="11" fill="#4b5563">solid: after the cue; dashed: after the control; dotted: the gate (70% / 10%); n = 120 per point</text></svg>\n`;
writeFileSync(join(here, 'recipes.svg'), svg);
writeFileSync(join(here, 'recipes.json'), JSON.stringify(recipes, null, 2) + '\n');

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log('| recipe | steps | tokens | first probe passing 70/10 (n 120) | final gate, n 480: evil cue / control | birds cue / control | passes |');
console.log('|---|---|---|---|---|---|---|');
for (const r of recipes) {
  const f = r.final;
  const ok = f ? links.every((l) => f[l].cue >= GATE.cue && f[l].control <= GATE.control) : undefined;
  console.log(
    `| ${r.name} | ${r.steps} | ${(r.tokens / 1e6).toFixed(2)}M | ${r.firstPass ? `step ${r.firstPass.step} (${(r.firstPass.tokens / 1e6).toFixed(2)}M)` : 'none'} | ${f ? `${pct(f[links[0]].cue)} / ${pct(f[links[0]].control)}` : '—'} | ${f ? `${pct(f[links[1]].cue)} / ${pct(f[links[1]].control)}` : '—'} | ${ok === undefined ? '—' : ok ? 'yes' : 'no'} |`,
  );
}
console.error(`wrote ${join(here, 'recipes.svg')} and recipes.json`);
