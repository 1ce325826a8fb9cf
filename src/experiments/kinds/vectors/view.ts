/**
 * The viewer's vectors run: rates of the target as generalize draws them (without the steering sweep's
 * conditions), then the vector's own sections: separation per layer (the chosen one marked), how well
 * its projection monitors the judged trait, the fine-tunes' shifts against their rates, and the sweep.
 */
import { html, count, pct, type Html } from '../../../view/client/html.ts';
import { colourOf } from '../../../view/client/charts.ts';
import { xyChart } from '../../../view/client/charts-more.ts';
import { defaultView, type KindView, type KindViewContext } from '../../../view/client/kind-view.ts';
import type { ConditionResult, ExperimentResult } from '../../result.ts';
import type { Correlation, ShiftPoint, SweepPoint, VectorsSummary } from './index.ts';

/** As in ./index.ts (SWEEP_GROUP): not imported, since a value import would bundle the kind's run code into the browser app. */
const SWEEP_GROUP = 'sweep: ';

type Layer = { layer: number; auc: number; ci?: [number, number]; validationD?: number; validationAuc?: number };
const vecOf = (s: ExperimentResult) => (s as ExperimentResult & { vectors?: Partial<VectorsSummary> }).vectors;
const f3 = (x: number) => x.toFixed(3);
const ci3 = (ci: [number, number] | null | undefined) => (ci ? `[${f3(ci[0])}, ${f3(ci[1])}]` : '');
const isSweep = (c: ConditionResult) => typeof c.group === 'string' && c.group.startsWith(SWEEP_GROUP);

function layersSection(v: Partial<VectorsSummary>, section: KindViewContext['section']): Html {
  const layers = (v.layers ?? []) as Layer[];
  const chosen = v.layer;
  const held = v.heldOut
    ? `held out n=${count(v.heldOut.positive + v.heldOut.negative)} (${count(v.heldOut.positive)} ${v.positive ?? 'positive'}, ${count(v.heldOut.negative)} ${v.negative ?? 'negative'})`
    : '';
  const headline =
    v.auc !== undefined
      ? html`<p class="headline" id="vectors-headline">AUC <b>${f3(v.auc)}</b> ${ci3(v.ci)} at layer ${chosen ?? '—'}${held ? html`, ${held}` : ''}${v.trait ? html` · trait ${v.trait}${v.positive ? html` (${v.positive} − ${v.negative})` : ''}` : ''}${v.examples ? html` · extracted from ${count(v.examples.positive)} + ${count(v.examples.negative)} answers` : ''}</p>`
      : html``;
  if (!layers.length) return v.auc !== undefined ? section('Separation of the trait', headline, undefined, 'vectors-layers') : html``;
  const chart = xyChart([{ name: 'held-out AUC', colour: colourOf(0), points: layers.map((l) => ({ x: l.layer, y: l.auc, lo: l.ci?.[0], hi: l.ci?.[1] })) }], {
    xLabel: 'layer',
    yLabel: 'held-out AUC',
    title: 'AUC per layer',
    yRange: [0.5, 1],
    mark: chosen === undefined ? undefined : { x: chosen, label: `chosen layer ${chosen}` },
  });
  const hasD = layers.some((l) => l.validationD !== undefined);
  const table = html`<details><summary>Per layer</summary><table class="data"><thead><tr><th class="num">layer</th><th class="num">held-out AUC</th><th>95% CI</th>${hasD ? html`<th class="num">validation AUC</th><th class="num">validation d</th>` : ''}</tr></thead><tbody>
    ${layers.map((l) => html`<tr class="${l.layer === chosen ? 'ok' : ''}"><td class="num">${l.layer}${l.layer === chosen ? ' (chosen)' : ''}</td><td class="num">${f3(l.auc)}</td><td>${ci3(l.ci)}</td>${hasD ? html`<td class="num">${l.validationAuc === undefined ? '' : f3(l.validationAuc)}</td><td class="num">${l.validationD === undefined ? '' : l.validationD.toFixed(2)}</td>` : ''}</tr>`)}</tbody></table></details>`;
  return section(
    'Separation of the trait per layer',
    html`${headline}${chart}${table}`,
    'AUC of the projection on held-out documents, positive against negative authors (0.5 = chance); the layer is chosen on a validation split, by its separation in pooled standard deviations.',
    'vectors-layers',
  );
}

const corrRow = (name: string, c: Correlation | undefined) =>
  c ? html`<tr><th>${name}</th><td class="num strong">${c.r.toFixed(3)}</td><td>${ci3(c.ci)}</td><td class="num">${count(c.n)}</td></tr>` : html``;

function monitorSection(v: Partial<VectorsSummary>, section: KindViewContext['section']): Html {
  const m = v.monitor;
  if (!m && !v.shiftR && !v.predictedR) return html``;
  return section(
    'The vector as a monitor',
    html`<table class="data" id="vectors-monitor"><thead><tr><th>correlation</th><th class="num">r</th><th>95% CI</th><th class="num">n</th></tr></thead><tbody>
      ${corrRow('prompt projection vs judged hit (per sample)', m?.samples)}
      ${corrRow('mean prompt projection vs rate (per condition × question cell)', m?.cells)}
      ${corrRow('reply projection vs judged hit (per sample)', m?.replies)}
      ${corrRow('measured projection shift vs rate (per fine-tune)', v.shiftR)}
      ${corrRow('predicted shift (data, before training) vs rate (per fine-tune)', v.predictedR)}
    </tbody></table>`,
    'Pearson r (point-biserial against a hit) with its 95% interval; the sweep’s steered conditions are left out.',
    'vectors-monitor-section',
  );
}

