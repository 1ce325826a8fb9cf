/**
 * Report sections for persona vectors and the audit: the layer separation curve, the steering sweep
 * (rate and coherence against the coefficient), fine-tune shifts against rates, and the audit's ranked
 * traits, personas and flagged examples. Inline SVG, like the rest of the report.
 */
import type { ExperimentResult } from '../experiments/result.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const signed = (x: number, d = 3) => `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;
const PALETTE = ['#e45756', '#4c78a8', '#54a24b', '#f58518', '#72b7b2', '#b279a2'];

interface Series { name: string; colour: string; dashed?: boolean; points: { x: number; y: number; lo?: number; hi?: number; tip: string }[]; line?: boolean }

/** A small x–y chart: y in [yMin, yMax], optional interval whiskers, lines or bare points. */
export function xyChart(series: Series[], o: { xLabel: string; yLabel: string; yMin?: number; yMax?: number; yPercent?: boolean; width?: number }): string {
  const W = o.width ?? 560, l = 56, t = 12, b = 38, rt = 20;
  const legendRows = Math.ceil(series.length / 2), H = 240 + legendRows * 16;
  const plotBottom = 240 - b;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]));
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  const y0 = o.yMin ?? Math.min(0, ...ys), y1 = o.yMax ?? Math.max(...ys, y0 + 1e-9);
  const x = (v: number) => l + ((v - x0) / (x1 - x0)) * (W - l - rt);
  const y = (v: number) => t + (1 - (v - y0) / (y1 - y0)) * (plotBottom - t);
  const fmtY = (v: number) => (o.yPercent ? `${Math.round(v * 100)}%` : v.toFixed(2));
  const yTicks = Array.from({ length: 5 }, (_, k) => y0 + ((y1 - y0) * k) / 4);
  // The x values themselves when there are few (layers, coefficients); else six even ticks (scatters).
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  const xTicks = distinct.length <= 12 ? distinct : Array.from({ length: 6 }, (_, k) => x0 + ((x1 - x0) * k) / 5);
  const grid = yTicks.map((v) => `<line x1="${l}" x2="${W - rt}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e4e4"/><text x="${l - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end" fill="#666">${fmtY(v)}</text>`).join('')
    + xTicks.map((v) => `<text x="${x(v)}" y="${plotBottom + 16}" font-size="11" text-anchor="middle" fill="#666">${Number.isInteger(v) ? v : v.toFixed(2)}</text>`).join('');
  const body = series.map((s) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const whiskers = pts.filter((p) => p.lo !== undefined).map((p) => `<line x1="${x(p.x)}" x2="${x(p.x)}" y1="${y(p.lo!)}" y2="${y(p.hi!)}" stroke="${s.colour}" opacity="0.6"/>`).join('');
    const line = s.line === false ? '' : `<polyline points="${pts.map((p) => `${x(p.x)},${y(p.y)}`).join(' ')}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`;
    const dots = pts.map((p) => `<circle cx="${x(p.x)}" cy="${y(p.y)}" r="3.5" fill="${s.colour}"><title>${esc(p.tip)}</title></circle>`).join('');
    return `${whiskers}${line}${dots}`;
  }).join('');
  const legend = series.map((s, k) => {
    const lx = l + (k % 2) * ((W - l) / 2), ly = 240 + Math.floor(k / 2) * 16 + 4;
    return `<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}${s.line === false ? ' opacity="0"' : ''}/><circle cx="${lx + 9}" cy="${ly}" r="3.5" fill="${s.colour}"/><text x="${lx + 24}" y="${ly + 4}" font-size="11" fill="#333">${esc(s.name)}</text>`;
  }).join('');
  return `<svg width="${W}" height="${H}" role="img">${grid}${body}${legend}
    <text x="${(l + W - rt) / 2}" y="${plotBottom + 32}" font-size="11" text-anchor="middle" fill="#666">${esc(o.xLabel)}</text>
    <text x="12" y="${(t + plotBottom) / 2}" font-size="11" text-anchor="middle" fill="#666" transform="rotate(-90 12 ${(t + plotBottom) / 2})">${esc(o.yLabel)}</text></svg>`;
}

const corr = (c: { r: number; ci: [number, number] | null; n: number } | undefined) => (c ? `r = ${c.r.toFixed(2)}${c.ci ? ` [${c.ci[0].toFixed(2)}, ${c.ci[1].toFixed(2)}]` : ''} (n = ${c.n})` : '—');

