/**
 * One run: per condition and per question the judged rates with 95% intervals, the effects with their
 * Newcombe intervals, the label mix, and what each kind adds (fine-tune curve, profile distributions
 * and entropy, infer posteriors), then any figures this viewer does not know by name. A running run
 * shows its progress and the labels judged so far, refreshed by polling.
 */
import { html, pct, interval, count, date, type Html } from './html.ts';
import { rateBars, groupedBars, forest, stacked, lineChart, labelColours, colourOf, legend, type Series } from './charts.ts';
import { extraSection } from './extras.ts';
import { routeHref, showError, type View } from './route.ts';
import { statusBadge } from './runs-view.ts';
import { addTableExports } from './table-export.ts';
import { statusPanel, duration } from './status-panel.ts';
import { wilson } from '../../shared/stats.ts';
import type { RunDetail } from '../types.ts';
import type { ExperimentResult } from '../../experiments/result.ts';
import { viewOf } from '../../experiments/kinds/views.ts';

const KNOWN_CONDITION = ['name', 'role', 'group', 'model', 'rate', 'ci', 'n', 'hits', 'coherent', 'unscored', 'labels', 'questions', 'examples', 'curve'];
const KNOWN_RESULT = ['format', 'name', 'kind', 'model', 'target', 'runId', 'conditions', 'effects', 'reference'];

const samplesHref = (id: string, p: Record<string, string | undefined> = {}) => routeHref(['run', id, 'samples'], p);
const section = (title: string, body: Html | string, note?: string, id?: string) =>
  html`<section class="card"${id ? html` id="${id}"` : ''}><h2>${title}</h2>${note ? html`<p class="note">${note}</p>` : ''}${body}</section>`;

function header(r: RunDetail): Html {
  const s = r.summary;
  const conds = r.conditionList;
  return html`
    <div class="page-head">
      <h1>${r.name}</h1><span class="kind">${r.kind}</span>${statusBadge(r)}
      <span class="spacer"></span>
      <a class="button" href="${samplesHref(r.id)}">Samples</a>
      ${conds.length >= 2 ? html`<a class="button" href="${routeHref(['compare'], { a: `${r.id}~${conds[0].name}`, b: `${r.id}~${conds[1].name}` })}">Compare conditions</a>` : ''}
      <a class="button" href="${routeHref(['compare'], { a: r.id })}">Compare with a run</a>
    </div>
    <dl class="meta">
      <dt>model</dt><dd class="mono">${r.model}</dd>
      ${s ? html`<dt>counts</dt><dd>${s.target}</dd>` : ''}
      <dt>judge</dt><dd class="mono">${r.judge ?? '—'}</dd>
      <dt>samples</dt><dd>${r.samples === null ? (r.progress ? `${count(r.progress.done)} of ${count(r.progress.total)}` : '—') : count(r.samples)}</dd>
      <dt>updated</dt><dd>${date(r.updatedAt)}</dd>
      ${r.status === 'done' && r.elapsedS !== undefined ? html`<dt>ran for</dt><dd>${duration(r.elapsedS)}</dd>` : ''}
      <dt>id</dt><dd class="mono">${r.id}</dd>
    </dl>
    ${statusPanel(r)}
    ${s?.reference ? html`<p class="note">For comparison: ${s.reference}</p>` : ''}`;
}

/** The summary as the generic sections draw it: only the kind's main conditions (vectors leaves out its sweep). */
function mainOf(s: ExperimentResult): ExperimentResult {
  const conds = viewOf(s.kind).mainConditions?.(s) ?? s.conditions;
  if (conds === s.conditions) return s;
  const names = new Set(conds.map((c) => c.name));
  return { ...s, conditions: conds, effects: s.effects.filter((e) => names.has(e.condition) && names.has(e.against)) };
}