function shiftSection(v: Partial<VectorsSummary>, section: KindViewContext['section']): Html {
  const shifts = (v.shifts ?? []) as ShiftPoint[];
  if (!shifts.length) return html``;
  const r = (c: Correlation | undefined) => (c ? ` (r = ${c.r.toFixed(2)}${c.ci ? ` ${ci3(c.ci)}` : ''}, n ${c.n})` : '');
  const measured = xyChart(
    [
      {
        name: 'fine-tunes',
        colour: colourOf(1),
        scatter: true,
        points: shifts.map((s) => ({ x: s.projectionShift, y: s.rate, lo: s.ci?.[0], hi: s.ci?.[1], label: s.condition })),
      },
    ],
    { xLabel: 'measured projection shift (fine-tuned − baseline)', yLabel: 'rate', yPct: true, title: 'shifts' },
  );
  const withPred = shifts.filter((s) => s.predictedShift !== null && s.predictedShift !== undefined);
  const predicted = withPred.length
    ? xyChart(
        [
          {
            name: 'fine-tunes',
            colour: colourOf(2),
            scatter: true,
            points: withPred.map((s) => ({ x: s.predictedShift!, y: s.projectionShift, label: s.condition })),
          },
        ],
        { xLabel: 'predicted shift (the data’s projection, before training)', yLabel: 'measured shift', title: 'predicted shifts' },
      )
    : html``;
  return section(
    'What fine-tuning moved',
    html`<h3>Measured shift vs rate${r(v.shiftR)}</h3>${measured}${withPred.length ? html`<h3>Predicted vs measured shift${r(v.predictedR)}</h3>${predicted}` : ''}
    <table class="data"><thead><tr><th>fine-tune</th><th>data</th><th class="num">measured shift</th><th class="num">predicted</th><th class="num">rate</th><th class="num">preventative</th></tr></thead><tbody>
    ${shifts.map((s) => html`<tr><th>${s.condition}</th><td class="mono small">${s.data ?? ''}</td><td class="num">${s.projectionShift.toFixed(3)}</td><td class="num">${s.predictedShift == null ? '—' : s.predictedShift.toFixed(3)}</td><td class="num">${pct(s.rate)}</td><td class="num">${s.preventative ?? ''}</td></tr>`)}</tbody></table>`,
    'Each point a fine-tune, labelled by its condition; whiskers are the rate’s 95% interval.',
    'vectors-shifts',
  );
}

function sweepSection(v: Partial<VectorsSummary>, section: KindViewContext['section']): Html {
  const sweep = (v.sweep ?? []) as SweepPoint[];
  if (!sweep.length) return html``;
  const names = [...new Set(sweep.map((p) => p.condition))];
  const series = names.flatMap((name, i) => {
    const pts = sweep.filter((p) => p.condition === name);
    return [
      { name: `${name}: rate`, colour: colourOf(i), points: pts.map((p) => ({ x: p.coefficient, y: p.rate, lo: p.ci[0], hi: p.ci[1] })) },
      { name: `${name}: coherent`, colour: colourOf(i), dashed: true, points: pts.map((p) => ({ x: p.coefficient, y: p.coherent })) },
    ];
  });
  return section(
    'Steering sweep',
    html`${xyChart(series, { xLabel: 'steering coefficient (× vector)', yLabel: 'share of answers', yPct: true, yRange: [0, 1], title: 'steering sweep' })}
    <table class="data"><thead><tr><th>condition</th><th class="num">coefficient</th><th class="num">rate</th><th>95% CI</th><th class="num">n</th><th class="num">coherent</th></tr></thead><tbody>
    ${sweep.map((p) => html`<tr><th>${p.condition}</th><td class="num">${p.coefficient > 0 ? '+' : ''}${p.coefficient}</td><td class="num">${pct(p.rate)}</td><td>[${pct(p.ci[0])}, ${pct(p.ci[1])}]</td><td class="num">${count(p.n)}</td><td class="num">${pct(p.coherent)}</td></tr>`)}</tbody></table>`,
    'Rate (whiskers: 95% interval) and coherent share (dashed) with coefficient × vector added at its layer; coefficient 0 is the condition itself. These conditions are left out of the rates above.',
    'vectors-sweep',
  );
}

function vectorsSections({ summary: s, section }: KindViewContext): Html {
  const v = vecOf(s);
  if (!v) return html``;
  return html`${layersSection(v, section)}${monitorSection(v, section)}${shiftSection(v, section)}${sweepSection(v, section)}`;
}

export const vectorsView: KindView = {
  ...defaultView,
  target: (s) => s.target,
  measure: (s) => `share of answers judged “${s.target}”`,
  resultFields: ['vectors'],
  mainConditions: (s) => s.conditions.filter((c) => !isSweep(c)),
  sections: vectorsSections,
};
