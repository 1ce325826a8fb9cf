/**
 * Whatever a result carries beyond the fields this viewer knows (kinds added later, such as `vectors`
 * and `audit`, put figures like `auc`, `r`, `layer`, a steering sweep or ranked examples beside `rate`):
 * numbers become a table, arrays of records a table and, where they have a numeric axis, a line chart.
 */
import { html, num, pct, interval, type Html } from './html.ts';
import { lineChart, colourOf, type Series } from './charts.ts';

type Rec = Record<string, unknown>;

const isPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number');
const isRecords = (v: unknown): v is Rec[] => Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));

/** Numeric fields of a record, nested objects flattened one level (`probe.auc`). */
export function numericFields(o: Rec, known: Set<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (known.has(k)) continue;
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Rec)) if (typeof v2 === 'number' && Number.isFinite(v2)) out[`${k}.${k2}`] = v2;
    }
  }
  return out;
}

export const cell = (v: unknown): Html | string => {
  if (typeof v === 'number') return num(v);
  if (isPair(v)) return v.every((x) => x >= 0 && x <= 1) ? interval(v) : `[${num(v[0])}, ${num(v[1])}]`;
  if (typeof v === 'string') return v.length > 240 ? `${v.slice(0, 239)}…` : v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  const s = JSON.stringify(v);
  return s.length > 160 ? `${s.slice(0, 159)}…` : s;
};

export function recordTable(rows: Rec[], limit = 50): Html {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (c: string, v: unknown) => (typeof v === 'number' && SHARE.test(c) && v >= 0 && v <= 1 ? pct(v) : cell(v));
  const body = (rs: Rec[]) => rs.map((r) => html`<tr>${cols.map((c) => html`<td class="${typeof r[c] === 'number' ? 'num' : ''}">${fmt(c, r[c])}</td>`)}</tr>`);
  return html`<table class="data"><thead><tr>${cols.map((c) => html`<th>${c}</th>`)}</tr></thead><tbody>${body(rows.slice(0, limit))}</tbody></table>
    ${rows.length > limit ? html`<details><summary>all ${rows.length} rows</summary><table class="data"><tbody>${body(rows.slice(limit))}</tbody></table></details>` : ''}`;
}

/** Fields shown as percentages (shares of answers); other numbers (auc, r, layer) as they are. */
const SHARE = /(^|\.)(rate|share|coherent|accuracy)$/i;

const X_KEYS = ['coefficient', 'layer', 'step', 'epoch', 'x', 'threshold', 'k'];

/** Line charts of arrays of records that share a numeric axis, one series per owner (condition) and field. */
export function recordCharts(field: string, owners: { name: string; rows: Rec[] }[]): Html[] {
  const sample = owners[0].rows[0];
  const numeric = Object.keys(sample).filter((k) => owners.every((o) => o.rows.every((r) => typeof r[k] === 'number')));
  const x = X_KEYS.find((k) => numeric.includes(k)) ?? numeric[0];
  if (!x || owners.every((o) => o.rows.length < 2)) return [];
  const ys = numeric.filter((k) => k !== x && k !== 'n' && k !== 'hits' && k !== 'steps');
  const unit = (k: string) => owners.every((o) => o.rows.every((r) => (r[k] as number) >= 0 && (r[k] as number) <= 1));
  const shares = ys.filter(unit), others = ys.filter((k) => !unit(k));
  const charts: Html[] = [];
  const series = (keys: string[]) => owners.flatMap((o, oi) => keys.map((k, ki): Series => ({
    name: `${owners.length > 1 ? `${o.name} · ` : ''}${k}`, colour: colourOf(owners.length > 1 ? oi : ki), dashed: owners.length > 1 && ki > 0,
    points: o.rows.map((r) => ({ x: r[x] as number, y: r[k] as number, ...(k === 'rate' && isPair(r.ci) ? { lo: r.ci[0], hi: r.ci[1] } : {}) })),
  })));
  if (shares.length) charts.push(lineChart(series(shares), { xLabel: x, yLabel: shares.length === 1 ? shares[0] : 'share', yPct: true, title: field }));
  for (const k of others.slice(0, 3)) charts.push(lineChart(series([k]), { xLabel: x, yLabel: k, title: `${field}: ${k}` }));
  return charts;
}

/** The extra figures of a set of conditions (or of the result itself): a table of numbers, then each array field. */
export function extraSection(owners: { name: string; value: Rec }[], known: Set<string>): Html {
  const figs = owners.map((o) => ({ name: o.name, f: numericFields(o.value, known) }));
  const keys = [...new Set(figs.flatMap((x) => Object.keys(x.f)))];
  const arrays = [...new Set(owners.flatMap((o) => Object.entries(o.value).filter(([k, v]) => !known.has(k) && isRecords(v)).map(([k]) => k)))];
  const texts = owners.flatMap((o) => Object.entries(o.value).filter(([k, v]) => !known.has(k) && (typeof v === 'string' || (Array.isArray(v) && !isRecords(v)))).map(([k, v]) => ({ owner: o.name, k, v })));
  if (!keys.length && !arrays.length && !texts.length) return html``;
  const shareLike = (k: string) => figs.every((x) => x.f[k] === undefined || (x.f[k] >= 0 && x.f[k] <= 1)) && SHARE.test(k);
  return html`
    ${keys.length ? html`<table class="data extra"><thead><tr><th></th>${keys.map((k) => html`<th class="num">${k}</th>`)}</tr></thead><tbody>
      ${figs.map((x) => html`<tr><th>${x.name}</th>${keys.map((k) => html`<td class="num">${x.f[k] === undefined ? '' : shareLike(k) ? pct(x.f[k]) : num(x.f[k])}</td>`)}</tr>`)}
    </tbody></table>` : ''}
    ${arrays.map((field) => {
      const withIt = owners.filter((o) => isRecords(o.value[field])).map((o) => ({ name: o.name, rows: o.value[field] as Rec[] }));
      return html`<h3>${field}</h3>${recordCharts(field, withIt)}${withIt.map((o) => html`${withIt.length > 1 || owners.length > 1 ? html`<h4>${o.name}</h4>` : ''}${recordTable(o.rows)}`)}`;
    })}
    ${texts.length ? html`<table class="data"><tbody>${texts.map((t) => html`<tr><th>${t.owner}</th><td>${t.k}</td><td>${cell(t.v)}</td></tr>`)}</tbody></table>` : ''}`;
}