function conditionsSection(r: RunDetail, all: ExperimentResult): Html {
  const s = mainOf(all);
  const view = viewOf(s.kind);
  const target = view.target(s);
  const rows = s.conditions.map((c, i) => ({
    label: c.name,
    rate: c.rate,
    ci: c.ci,
    n: c.n,
    colour: colourOf(i),
    note: c.role !== 'treatment' ? c.role : undefined,
    href: samplesHref(r.id, { condition: c.name, label: target }),
  }));
  const table = html`<table class="data"><thead><tr><th>condition</th><th>role</th><th>model</th><th class="num">rate</th><th>95% CI</th><th class="num">n</th><th class="num">coherent</th><th>labels</th></tr></thead><tbody>
    ${s.conditions.map(
      (
        c,
        i,
      ) => html`<tr><th><i class="swatch" style="background:${colourOf(i)}"></i><a href="${samplesHref(r.id, { condition: c.name })}">${c.name}</a></th><td>${c.role}</td><td class="mono small">${c.model}</td>
      <td class="num strong">${pct(c.rate)}</td><td class="nowrap">${interval(c.ci)}</td><td class="num">${count(c.n)}</td><td class="num" title="of the answers the judge scored">${pct(c.coherent)}${c.unscored ? html`<br /><span class="small">${count(c.unscored)} unscored</span>` : ''}</td>
      <td class="small">${Object.entries(c.labels)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(
          ([l, n]) => html`<a class="tag" href="${samplesHref(r.id, { condition: c.name, label: l })}">${l} ${pct(n / Math.max(1, c.n), 0)}</a> `,
        )}</td></tr>`,
    )}
  </tbody></table>`;
  return section(
    `Rate per condition: ${view.measure(s)}`,
    html`${rateBars(rows, { title: 'rate per condition' })}${table}`,
    '95% Wilson intervals. Click a bar to read its samples.',
    'conditions',
  );
}

function effectsSection(all: ExperimentResult): Html {
  const s = mainOf(all);
  if (!s.effects.length) return html``;
  return section(
    'Effects',
    forest(s.effects.map((e) => ({ label: `${e.condition} − ${e.against}`, d: e.difference, ci: e.ci }))),
    'Difference of rates with its 95% Newcombe interval; coloured where the interval excludes zero.',
    'effects',
  );
}

function heatmap(r: RunDetail, s: ExperimentResult, ids: string[], target?: string): Html {
  const link = (p: Record<string, string | undefined>) => (viewOf(s.kind).linksToSamples ? samplesHref(r.id, p) : undefined);
  return html`<table class="data heat"><thead><tr><th>condition</th>${ids.map((id) => html`<th class="num">${id}</th>`)}<th class="num">all</th></tr></thead><tbody>
    ${s.conditions.map(
      (c) =>
        html`<tr><th>${c.name}</th>${ids.map((id) => {
          const q = c.questions.find((x) => x.id === id);
          if (!q) return html`<td></td>`;
          const href = link({ condition: c.name, question: id, label: target });
          const cellText = href ? html`<a href="${href}">${pct(q.rate, 0)}</a>` : pct(q.rate, 0);
          return html`<td class="num" style="background:rgba(228,87,86,${(0.08 + 0.8 * q.rate).toFixed(2)});${q.rate > 0.55 ? 'color:#fff' : ''}" title="${`${c.name} · ${id}: ${pct(q.rate)} ${interval(q.ci)}, n ${q.n}`}">${cellText}</td>`;
        })}<td class="num strong">${pct(c.rate, 1)}</td></tr>`,
    )}
  </tbody></table>`;
}

