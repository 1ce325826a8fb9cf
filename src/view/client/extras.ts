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

const isScalar = (v: unknown) => v === null || ['number', 'string', 'boolean'].includes(typeof v);
/** A record of scalars only (a correlation {r, ci, n}): shown inline, `r 0.83 [0.71, 0.90] · n 24`. */
const isFlat = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v as Rec).every((x) => isScalar(x) || isPair(x));

/** An interval beside an AUC (and no rate) is the AUC's: shown as numbers, like the AUC. */
const ciOf = (o: Rec, k: string) => (k === 'ci' && 'auc' in o && !('rate' in o) ? 'auc' : k);

export const cell = (v: unknown, key = ''): Html | string => {
  if (typeof v === 'number') return SHARE.test(key) && v >= 0 && v <= 1 ? pct(v) : num(v);
  if (isPair(v)) return v.every((x) => x >= 0 && x <= 1) && !/auc|^r$/i.test(key) ? interval(v) : `[${num(v[0])}, ${num(v[1])}]`;
  if (typeof v === 'string') return v.length > 400 ? `${v.slice(0, 399)}…` : v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (isFlat(v))
    return Object.entries(v)
      .map(([k, x]) => `${k} ${cell(x, k)}`)
      .join(' · ');
  if (Array.isArray(v) && v.every(isScalar)) return v.map((x) => cell(x)).join(', ');
  const s = JSON.stringify(v);
  return s.length > 160 ? `${s.slice(0, 159)}…` : s;
};

/** A table of records; a cell holding more records opens into its own table. */
export function recordTable(rows: Rec[], limit = 50, depth = 0): Html {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const td = (c: string, v: unknown, r: Rec) =>
    isRecords(v) && depth < 3
      ? html`<td><details><summary>${v.length} ${c}</summary>${recordTable(v, 20, depth + 1)}</details></td>`
      : html`<td class="${typeof v === 'number' ? 'num' : typeof v === 'string' && v.length > 60 ? 'text' : ''}">${cell(v, ciOf(r, c))}</td>`;
  const body = (rs: Rec[]) => rs.map((r) => html`<tr>${cols.map((c) => td(c, r[c], r))}</tr>`);
  return html`<table class="data"><thead><tr>${cols.map((c) => html`<th>${c}</th>`)}</tr></thead><tbody>${body(rows.slice(0, limit))}</tbody></table>
    ${rows.length > limit ? html`<details><summary>all ${rows.length} rows</summary><table class="data"><tbody>${body(rows.slice(limit))}</tbody></table></details>` : ''}`;
}

/**
 * Any nested result (a kind's own summary, e.g. `vectors` or `audit`): its scalars as a list of
 * figures, its arrays of records as tables (charted against a numeric axis when they have one), its
 * nested objects under their own headings.
 */
export function tree(o: Rec, depth = 0): Html {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined);
  const figures = entries.filter(([, v]) => isScalar(v) || isPair(v) || isFlat(v) || (Array.isArray(v) && v.every(isScalar)));
  const tables = entries.filter(([, v]) => isRecords(v));
  const nested = entries.filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v) && !isFlat(v));
  const h = (k: string) => (depth === 0 ? html`<h3>${k}</h3>` : html`<h4>${k}</h4>`);
  return html`
    ${figures.length ? html`<table class="data figures"><tbody>${figures.map(([k, v]) => html`<tr><th>${k}</th><td class="${typeof v === 'number' ? 'num' : ''}">${cell(v, ciOf(o, k))}</td></tr>`)}</tbody></table>` : ''}
    ${tables.map(([k, v]) => html`${h(k)}${recordCharts(k, [{ name: k, rows: v as Rec[] }])}${recordTable(v as Rec[], 50)}`)}
    ${nested.map(([k, v]) => html`${h(k)}<div class="nested">${depth < 4 ? tree(v as Rec, depth + 1) : cell(v)}</div>`)}`;
}

/** Fields shown as percentages (shares of answers); other numbers (auc, r, layer) as they are. */
const SHARE = /(^|\.)(rate|share|coherent|accuracy)$/i;

const X_KEYS = ['coefficient', 'layer', 'step', 'epoch', 'x', 'threshold', 'k'];

