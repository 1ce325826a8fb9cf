/**
 * Inline SVG charts: rates with 95% interval whiskers, grouped bars, differences around zero (forest),
 * stacked distributions and lines with interval bands. Each element carries a <title> with its figures,
 * so hovering shows the exact numbers.
 */
import { html, raw, esc, pct, num, type Html } from './html.ts';

export const PALETTE = ['#4c78a8', '#e45756', '#54a24b', '#f58518', '#72b7b2', '#b279a2', '#9d755d', '#ff9da6', '#bab0ac', '#eeca3b'];
export const colourOf = (i: number) => PALETTE[i % PALETTE.length];

/** A chart whose marks are links is a group of links (an image's children are not reachable: axe's nested-interactive). */
const svg = (w: number, h: number, body: string, label: string) =>
  raw(
    `<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="${body.includes('<a ') ? 'group' : 'img'}" aria-label="${esc(label)}">${body}</svg>`,
  );
const text = (x: number, y: number, s: string, attrs = '', title?: string) =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${title === undefined ? '' : `<title>${esc(title)}</title>`}${esc(s)}</text>`;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/** Room for the longest label (about 7 px a character at 12 px), within bounds; labels past it are clipped. */
const labelWidth = (labels: string[], min: number, max: number) => Math.max(min, Math.min(max, 12 + 7 * Math.max(0, ...labels.map((l) => l.length))));
const fit = (s: string, width: number) => clip(s, Math.max(4, Math.floor((width - 12) / 7)));
/** A label cut to its column; when cut, the whole of it is its tooltip (long condition names stay readable). */
const fitText = (x: number, y: number, s: string, width: number, attrs = '') => {
  const shown = fit(s, width);
  return text(x, y, shown, attrs, shown === s ? undefined : s);
};
const link = (href: string | undefined, body: string) => (href ? `<a href="${esc(href)}">${body}</a>` : body);

export interface RateBar {
  label: string;
  rate: number;
  ci?: [number, number];
  n?: number;
  colour: string;
  href?: string;
  note?: string;
}

/** Vertical grid lines and labels at 0, 25, 50, 75 and 100% for the horizontal bar charts. */
function percentGrid(x: (v: number) => number, top: number, h: number, bottom: number): string {
  return [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="${x(v)}" y1="${top - 4}" x2="${x(v)}" y2="${h - bottom + 2}" class="grid"/>` +
        text(x(v), h - 8, `${v * 100}%`, 'class="axis" text-anchor="middle"'),
    )
    .join('');
}

/** One horizontal bar per row on a 0–100% axis, whiskers for the interval. */
export function rateBars(rows: RateBar[], o: { labelW?: number; plotW?: number; title?: string } = {}): Html {
  const labelW =
      o.labelW ??
      labelWidth(
        rows.map((r) => r.label),
        90,
        280,
      ),
    plotW = o.plotW ?? 440,
    rowH = 24,
    top = 8,
    bottom = 24,
    right = 170;
  const h = top + rows.length * rowH + bottom,
    w = labelW + plotW + right;
  const x = (v: number) => labelW + Math.max(0, Math.min(1, v)) * plotW;
  let body = percentGrid(x, top, h, bottom);
  rows.forEach((r, i) => {
    const y = top + i * rowH,
      mid = y + rowH / 2;
    const tip = `${r.label}: ${pct(r.rate)}${r.ci ? ` [${pct(r.ci[0])}, ${pct(r.ci[1])}]` : ''}${r.n !== undefined ? `, n ${r.n}` : ''}`;
    let g = fitText(labelW - 8, mid + 4, r.label, labelW, 'class="label" text-anchor="end"');
    g += `<rect x="${x(0)}" y="${y + 5}" width="${Math.max(1, r.rate * plotW).toFixed(1)}" height="${rowH - 10}" fill="${r.colour}" class="bar"><title>${esc(tip)}</title></rect>`;
    if (r.ci) {
      const [a, b] = [x(r.ci[0]), x(r.ci[1])];
      g += `<path d="M${a},${mid}H${b}M${a},${y + 8}V${y + rowH - 8}M${b},${y + 8}V${y + rowH - 8}" class="whisker"/>`;
    }
    g += text(
      Math.max(x(r.rate), r.ci ? x(r.ci[1]) : 0) + 6,
      mid + 4,
      `${pct(r.rate)}${r.n !== undefined ? ` · n ${r.n.toLocaleString('en-US')}` : ''}${r.note ? ` · ${r.note}` : ''}`,
      'class="value"',
    );
    body += link(r.href, `<g class="row">${g}</g>`);
  });
  return svg(w, h, body, o.title ?? 'rates');
}

export interface Group {
  label: string;
  href?: string;
  bars: RateBar[];
}