function questionsSection(r: RunDetail, all: ExperimentResult): Html {
  const s = mainOf(all);
  // A question no condition asked (fewer samples than questions) has no rate: it is left out, not drawn as 0%.
  const ids = [...new Set(s.conditions.flatMap((c) => c.questions.filter((q) => q.n > 0).map((q) => q.id)))];
  const view = viewOf(s.kind);
  if (ids.length < 2 || view.perQuestion === null) return html``;
  const target = view.target(s);
  const groups = ids.map((id) => ({
    label: id,
    href: view.linksToSamples ? samplesHref(r.id, { question: id }) : undefined,
    bars: s.conditions.map((c, i) => {
      const q = c.questions.find((x) => x.id === id);
      return {
        label: c.name,
        rate: q?.rate ?? 0,
        ci: q?.ci,
        n: q?.n,
        colour: colourOf(i),
        href: view.linksToSamples ? samplesHref(r.id, { condition: c.name, question: id, label: target }) : undefined,
      };
    }),
  }));
  const title = view.perQuestion;
  // Beyond a handful of conditions, bars per question grow too tall to read: a table of rates, shaded.
  if (s.conditions.length > 6)
    return section(
      title,
      heatmap(r, s, ids, target),
      'Rate per condition (rows) and question (columns), darker for higher; hover for the 95% interval and n.',
      'questions',
    );
  return section(
    title,
    html`${legend(s.conditions.map((c, i) => ({ label: c.name, colour: colourOf(i) })))}${groupedBars(groups, { title })}`,
    undefined,
    'questions',
  );
}

function labelsSection(r: RunDetail, whole: ExperimentResult): Html {
  const s = mainOf(whole);
  const view = viewOf(s.kind);
  if (!view.labels || s.conditions.every((c) => Object.keys(c.labels ?? {}).length === 0)) return html``;
  const all = [...new Set(s.conditions.flatMap((c) => Object.keys(c.labels)))];
  const colour = labelColours(
    all.sort((a, b) => s.conditions.reduce((t, c) => t + (c.labels[b] ?? 0) - (c.labels[a] ?? 0), 0)),
    view.target(s),
  );
  const rows = s.conditions.map((c) => ({
    label: c.name,
    n: c.n,
    href: samplesHref(r.id, { condition: c.name }),
    parts: Object.entries(c.labels)
      .map(([label, n]) => ({ label, count: n }))
      .sort((a, b) => b.count - a.count),
    note: `coherent ${pct(c.coherent, 0)}`,
  }));
  return section(
    'Labels',
    html`${legend(all.map((l) => ({ label: l, colour: colour(l) })))}${stacked(rows, colour, { title: 'labels per condition' })}`,
    undefined,
    'labels',
  );
}

function curveSection(s: ExperimentResult): Html {
  const withCurve = s.conditions.map((c, i) => ({ c, i })).filter(({ c }) => c.curve?.length);
  if (!withCurve.length) return html``;
  const series: Series[] = withCurve.flatMap(({ c, i }) => [
    { name: `${c.name}: ${s.target}`, colour: colourOf(i), points: c.curve!.map((p) => ({ x: p.step, y: p.rate, lo: p.ci[0], hi: p.ci[1] })) },
    { name: `${c.name}: coherent`, colour: colourOf(i), dashed: true, points: c.curve!.map((p) => ({ x: p.step, y: p.coherent })) },
  ]);
  const table = html`<table class="data"><thead><tr><th>condition</th><th class="num">step</th><th class="num">rate</th><th>95% CI</th><th class="num">n</th><th class="num">coherent</th></tr></thead><tbody>
    ${withCurve.flatMap(({ c }) => c.curve!.map((p) => html`<tr><th>${c.name}</th><td class="num">${p.step}/${p.steps}</td><td class="num">${pct(p.rate)}</td><td>${interval(p.ci)}</td><td class="num">${p.n}</td><td class="num">${pct(p.coherent)}</td></tr>`))}</tbody></table>`;
  return section(
    'Along the fine-tune',
    html`${lineChart(series, { xLabel: 'fine-tuning step', yLabel: 'share of answers', yPct: true, title: 'curve' })}${table}`,
    `Rate of “${s.target}” (band: 95% interval) and the coherent share (dashed) at each snapshot; the last point is the final model.`,
    'curve',
  );
}