/** Line charts of arrays of records that share a numeric axis, one series per owner (condition) and field. */
export function recordCharts(field: string, ownersIn: { name: string; rows: Rec[] }[]): Html[] {
  // Records that name their own series (a sweep over several conditions: {condition, coefficient, rate})
  // are split by that name, so each series is one line.
  const owners = ownersIn.flatMap((o) => {
    const key = ['condition', 'name', 'group', 'model'].find((k) => o.rows.every((r) => typeof r[k] === 'string'));
    const names = key ? [...new Set(o.rows.map((r) => r[key] as string))] : [];
    if (!key || names.length < 2 || names.length === o.rows.length) return [o];
    return names.map((n) => ({ name: ownersIn.length > 1 ? `${o.name} · ${n}` : n, rows: o.rows.filter((r) => r[key] === n) }));
  });
  const sample = owners[0].rows[0];
  const numeric = Object.keys(sample).filter((k) => owners.every((o) => o.rows.every((r) => typeof r[k] === 'number')));
  const swept = X_KEYS.find((k) => numeric.includes(k));
  const x = swept ?? numeric[0];
  if (!x || owners.every((o) => o.rows.length < 2)) return [];
  const ys = numeric.filter((k) => k !== x && k !== 'n' && k !== 'hits' && k !== 'steps');
  const unit = (k: string) => owners.every((o) => o.rows.every((r) => (r[k] as number) >= 0 && (r[k] as number) <= 1));
  const shares = ys.filter(unit),
    others = ys.filter((k) => !unit(k));
  const charts: Html[] = [];
  const series = (keys: string[]) =>
    owners.flatMap((o, oi) =>
      keys.map((k, ki): Series => ({
        name: `${owners.length > 1 ? `${o.name} · ` : ''}${k}`,
        colour: colourOf(owners.length > 1 ? oi : ki),
        dashed: owners.length > 1 && ki > 0,
        scatter: !swept,
        points: o.rows.map((r) => ({ x: r[x] as number, y: r[k] as number, ...(k === 'rate' && isPair(r.ci) ? { lo: r.ci[0], hi: r.ci[1] } : {}) })),
      })),
    );
  if (shares.length) charts.push(lineChart(series(shares), { xLabel: x, yLabel: shares.length === 1 ? shares[0] : 'share', yPct: true, title: field }));
  for (const k of others.slice(0, 3)) charts.push(lineChart(series([k]), { xLabel: x, yLabel: k, title: `${field}: ${k}` }));
  return charts;
}

/**
 * The extra figures of a set of conditions (or of the result itself, one owner): numbers side by side
 * in one table, then each array of records (charted and tabled per owner), then anything nested.
 */
export function extraSection(owners: { name: string; value: Rec }[], known: Set<string>): Html {
  const unknown = owners.map((o) => ({ name: o.name, value: Object.fromEntries(Object.entries(o.value).filter(([k]) => !known.has(k))) }));
  if (unknown.every((o) => Object.keys(o.value).length === 0)) return html``;
  if (owners.length === 1) return tree(unknown[0].value);
  const figs = unknown.map((o) => ({ name: o.name, f: numericFields(o.value, new Set()) }));
  const keys = [...new Set(figs.flatMap((x) => Object.keys(x.f)))];
  const arrays = [
    ...new Set(
      unknown.flatMap((o) =>
        Object.entries(o.value)
          .filter(([, v]) => isRecords(v))
          .map(([k]) => k),
      ),
    ),
  ];
  const rest = unknown
    .map((o) => ({
      name: o.name,
      value: Object.fromEntries(
        Object.entries(o.value).filter(
          ([k, v]) => typeof v !== 'number' && !isRecords(v) && !(isFlat(v) && Object.values(v).every((x) => typeof x === 'number')),
        ),
      ),
    }))
    .filter((o) => Object.keys(o.value).length > 0);
  return html`
    ${
      keys.length
        ? html`<table class="data extra"><thead><tr><th></th>${keys.map((k) => html`<th class="num">${k}</th>`)}</tr></thead><tbody>
      ${figs.map((x) => html`<tr><th>${x.name}</th>${keys.map((k) => html`<td class="num">${x.f[k] === undefined ? '' : cell(x.f[k], k)}</td>`)}</tr>`)}
    </tbody></table>`
        : ''
    }
    ${arrays.map((field) => {
      const withIt = unknown.filter((o) => isRecords(o.value[field])).map((o) => ({ name: o.name, rows: o.value[field] as Rec[] }));
      return html`<h3>${field}</h3>${recordCharts(field, withIt)}${withIt.map((o) => html`<h4>${o.name}</h4>${recordTable(o.rows)}`)}`;
    })}
    ${rest.map((o) => html`<h3>${o.name}</h3>${tree(o.value, 1)}`)}`;
}