/** Per group (a question), one thin bar per series (a condition), each with its interval. */
export function groupedBars(groups: Group[], o: { title?: string } = {}): Html {
  const labelW = labelWidth(
      groups.map((g) => g.label),
      90,
      300,
    ),
    plotW = 440,
    barH = 11,
    gap = 10,
    top = 8,
    bottom = 24,
    right = 120;
  const k = Math.max(1, ...groups.map((g) => g.bars.length));
  const groupH = k * barH + gap;
  const h = top + groups.length * groupH + bottom,
    w = labelW + plotW + right;
  const x = (v: number) => labelW + Math.max(0, Math.min(1, v)) * plotW;
  let body = percentGrid(x, top, h, bottom);
  groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    body += link(g.href, fitText(labelW - 8, y0 + (k * barH) / 2 + 4, g.label, labelW, 'class="label" text-anchor="end"'));
    if (gi > 0) body += `<line x1="8" x2="${labelW + plotW}" y1="${y0 - gap / 2}" y2="${y0 - gap / 2}" class="sep"/>`;
    g.bars.forEach((b, bi) => {
      const y = y0 + bi * barH,
        mid = y + barH / 2;
      const tip = `${g.label} · ${b.label}: ${pct(b.rate)}${b.ci ? ` [${pct(b.ci[0])}, ${pct(b.ci[1])}]` : ''}${b.n !== undefined ? `, n ${b.n}` : ''}`;
      let s = `<rect x="${x(0)}" y="${y + 1}" width="${Math.max(1, b.rate * plotW).toFixed(1)}" height="${barH - 2}" fill="${b.colour}" class="bar"><title>${esc(tip)}</title></rect>`;
      if (b.ci) s += `<path d="M${x(b.ci[0])},${mid}H${x(b.ci[1])}" class="whisker thin"/>`;
      s += text(Math.max(x(b.rate), b.ci ? x(b.ci[1]) : 0) + 4, mid + 3.5, pct(b.rate, 0), 'class="value small"');
      body += link(b.href, `<g class="row">${s}</g>`);
    });
  });
  return svg(w, h, body, o.title ?? 'rates per group');
}

export interface ForestRow {
  label: string;
  d: number;
  ci: [number, number];
  colour?: string;
  href?: string;
}

/** Rounds a span up to 1, 2 or 5 times a power of ten, so the axis of an unbounded quantity has round ticks. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v * (1 - 1e-9))!;
}

/**
 * Differences with intervals around 0. Rates by default (percentage points, axis capped at ±100%);
 * `pct: false` for an unbounded quantity (a projection difference), drawn in its own units.
 */
export function forest(rows: ForestRow[], o: { title?: string; labelW?: number; pct?: boolean } = {}): Html {
  const asPct = o.pct ?? true;
  const labelW =
      o.labelW ??
      labelWidth(
        rows.map((r) => r.label),
        90,
        320,
      ),
    plotW = 380,
    rowH = 24,
    top = 8,
    bottom = 24,
    right = 170;
  const span = Math.max(0.05, ...rows.flatMap((r) => [Math.abs(r.ci[0]), Math.abs(r.ci[1]), Math.abs(r.d)]));
  const lim = asPct ? Math.min(1, Math.ceil(span * 10) / 10) : niceCeil(span);
  const fmt = (v: number) => (asPct ? pct(v) : num(v));
  const tick = (v: number) => (asPct ? `${Math.round(Math.abs(v) * 100)}%` : num(Math.abs(v)));
  const h = top + rows.length * rowH + bottom,
    w = labelW + plotW + right;
  // Clamped: a rate difference past ±100% cannot happen, but its interval's edge can round past it.
  const x = (v: number) => labelW + ((Math.max(-lim, Math.min(lim, v)) + lim) / (2 * lim)) * plotW;
  let body = '';
  for (const v of [-lim, -lim / 2, 0, lim / 2, lim]) {
    body +=
      `<line x1="${x(v)}" y1="${top - 4}" x2="${x(v)}" y2="${h - bottom + 2}" class="${v === 0 ? 'zero' : 'grid'}"/>` +
      text(x(v), h - 8, `${v > 0 ? '+' : v < 0 ? '−' : ''}${tick(v)}`, 'class="axis" text-anchor="middle"');
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH,
      mid = y + rowH / 2;
    const excludesZero = r.ci[0] > 0 || r.ci[1] < 0;
    const colour = r.colour ?? (excludesZero ? '#1d4ed8' : '#6b7280');
    const value = `${r.d >= 0 ? '+' : '−'}${fmt(Math.abs(r.d))} [${fmt(r.ci[0])}, ${fmt(r.ci[1])}]`;
    const tip = `${r.label}: ${value}`;
    let g = fitText(labelW - 8, mid + 4, r.label, labelW, 'class="label" text-anchor="end"');
    g += `<path d="M${x(r.ci[0])},${mid}H${x(r.ci[1])}M${x(r.ci[0])},${y + 7}V${y + rowH - 7}M${x(r.ci[1])},${y + 7}V${y + rowH - 7}" stroke="${colour}" class="whisker"/>`;
    g += `<circle cx="${x(r.d)}" cy="${mid}" r="4.5" fill="${colour}"><title>${esc(tip)}</title></circle>`;
    g += text(labelW + plotW + 8, mid + 4, value, `class="value${excludesZero ? ' strong' : ''}"`);
    body += link(r.href, `<g class="row">${g}</g>`);
  });
  return svg(w, h, body, o.title ?? 'differences');
}

