/**
 * A self-contained `report.html`: bars with 95% interval whiskers per condition and per question, the
 * effects, and sample answers with their labels. Inline SVG and CSS only, so it opens from disk with
 * no server and no network.
 */
import type { ExperimentResult } from '../experiments/runner.ts';
import { auditSection, vectorsSection } from './vectors-html.ts';

/** Escape text for HTML content and attributes. */
export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const ROLE_COLOUR: Record<string, string> = { baseline: '#8a8f98', control: '#4c78a8', treatment: '#e45756' };

/** Horizontal bars (one per row) with whiskers for the interval; x runs from 0 to 100%. */
function barChart(rows: { label: string; rate: number; ci: [number, number]; n: number; colour: string }[]): string {
  const labelW = 210, plotW = 420, rowH = 26, top = 20;
  const h = top + rows.length * rowH + 24;
  const x = (v: number) => labelW + v * plotW;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((v) =>
    `<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${h - 20}" stroke="#ddd"/><text x="${x(v)}" y="${h - 6}" font-size="11" text-anchor="middle" fill="#666">${v * 100}%</text>`).join('');
  const bars = rows.map((r, i) => {
    const y = top + i * rowH;
    return `<text x="${labelW - 8}" y="${y + 15}" font-size="12" text-anchor="end">${esc(r.label)}</text>
      <rect x="${x(0)}" y="${y + 4}" width="${Math.max(0.5, r.rate * plotW)}" height="${rowH - 10}" fill="${r.colour}" opacity="0.85"><title>${esc(r.label)}: ${pct(r.rate)} [${pct(r.ci[0])}, ${pct(r.ci[1])}], n ${r.n}</title></rect>
      <line x1="${x(r.ci[0])}" y1="${y + rowH / 2}" x2="${x(r.ci[1])}" y2="${y + rowH / 2}" stroke="#222" stroke-width="1.5"/>
      <line x1="${x(r.ci[0])}" y1="${y + 7}" x2="${x(r.ci[0])}" y2="${y + rowH - 7}" stroke="#222"/>
      <line x1="${x(r.ci[1])}" y1="${y + 7}" x2="${x(r.ci[1])}" y2="${y + rowH - 7}" stroke="#222"/>
      <text x="${x(r.ci[1]) + 6}" y="${y + 15}" font-size="11" fill="#333">${pct(r.rate)} (n ${r.n})</text>`;
  }).join('');
  return `<svg width="${labelW + plotW + 110}" height="${h}" role="img">${grid}${bars}</svg>`;
}

const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#bab0ac'];

/** One stacked bar per row: the label distribution of a question (top 6 labels, the rest as "other"). */
function distributionChart(rows: { label: string; n: number; parts: { label: string; count: number }[] }[]): string {
  const labelW = 300, plotW = 420, rowH = 26, top = 10;
  const h = top + rows.length * rowH + 10;
  const bars = rows.map((r, i) => {
    const y = top + i * rowH;
    const parts = r.parts.slice(0, 6);
    const rest = r.n - parts.reduce((a, p) => a + p.count, 0);
    if (rest > 0) parts.push({ label: 'other', count: rest });
    let x = labelW;
    const segs = parts.map((p, k) => {
      const w = (p.count / Math.max(1, r.n)) * plotW;
      const seg = `<rect x="${x}" y="${y + 4}" width="${w}" height="${rowH - 10}" fill="${PALETTE[k % PALETTE.length]}"><title>${esc(p.label)}: ${pct(p.count / r.n)} (${p.count}/${r.n})</title></rect>`
        + (w > 60 ? `<text x="${x + 4}" y="${y + 16}" font-size="11" fill="#fff">${esc(p.label.slice(0, Math.floor(w / 7)))}</text>` : '');
      x += w;
      return seg;
    }).join('');
    return `<text x="${labelW - 8}" y="${y + 16}" font-size="12" text-anchor="end">${esc(r.label)}</text>${segs}`;
  }).join('');
  return `<svg width="${labelW + plotW + 20}" height="${h}" role="img">${bars}</svg>`;
}

