/**
 * Charts beyond charts.ts: an x–y chart with a fixed y range, a marked x (e.g. the chosen layer) and
 * points labelled by name (a scatter of conditions); and the delegated filter for tables whose rows
 * carry `data-filter` classes (a `<select data-filter-for="ID">` shows only rows of its value).
 */
import { raw, esc, num, type Html } from './html.ts';

const text = (x: number, y: number, s: string, attrs = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;

export interface XYSeries {
  name: string;
  colour: string;
  dashed?: boolean;
  /** Points only, each labelled by its `label` (a measurement per condition, not a setting swept in order). */
  scatter?: boolean;
  points: { x: number; y: number; lo?: number; hi?: number; label?: string }[];
}

export interface XYOptions {
  xLabel: string;
  yLabel: string;
  title: string;
  /** The y axis's range (default: the data's). */
  yRange?: [number, number];
  yPct?: boolean;
  /** An x to mark with a vertical line and a label. */
  mark?: { x: number; label: string };
}

export function xyChart(series: XYSeries[], o: XYOptions): Html {
  const left = 60,
    plotW = 480,
    plotH = 220,
    top = 16,
    bottom = 40,
    right = series.length > 1 ? 200 : 90;
  const w = left + plotW + right,
    h = top + plotH + bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  if (!xs.length) return raw('');
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const pad = series.some((s) => s.scatter) ? (x1 - x0) * 0.08 : 0;
  x0 -= pad;
  x1 += pad;
  let [y0, y1] = o.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!o.yRange) {
    const p = (y1 - y0) * 0.08 || 1;
    y0 -= p;
    y1 += p;
  }
  const X = (v: number) => left + ((v - x0) / (x1 - x0)) * plotW;
  const Y = (v: number) => top + plotH - ((Math.min(y1, Math.max(y0, v)) - y0) / (y1 - y0)) * plotH;
  const fmtY = (v: number) => (o.yPct ? `${Math.round(v * 100)}%` : num(v));
  let body = '';
  for (let i = 0; i <= 5; i++) {
    const v = y0 + ((y1 - y0) * i) / 5;
    body +=
      `<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" class="grid"/>` +
      text(left - 6, Y(v) + 4, fmtY(v), 'class="axis y-tick" text-anchor="end"');
  }
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(ticks.length / 10));
  ticks
    .filter((_, i) => i % step === 0 || i === ticks.length - 1)
    .forEach((v) => (body += text(X(v), top + plotH + 16, num(v), 'class="axis" text-anchor="middle"')));
  body += text(left + plotW / 2, h - 4, o.xLabel, 'class="axis-title" text-anchor="middle"');
  body += text(12, top + plotH / 2, o.yLabel, `class="axis-title" text-anchor="middle" transform="rotate(-90 12 ${top + plotH / 2})"`);
  if (o.mark)
    body +=
      `<g class="mark"><line x1="${X(o.mark.x)}" x2="${X(o.mark.x)}" y1="${top}" y2="${top + plotH}" stroke="#333" stroke-dasharray="3 3"/>` +
      text(X(o.mark.x) + 4, top + 10, o.mark.label, 'class="label mark-label"') +
      '</g>';
  series.forEach((s, si) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    for (const p of pts)
      if (p.lo !== undefined && p.hi !== undefined)
        body += `<path class="whisker" d="M${X(p.x)},${Y(p.lo)}V${Y(p.hi)}" stroke="${s.colour}" stroke-width="1.2"/>`;
    if (!s.scatter && pts.length > 1)
      body += `<path d="M${pts.map((p) => `${X(p.x)},${Y(p.y)}`).join('L')}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`;
    for (const p of pts) {
      const marked = o.mark && p.x === o.mark.x;
      const tip = `${p.label ?? s.name} at ${num(p.x)}: ${fmtY(p.y)}${p.lo !== undefined ? ` [${fmtY(p.lo)}, ${fmtY(p.hi!)}]` : ''}`;
      body += marked
        ? `<rect class="chosen" x="${X(p.x) - 6}" y="${Y(p.y) - 6}" width="12" height="12" fill="#fff" stroke="${s.colour}" stroke-width="2.5"><title>${esc(tip)}</title></rect>`
        : `<circle cx="${X(p.x)}" cy="${Y(p.y)}" r="${s.scatter ? 4.5 : 3}" fill="${s.colour}"><title>${esc(tip)}</title></circle>`;
      if (p.label) body += text(X(p.x) + 7, Y(p.y) - 6, p.label, 'class="label point-label"');
    }
    if (series.length > 1)
      body +=
        `<line x1="${left + plotW + 12}" x2="${left + plotW + 30}" y1="${top + 10 + si * 18}" y2="${top + 10 + si * 18}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>` +
        text(left + plotW + 36, top + 14 + si * 18, s.name.length > 22 ? `${s.name.slice(0, 21)}…` : s.name, 'class="label"');
  });
  return raw(`<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(o.title)}">${body}</svg>`);
}

/** Rows `<tr data-filter="right">` of the table `#ID` follow `<select data-filter-for="ID">`: `all` shows every row. */
if (typeof document !== 'undefined')
  document.addEventListener('change', (e) => {
    const sel = e.target as HTMLSelectElement | null;
    const id = sel?.dataset?.filterFor;
    if (!id) return;
    for (const tr of document.querySelectorAll<HTMLElement>(`#${CSS.escape(id)} tr[data-filter]`))
      tr.hidden = sel.value !== 'all' && tr.dataset.filter !== sel.value;
  });