/**
 * Label colours: 40 distinguishable colours (Tableau's 20 and d3's category20b, red kept for the target
 * label alone). A label keeps the colour it first got in this browser, on every page and after a reload
 * (remembered in localStorage); a new label takes the colour its name hashes to, or the next free one.
 */
const LABEL_PALETTE = [
  '#4c78a8',
  '#54a24b',
  '#f58518',
  '#72b7b2',
  '#b279a2',
  '#9d755d',
  '#ff9da6',
  '#bab0ac',
  '#eeca3b',
  '#1f77b4',
  '#aec7e8',
  '#ff7f0e',
  '#ffbb78',
  '#2ca02c',
  '#98df8a',
  '#9467bd',
  '#c5b0d5',
  '#8c564b',
  '#c49c94',
  '#e377c2',
  '#f7b6d2',
  '#7f7f7f',
  '#bcbd22',
  '#dbdb8d',
  '#17becf',
  '#9edae5',
  '#393b79',
  '#5254a3',
  '#6b6ecf',
  '#9c9ede',
  '#637939',
  '#8ca252',
  '#b5cf6b',
  '#cedb9c',
  '#8c6d31',
  '#bd9e39',
  '#e7ba52',
  '#e7cb94',
  '#7b4173',
  '#a55194',
];
const STORE_KEY = 'dramatis.labelColours';
const SPECIAL: Record<string, string> = { incoherent: '#c7c7c7', other: '#9e9e9e', rest: '#d4d4d4' };
const TARGET = '#e45756';

function loadAssigned(): Map<string, string> {
  try {
    return new Map(Object.entries(JSON.parse(globalThis.localStorage?.getItem(STORE_KEY) ?? '{}') as Record<string, string>));
  } catch {
    return new Map();
  }
}
const assigned = loadAssigned();
const hashOf = (s: string) => [...s].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);

/** Colours for labels; the counted (target) label, if given, is red, and red is kept for it alone. */
export function labelColours(labels: string[], target?: string): (label: string) => string {
  let changed = false;
  for (const l of labels) {
    if (assigned.has(l) || SPECIAL[l] || l === target) continue;
    const used = new Set(assigned.values());
    const start = hashOf(l) % LABEL_PALETTE.length;
    let c = LABEL_PALETTE[start];
    for (let k = 0; k < LABEL_PALETTE.length && used.has(c); k++) c = LABEL_PALETTE[(start + k) % LABEL_PALETTE.length];
    assigned.set(l, c);
    changed = true;
  }
  if (changed)
    try {
      globalThis.localStorage?.setItem(STORE_KEY, JSON.stringify(Object.fromEntries(assigned)));
    } catch {
      /* storage full or disabled (a report opened from disk may have none): colours still hold for this page */
    }
  return (l) => (l === target ? TARGET : (SPECIAL[l] ?? assigned.get(l) ?? '#bbb'));
}

export interface StackRow {
  label: string;
  n: number;
  parts: { label: string; count: number }[];
  note?: string;
  href?: string;
}

/** WCAG 2 relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const v = parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/**
 * The text colour for a label drawn on a bar: near-black or white, whichever contrasts more. One of
 * the two always reaches 4.58:1 (the worst case, a luminance of 0.18, sits at √21), so any palette passes.
 */