/** Rate against fine-tuning step, one line per condition with its 95% band; coherent share dashed. */
function curveChart(r: ExperimentResult): string {
  const curves = r.conditions.filter((c) => c.curve?.length);
  if (!curves.length) return '';
  const W = 520, H = 220, l = 50, t = 12, b = 34, rt = 130;
  const maxStep = Math.max(...curves.flatMap((c) => c.curve!.map((p) => p.steps)));
  const x = (s: number) => l + (s / maxStep) * (W - l - rt);
  const y = (v: number) => t + (1 - v) * (H - t - b);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((v) => `<line x1="${l}" x2="${W - rt}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e4e4"/><text x="${l - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end" fill="#666">${v * 100}%</text>`).join('');
  const lines = curves.map((c, k) => {
    const col = PALETTE[k % PALETTE.length];
    const pts = [{ step: 0, rate: NaN, ci: [NaN, NaN] as [number, number], coherent: NaN }, ...c.curve!].filter((p) => Number.isFinite(p.rate));
    const band = `${pts.map((p) => `${x(p.step)},${y(p.ci[1])}`).join(' ')} ${[...pts].reverse().map((p) => `${x(p.step)},${y(p.ci[0])}`).join(' ')}`;
    const last = pts[pts.length - 1];
    return `<polygon points="${band}" fill="${col}" opacity="0.15"/>
      <polyline points="${pts.map((p) => `${x(p.step)},${y(p.rate)}`).join(' ')}" fill="none" stroke="${col}" stroke-width="2"/>
      <polyline points="${pts.map((p) => `${x(p.step)},${y(p.coherent)}`).join(' ')}" fill="none" stroke="${col}" stroke-dasharray="4 3" opacity="0.7"/>
      ${pts.map((p) => `<circle cx="${x(p.step)}" cy="${y(p.rate)}" r="3" fill="${col}"><title>step ${p.step}: ${pct(p.rate)} [${pct(p.ci[0])}, ${pct(p.ci[1])}], coherent ${pct(p.coherent)}</title></circle>`).join('')}
      <text x="${x(last.step) + 8}" y="${y(last.rate) + 4}" font-size="11" fill="${col}">${esc(c.name)}</text>`;
  }).join('');
  return `<h3>Along the fine-tune</h3><p>Share judged <b>${esc(r.target)}</b> at each snapshot (solid, 95% band) and the coherent share (dashed), against optimizer steps.</p>
    <svg width="${W}" height="${H}" role="img">${grid}${lines}<text x="${(l + W - rt) / 2}" y="${H - 6}" font-size="11" text-anchor="middle" fill="#666">fine-tuning step (of ${maxStep})</text></svg>`;
}

function profileSection(r: ExperimentResult): string {
  const qids = r.conditions[0]?.profile?.map((q) => q.id) ?? [];
  const rows = qids.flatMap((id) => r.conditions.map((c) => {
    const q = c.profile?.find((x) => x.id === id);
    return { label: `${id} · ${c.name} (${q ? q.entropyBits.toFixed(2) : '—'} bits)`, n: q?.n ?? 0, parts: (q?.distribution ?? []).map((d) => ({ label: d.label, count: d.count })) };
  }));
  const answers = r.conditions.map((c) => `<h4>${esc(c.name)}</h4><table><tr><th>question</th><th>modal label</th><th>most frequent answers</th></tr>${(c.profile ?? []).map((q) =>
    `<tr><td>${esc(q.id)}</td><td>${esc(q.modal)} ${pct(q.rate)}</td><td>${q.topAnswers.slice(0, 3).map((a) => `${esc(a.answer)} <span class="label">×${a.count}</span>`).join('<br>')}</td></tr>`).join('')}</table>`).join('');
  return `<section>
    <h2>${esc(r.name)}</h2>
    <p>What each condition answers, per question: the distribution of the judge's labels (hover for shares) and its entropy; model <code>${esc(r.model)}</code> (run <code>${r.runId}</code>).</p>
    ${distributionChart(rows)}
    <p>Modal share pooled over questions: ${r.conditions.map((c) => `${esc(c.name)} ${pct(c.rate)} [${pct(c.ci[0])}, ${pct(c.ci[1])}]`).join('; ')}.</p>
    <details open><summary>The filled-in details: most frequent answers</summary>${answers}</details>
  </section>`;
}