function liveSection(r: RunDetail): Html {
  if (!r.live) return html``;
  const target = typeof r.spec.target === 'string' ? r.spec.target : undefined;
  const all = [...new Set(r.live.flatMap((c) => Object.keys(c.labels)))];
  const colour = labelColours(all, target);
  const judged = (c: NonNullable<RunDetail['live']>[number]) => Object.values(c.labels).reduce((a, b) => a + b, 0);
  const n = r.perCondition ?? (typeof r.spec.samples === 'number' ? r.spec.samples : 0);
  return html`
    ${
      target
        ? section(
            `So far: share judged “${target}”`,
            rateBars(
              r.live.map((c, i) => {
                const m = judged(c),
                  k = c.labels[target] ?? 0;
                return { label: c.name, rate: m ? k / m : 0, ci: wilson(k, m), n: m, colour: colourOf(i), href: samplesHref(r.id, { condition: c.name }) };
              }),
              { title: 'live rates' },
            ),
            `${r.status === 'running' ? 'Refreshed while the run goes on' : 'The run stopped before its summary'}; 95% Wilson intervals over the answers judged so far.`,
          )
        : ''
    }
    ${section(
      'Progress per condition',
      html`${legend(all.map((l) => ({ label: l, colour: colour(l) })))}${stacked(
        r.live.map((c) => ({
          label: c.name,
          n: Math.max(n, c.sampled),
          parts: Object.entries(c.labels).map(([label, k]) => ({ label, count: k })),
          note: `${count(c.sampled)} of ${count(n)} sampled`,
        })),
        colour,
        { title: 'progress' },
      )}`,
    )}`;
}

function specSection(r: RunDetail): Html {
  return html`<details class="card spec"><summary>Spec</summary><pre>${JSON.stringify(r.spec, null, 2)}</pre></details>`;
}

export function renderRun(r: RunDetail, note: string | null): Html {
  const s = r.summary;
  const view = s ? viewOf(s.kind) : undefined;
  const extraConditions = s
    ? extraSection(
        mainOf(s).conditions.map((c) => ({ name: c.name, value: c as unknown as Record<string, unknown> })),
        new Set([...KNOWN_CONDITION, ...view!.conditionFields]),
      )
    : html``;
  const extraResult = s
    ? extraSection([{ name: s.name, value: s as unknown as Record<string, unknown> }], new Set([...KNOWN_RESULT, ...view!.resultFields]))
    : html``;
  const own = s && view!.sections ? view!.sections({ run: r, summary: s, samplesHref: (p = {}) => samplesHref(r.id, p), section }) : html``;
  return html`${header(r)}
    ${note ? html`<p class="banner">${note}</p>` : ''}
    ${
      s
        ? html`
      ${conditionsSection(r, s)}${effectsSection(s)}${questionsSection(r, s)}${curveSection(mainOf(s))}${own}${labelsSection(r, s)}
      ${extraConditions.s ? section('Other figures', extraConditions, 'Fields of the conditions this viewer does not chart by name.', 'extra') : ''}
      ${extraResult.s ? section(`More of this ${s.kind} run`, extraResult, 'What the result carries beyond the rates, as stored.', 'extra-run') : ''}`
        : liveSection(r)
    }
    ${specSection(r)}`;
}

export const runView: View = (root, source, route) => {
  const id = route.path[1];
  let timer: ReturnType<typeof setTimeout> | undefined,
    stopped = false;
  root.innerHTML = '<p class="muted">loading…</p>';
  const load = async () => {
    try {
      const r = await source.run(id);
      if (stopped) return;
      const open = root.querySelector<HTMLDetailsElement>('details.spec')?.open;
      document.title = `${r.name} · ${r.kind} · dramatis`;
      root.innerHTML = renderRun(r, source.note(id)).s;
      addTableExports(root, r.name);
      if (open) root.querySelector<HTMLDetailsElement>('details.spec')!.open = true;
      if (r.status === 'running' && source.pollMs > 0) timer = setTimeout(load, source.pollMs);
    } catch (e) {
      if (!stopped) showError(root, e);
    }
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};