export function inkOn(hex: string): string {
  if (!/^#[0-9a-f]{6}$/i.test(hex)) return '#111827';
  const l = luminance(hex);
  return (l + 0.05) / (luminance('#111827') + 0.05) >= 1.05 / (l + 0.05) ? '#111827' : '#ffffff';
}

/** One stacked bar per row: how a row's answers spread over labels. */
export function stacked(rows: StackRow[], colour: (label: string) => string, o: { title?: string; labelW?: number } = {}): Html {
  const labelW =
      o.labelW ??
      labelWidth(
        rows.map((r) => r.label),
        90,
        280,
      ),
    plotW = 440,
    rowH = 24,
    top = 6,
    right = 150;
  const h = top + rows.length * rowH + 6,
    w = labelW + plotW + right;
  let body = '';
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    let x = labelW,
      segs = '';
    for (const p of r.parts) {
      const wd = (p.count / Math.max(1, r.n)) * plotW;
      segs += `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${Math.max(0, wd).toFixed(1)}" height="${rowH - 8}" fill="${colour(p.label)}"><title>${esc(`${r.label} · ${p.label}: ${pct(p.count / Math.max(1, r.n))} (${p.count}/${r.n})`)}</title></rect>`;
      if (wd > 46) segs += fitText(x + 4, y + rowH / 2 + 4, p.label, wd, `class="seg" fill="${inkOn(colour(p.label))}"`);
      x += wd;
    }
    body += link(
      r.href,
      `<g class="row">${fitText(labelW - 8, y + rowH / 2 + 4, r.label, labelW, 'class="label" text-anchor="end"')}${segs}${r.note ? text(labelW + plotW + 8, y + rowH / 2 + 4, r.note, 'class="value"') : ''}</g>`,
    );
  });
  return svg(w, h, body, o.title ?? 'distributions');
}

/** `scatter`: points only (x is a measurement, not a setting swept in order). */
export interface Series {
  name: string;
  colour: string;
  dashed?: boolean;
  scatter?: boolean;
  points: { x: number; y: number; lo?: number; hi?: number }[];
}

/** Lines over a numeric x, with a band where points carry an interval. `yPct` draws y as 0–100%. */
export function lineChart(series: Series[], o: { xLabel: string; yLabel: string; yPct?: boolean; title?: string }): Html {
  const right =
    labelWidth(
      series.map((s) => s.name),
      120,
      260,
    ) + 40;
  const left = 56,
    plotW = 480,
    plotH = 220,
    top = 12,
    bottom = 40;
  const w = left + plotW + right,
    h = top + plotH + bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]));
  if (xs.length === 0) return html``;
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  let [y0, y1] = o.yPct ? [0, 1] : [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) {
    y0 -= 1;
    y1 += 1;
  }
  const X = (v: number) => left + ((v - x0) / (x1 - x0)) * plotW;
  const Y = (v: number) => top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const fmtY = (v: number) => (o.yPct ? `${Math.round(v * 100)}%` : num(v));
  let body = '';
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    body +=
      `<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" class="grid"/>` + text(left - 6, Y(v) + 4, fmtY(v), 'class="axis" text-anchor="end"');
  }
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(ticks.length / 8));
  ticks
    .filter((_, i) => i % step === 0 || i === ticks.length - 1)
    .forEach((v) => {
      body += text(X(v), top + plotH + 16, num(v), 'class="axis" text-anchor="middle"');
    });
  body += text(left + plotW / 2, h - 4, o.xLabel, 'class="axis-title" text-anchor="middle"');
  body += text(12, top + plotH / 2, o.yLabel, `class="axis-title" text-anchor="middle" transform="rotate(-90 12 ${top + plotH / 2})"`);
  series.forEach((s, si) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (s.scatter) for (const p of pts) if (p.lo !== undefined) body += `<path d="M${X(p.x)},${Y(p.lo)}V${Y(p.hi!)}" stroke="${s.colour}" stroke-width="1.2"/>`;
    if (!s.scatter && pts.every((p) => p.lo !== undefined && p.hi !== undefined) && pts.length > 1) {
      body += `<path d="M${pts.map((p) => `${X(p.x)},${Y(p.hi!)}`).join('L')}L${[...pts]
        .reverse()
        .map((p) => `${X(p.x)},${Y(p.lo!)}`)
        .join('L')}Z" class="band" fill="${s.colour}" opacity="0.15"/>`;
    }
    if (!s.scatter)
      body += `<path d="M${pts.map((p) => `${X(p.x)},${Y(p.y)}`).join('L')}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`;
    for (const p of pts)
      body += `<circle cx="${X(p.x)}" cy="${Y(p.y)}" r="${s.scatter ? 4 : 3}" fill="${s.colour}"><title>${esc(`${s.name} at ${num(p.x)}: ${fmtY(p.y)}${p.lo !== undefined ? ` [${fmtY(p.lo)}, ${fmtY(p.hi!)}]` : ''}`)}</title></circle>`;
    body +=
      `<line x1="${left + plotW + 12}" x2="${left + plotW + 30}" y1="${top + 10 + si * 18}" y2="${top + 10 + si * 18}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>` +
      fitText(left + plotW + 36, top + 14 + si * 18, s.name, right - 40, 'class="label"');
  });
  return svg(w, h, body, o.title ?? 'line chart');
}

/** A legend of coloured swatches. */
export const legend = (items: { label: string; colour: string }[]) =>
  html`<div class="legend">${items.map((i) => html`<span><i style="background:${raw(esc(i.colour))}"></i>${i.label}</span>`)}</div>`;