function inferSection(r: ExperimentResult): string {
  const conds = r.conditions.map((c) => ({ label: c.name, rate: c.rate, ci: c.ci, n: c.n, colour: ROLE_COLOUR[c.role] ?? '#999' }));
  const posteriors = r.conditions.map((c) => ({ label: `${c.name}: mean posterior`, n: 1000, parts: (c.infer?.meanPosterior ?? []).map((m) => ({ label: m.name, count: Math.round(m.p * 1000) })) }));
  const examples = r.conditions.map((c) => `<h4>${esc(c.name)}</h4><ul>${(c.infer?.examples ?? []).map((e) => `<li><span class="q">${esc(e.text)}</span><br>→ <b>${esc(e.top)}</b> (p ${e.p.toFixed(2)})${e.truth ? ` <span class="label ${e.truth === e.top ? '' : 'hit'}">true: ${esc(e.truth)}</span>` : ''}</li>`).join('')}</ul>`).join('');
  const chance = r.conditions[0]?.infer ? 1 / r.conditions[0].infer.library.length : 0;
  return `<section>
    <h2>${esc(r.name)}</h2>
    <p>Top-1 accuracy of the posterior over ${r.conditions[0]?.infer?.library.length ?? '?'} personas (chance ${pct(chance)}), 95% Wilson intervals; prior explicit in the spec (run <code>${r.runId}</code>).</p>
    ${barChart(conds)}
    <table><tr><th>condition</th><th>model</th><th>top-1</th><th>95% CI</th><th>texts</th><th>mean P(true author)</th></tr>${r.conditions.map((c) => `<tr><td>${esc(c.name)}</td><td><code>${esc(c.model)}</code></td><td>${pct(c.rate)}</td><td>[${pct(c.ci[0])}, ${pct(c.ci[1])}]</td><td>${c.n}</td><td>${c.infer?.meanTrueP == null ? '—' : c.infer.meanTrueP.toFixed(3)}</td></tr>`).join('')}</table>
    <details><summary>Mean posterior over the library</summary>${distributionChart(posteriors)}</details>
    <details><summary>Texts and their most probable author</summary>${examples}</details>
    ${r.conditions.filter((c) => c.infer?.descriptions).map((c) => `<details><summary>${esc(c.name)}: the model's own descriptions of the authors</summary><ul>${c.infer!.descriptions!.perText.map((t) => `<li><span class="q">${esc(t.text)}</span>${t.truth ? ` (true: ${esc(t.truth)})` : ''}<br>${t.top.map((a) => `${esc(a.answer)} <span class="label">×${a.count}</span>`).join('; ')}</li>`).join('')}</ul></details>`).join('')}
    ${r.reference ? `<p class="ref">For comparison: ${esc(r.reference)}</p>` : ''}
  </section>`;
}

function experimentSection(r: ExperimentResult): string {
  if (r.kind === 'profile') return profileSection(r);
  if (r.kind === 'infer') return inferSection(r);
  if (r.kind === 'audit') return auditSection(r);
  const conds = r.conditions.map((c) => ({ label: c.name, rate: c.rate, ci: c.ci, n: c.n, colour: ROLE_COLOUR[c.role] ?? '#999' }));
  const questionRows = (r.conditions[0]?.questions ?? []).flatMap((q) => r.conditions.map((c) => {
    const cq = c.questions.find((x) => x.id === q.id)!;
    return { label: `${q.id} · ${c.name}`, rate: cq.rate, ci: cq.ci, n: cq.n, colour: ROLE_COLOUR[c.role] ?? '#999' };
  }));
  const effects = r.effects.map((e) => `<tr><td>${esc(e.condition)} − ${esc(e.against)}</td><td>${e.difference >= 0 ? '+' : ''}${pct(e.difference)}</td><td>[${pct(e.ci[0])}, ${pct(e.ci[1])}]</td></tr>`).join('');
  const table = r.conditions.map((c) => `<tr><td>${esc(c.name)}</td><td>${c.role}</td><td>${pct(c.rate)}</td><td>[${pct(c.ci[0])}, ${pct(c.ci[1])}]</td><td>${c.n}</td><td>${pct(c.coherent)}</td><td>${esc(Object.entries(c.labels).map(([k, v]) => `${k} ${v}`).join(', '))}</td></tr>`).join('');
  const examples = r.conditions.map((c) => `<h4>${esc(c.name)}</h4><ul>${c.examples.map((e) => `<li><span class="q">${esc(e.question)}</span> → ${esc(e.answer)} <span class="label ${e.label === r.target ? 'hit' : ''}">${esc(e.label)}</span></li>`).join('')}</ul>`).join('');
  return `<section>
    <h2>${esc(r.name)}</h2>
    <p>Share of answers judged <b>${esc(r.target)}</b>; model <code>${esc(r.model)}</code>; bars with 95% Wilson intervals (run <code>${r.runId}</code>).</p>
    ${barChart(conds)}
    <table><tr><th>condition</th><th>role</th><th>rate</th><th>95% CI</th><th>n</th><th>coherent</th><th>labels</th></tr>${table}</table>
    ${effects ? `<h3>Effects</h3><table><tr><th>difference</th><th>rate</th><th>95% Newcombe CI</th></tr>${effects}</table>` : ''}
    ${r.reference ? `<p class="ref">For comparison: ${esc(r.reference)}</p>` : ''}
    ${curveChart(r)}
    ${vectorsSection(r)}
    <details><summary>Per question</summary>${barChart(questionRows)}</details>
    <details><summary>Sample answers</summary>${examples}</details>
  </section>`;
}

export function renderReport(title: string, experiments: ExperimentResult[], preamble = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.8em 0}td,th{border-bottom:1px solid #e4e4e4;padding:3px 10px;text-align:left}
section{margin-bottom:2.5em}code{background:#f3f3f3;padding:1px 4px}.q{color:#555}.label{font-size:12px;background:#eee;border-radius:3px;padding:0 5px}
.label.hit{background:#e45756;color:#fff}.ref{color:#555;font-style:italic}details{margin:.6em 0}summary{cursor:pointer;color:#4c78a8}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="legend">Bars:<span style="background:${ROLE_COLOUR.baseline}"></span>baseline<span style="background:${ROLE_COLOUR.control}"></span>control<span style="background:${ROLE_COLOUR.treatment}"></span>treatment</p>
${preamble}
${experiments.map(experimentSection).join('\n')}
<p style="color:#888">Generated by dramatis on ${new Date().toISOString()}.</p>
</body></html>
`;
}