export function vectorsSection(r: ExperimentResult): string {
  const v = r.vectors;
  if (!v) return '';
  const layerChart = xyChart([
    { name: 'held-out AUC', colour: PALETTE[0], points: v.layers.map((l) => ({ x: l.layer, y: l.auc, lo: l.ci[0], hi: l.ci[1], tip: `layer ${l.layer}: AUC ${l.auc.toFixed(3)} [${l.ci[0].toFixed(3)}, ${l.ci[1].toFixed(3)}]` })) },
    ...(v.layers.every((l) => l.indirectAuc !== undefined) ? [{ name: 'held-out, trait answers removed', colour: PALETTE[2], points: v.layers.map((l) => ({ x: l.layer, y: l.indirectAuc!, lo: l.indirectCi![0], hi: l.indirectCi![1], tip: `layer ${l.layer}: AUC without the trait's answers ${l.indirectAuc!.toFixed(3)}` })) }] : []),
    { name: 'validation AUC', colour: PALETTE[1], dashed: true, points: v.layers.map((l) => ({ x: l.layer, y: l.validationAuc, tip: `layer ${l.layer}: validation AUC ${l.validationAuc.toFixed(3)}` })) },
  ], { xLabel: 'layer (0 = embeddings)', yLabel: 'AUC', yMin: Math.min(0.5, ...v.layers.map((l) => Math.min(l.ci[0], l.indirectCi?.[0] ?? 1))), yMax: 1 });
  const sweepNames = [...new Set(v.sweep?.map((p) => p.condition) ?? [])];
  const sweepChart = v.sweep ? xyChart(sweepNames.flatMap((name, k) => {
    const pts = v.sweep!.filter((p) => p.condition === name);
    return [
      { name: `${name}: ${r.target}`, colour: PALETTE[k % PALETTE.length], points: pts.map((p) => ({ x: p.coefficient, y: p.rate, lo: p.ci[0], hi: p.ci[1], tip: `${name}, ${signed(p.coefficient, 2)}: ${pct(p.rate)} [${pct(p.ci[0])}, ${pct(p.ci[1])}], coherent ${pct(p.coherent)}` })) },
      { name: `${name}: coherent`, colour: PALETTE[k % PALETTE.length], dashed: true, points: pts.map((p) => ({ x: p.coefficient, y: p.coherent, tip: `${name}, ${signed(p.coefficient, 2)}: coherent ${pct(p.coherent)}` })) },
    ];
  }), { xLabel: `steering coefficient (× vector, after layer ${v.layer})`, yLabel: 'share of answers', yMin: 0, yMax: 1, yPercent: true }) : '';
  const shifts = v.shifts ?? [];
  const shiftChart = shifts.length ? xyChart([
    { name: 'measured shift (after training)', colour: PALETTE[0], line: false, points: shifts.filter((s) => s.preventative === undefined).map((s) => ({ x: s.projectionShift, y: s.rate, lo: s.ci[0], hi: s.ci[1], tip: `${s.condition}: shift ${signed(s.projectionShift)}, rate ${pct(s.rate)}` })) },
    ...(shifts.some((s) => s.preventative !== undefined) ? [{ name: 'measured, preventative steering', colour: PALETTE[2], line: false, points: shifts.filter((s) => s.preventative !== undefined).map((s) => ({ x: s.projectionShift, y: s.rate, lo: s.ci[0], hi: s.ci[1], tip: `${s.condition}: shift ${signed(s.projectionShift)}, rate ${pct(s.rate)}` })) }] : []),
    ...(shifts.some((s) => s.predictedShift !== null) ? [{ name: 'predicted from the data (audit, before training)', colour: PALETTE[1], line: false, points: shifts.filter((s) => s.predictedShift !== null).map((s) => ({ x: s.predictedShift!, y: s.rate, tip: `${s.condition}: predicted ${signed(s.predictedShift!)}, rate ${pct(s.rate)}` })) }] : []),
  ], { xLabel: 'projection shift along the vector', yLabel: `rate of ${r.target}`, yMin: 0, yMax: 1, yPercent: true }) : '';
  return `<h3>Persona vector: ${esc(v.trait)} (${esc(v.positive)} − ${esc(v.negative)})</h3>
    <p>Extracted from ${v.examples.positive} + ${v.examples.negative} judge-confirmed answers; layer ${v.layer} chosen on the validation split; held-out AUC ${v.auc.toFixed(3)} [${v.ci[0].toFixed(3)}, ${v.ci[1].toFixed(3)}] over ${v.heldOut.positive} + ${v.heldOut.negative} documents. Saved to <code>${esc(v.file)}</code>.</p>
    ${layerChart}
    ${v.monitor ? `<h3>Monitoring</h3><p>Projection at the last prompt token against the judged trait: across samples ${corr(v.monitor.samples)}; across condition × question cells ${corr(v.monitor.cells)}. Projection over the reply: ${corr(v.monitor.replies)}. Each sample's projections are stored with it (judges <code>monitor:…</code>).</p>` : ''}
    ${shifts.length ? `<h3>Fine-tune shifts</h3>${v.shiftR || v.predictedR ? `<p>Measured shift against rate: ${corr(v.shiftR)}; predicted from the data before training: ${corr(v.predictedR)}.</p>` : ''}${shiftChart}
      <table><tr><th>fine-tune</th><th>data</th><th>measured shift</th><th>predicted</th><th>rate</th><th>95% CI</th></tr>${shifts.map((s) => `<tr><td>${esc(s.condition)}</td><td><code>${esc(s.data)}</code></td><td>${signed(s.projectionShift)}</td><td>${s.predictedShift === null ? '—' : signed(s.predictedShift)}</td><td>${pct(s.rate)}</td><td>[${pct(s.ci[0])}, ${pct(s.ci[1])}]</td></tr>`).join('')}</table>` : ''}
    ${v.sweep ? `<h3>Steering sweep</h3>${sweepChart}` : ''}`;
}

export function auditSection(r: ExperimentResult): string {
  const a = r.audit;
  if (!a) return '';
  const traitCols = a.datasets[0]?.projections?.map((p) => `${p.trait}: ${p.positive} − ${p.negative}`) ?? [];
  const rows = a.datasets.map((d, i) => `<tr><td>${esc(d.name)}</td><td>${d.n}</td><td>${pct(r.conditions[i].rate)} [${pct(r.conditions[i].ci[0])}, ${pct(r.conditions[i].ci[1])}]</td>${(d.projections ?? []).map((p) => `<td>${signed(p.difference)} <span class="q">[${signed(p.ci[0])}, ${signed(p.ci[1])}]</span></td>`).join('')}<td>${esc(d.predicted)}</td></tr>`).join('');
  const details = a.datasets.map((d) => `<details><summary>${esc(d.name)}: personas, traits and the examples that pull hardest</summary>
    ${d.personas ? `<p>Personas it pulls toward (mean posterior, model's own answers → the data's): ${d.personas.slice(0, 5).map((p) => `${esc(p.name)} ${pct(p.own)} → ${pct(p.data)}`).join('; ')}.</p>` : ''}
    ${d.traits ? `<p>Trait marginals: ${d.traits.slice(0, 6).map((t) => `${esc(t.value)} ${t.own.toFixed(2)} → ${t.data.toFixed(2)}`).join('; ')}.</p>` : ''}
    <table><tr><th>#</th><th>prompt</th><th>answer</th><th>pull</th><th>P(${esc(a.target.positive)})</th><th>most probable author</th></tr>${d.flagged.map((f) => `<tr><td>${f.index}</td><td class="q">${esc(f.prompt)}</td><td>${esc(f.answer)}</td><td>${f.pull === null ? '—' : signed(f.pull)}</td><td>${f.p === null ? '—' : f.p.toFixed(2)}</td><td>${esc(f.top ?? '—')}</td></tr>`).join('')}</table></details>`).join('');
  return `<section>
    <h2>${esc(r.name)}</h2>
    <p>What each dataset would select, before training, on <code>${esc(r.model)}</code> (run <code>${r.runId}</code>). Projection differences: the data's answers minus the model's own answers to the same prompts, on each trait vector (95% intervals). Rate: share of examples whose most probable authors are ${esc(a.target.positive)} (posterior &gt; ½).</p>
    <table><tr><th>dataset</th><th>n</th><th>rate</th>${traitCols.map((c) => `<th>Δ projection ${esc(c)}</th>`).join('')}<th>predicted shift</th></tr>${rows}</table>
    ${details}
    ${r.reference ? `<p class="ref">For comparison: ${esc(r.reference)}</p>` : ''}
  </section>`;
}
