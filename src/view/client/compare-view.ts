/**
 * Two runs, or two conditions (of one run or two), side by side: each side's rate with its Wilson
 * interval and the difference A − B with its Newcombe interval, per condition and per question, and
 * the label mix (or profile) of each. Whole runs are paired by condition name; a single condition is
 * paired with each condition of the other side.
 */
import { html, pct, interval, count, type Html } from './html.ts';
import { forest, groupedBars, stacked, labelColours, legend, colourOf } from './charts.ts';
import { routeHref, showError, type View } from './route.ts';
import { addTableExports } from './table-export.ts';
import { differenceInterval } from '../../shared/stats.ts';
import type { RunDetail, RunRow } from '../types.ts';
import type { ConditionResult } from '../../experiments/result.ts';
import { viewOf } from '../../experiments/kinds/views.ts';

interface Side {
  ref: string;
  runId: string;
  condition?: string;
  run?: RunDetail;
}
interface Pair {
  a: ConditionResult;
  b: ConditionResult;
  label: string;
}

const parseSide = (ref: string | null): Side | undefined => {
  if (!ref) return undefined;
  const i = ref.indexOf('~');
  return i < 0 ? { ref, runId: ref } : { ref, runId: ref.slice(0, i), condition: ref.slice(i + 1) };
};

const diff = (a: { hits: number; n: number; rate: number }, b: { hits: number; n: number; rate: number }) => ({
  d: a.rate - b.rate,
  ci: differenceInterval(a.hits, a.n, b.hits, b.n),
});

function pairsOf(a: Side, b: Side): { pairs: Pair[]; unmatched: string[] } {
  const ca = a.run!.summary!.conditions.filter((c) => !a.condition || c.name === a.condition);
  const cb = b.run!.summary!.conditions.filter((c) => !b.condition || c.name === b.condition);
  if (a.condition || b.condition || ca.length === 1 || cb.length === 1) {
    return { pairs: ca.flatMap((x) => cb.map((y) => ({ a: x, b: y, label: x.name === y.name ? x.name : `${x.name} vs ${y.name}` }))), unmatched: [] };
  }
  const pairs = ca.filter((x) => cb.some((y) => y.name === x.name)).map((x) => ({ a: x, b: cb.find((y) => y.name === x.name)!, label: x.name }));
  const unmatched = [
    ...ca.filter((x) => !cb.some((y) => y.name === x.name)).map((x) => `A: ${x.name}`),
    ...cb.filter((y) => !ca.some((x) => x.name === y.name)).map((y) => `B: ${y.name}`),
  ];
  return { pairs, unmatched };
}

const sideName = (s: Side) => `${s.run!.name}${s.condition ? ` · ${s.condition}` : ''}`;

function comparison(a: Side, b: Side): Html {
  const [ra, rb] = [a.run!, b.run!];
  if (!ra.summary || !rb.summary)
    return html`<p class="banner">${!ra.summary ? ra.name : rb.name} has no summary yet (${!ra.summary ? ra.status : rb.status}); compare it when it is done.</p>`;
  for (const s of [a, b])
    if (s.condition && !s.run!.summary!.conditions.some((c) => c.name === s.condition))
      return html`<p class="error">${s.run!.name} has no condition “${s.condition}”.</p>`;
  const { pairs, unmatched } = pairsOf(a, b);
  const warn =
    ra.summary.target !== rb.summary.target
      ? html`<p class="banner">The two sides count different things: A “${ra.summary.target}”, B “${rb.summary.target}”; their rates are shown, no difference between them.</p>`
      : '';
  if (!pairs.length) return html`${warn}<p class="banner">No condition names in common; pick a condition on each side.</p>`;
  // A difference of rates of different targets means nothing: the rates are shown, no difference is drawn.
  const same = ra.summary.target === rb.summary.target;
  const sbs = (p: Pair) => routeHref(['compare', 'samples'], { a: `${a.runId}~${p.a.name}`, b: `${b.runId}~${p.b.name}` });
  const table = html`<table class="data compare"><thead><tr><th>condition</th><th class="num">A rate</th><th>95% CI</th><th class="num">n</th><th class="num">B rate</th><th>95% CI</th><th class="num">n</th>${same ? html`<th class="num">A − B</th><th>95% Newcombe</th>` : ''}<th>answers</th></tr></thead><tbody>
    ${pairs.map((p) => {
      const d = diff(p.a, p.b);
      return html`<tr><th>${p.label}</th><td class="num strong">${pct(p.a.rate)}</td><td>${interval(p.a.ci)}</td><td class="num">${count(p.a.n)}</td>
      <td class="num strong">${pct(p.b.rate)}</td><td>${interval(p.b.ci)}</td><td class="num">${count(p.b.n)}</td>
      ${same ? html`<td class="num strong diff">${d.d >= 0 ? '+' : '−'}${pct(Math.abs(d.d))}</td><td class="nowrap">${interval(d.ci)}</td>` : ''}<td><a class="side-by-side" href="${sbs(p)}">side by side</a></td></tr>`;
    })}</tbody></table>`;
  const bars = groupedBars(
    pairs.map((p) => ({
      label: p.label,
      bars: [
        { label: `A ${p.a.name}`, rate: p.a.rate, ci: p.a.ci, n: p.a.n, colour: colourOf(0) },
        { label: `B ${p.b.name}`, rate: p.b.rate, ci: p.b.ci, n: p.b.n, colour: colourOf(3) },
      ],
    })),
    { title: 'rates side by side' },
  );
  const rateDiffs = !same
    ? html`<p class="note refuse">No difference is drawn: A counts “${ra.summary.target}” and B “${rb.summary.target}”.</p>`
    : forest(
        pairs.map((p) => ({ label: p.label, ...diff(p.a, p.b) })),
        { title: 'differences' },
      );
  const perQuestion = !same
    ? []
    : pairs.flatMap((p) =>
        p.a.questions
          .filter((q) => p.b.questions.some((x) => x.id === q.id))
          .map((q) => {
            const qb = p.b.questions.find((x) => x.id === q.id)!;
            return { label: pairs.length > 1 ? `${p.label} · ${q.id}` : q.id, ...diff(q, qb) };
          }),
      );
  const labels = [...new Set(pairs.flatMap((p) => [...Object.keys(p.a.labels), ...Object.keys(p.b.labels)]))];
  const view = viewOf(ra.summary.kind);
  const colour = labelColours(labels, view.target(ra.summary));
  const mix = stacked(
    pairs.flatMap((p) => [
      {
        label: `A ${p.a.name}`,
        n: p.a.n,
        parts: Object.entries(p.a.labels)
          .map(([label, n]) => ({ label, count: n }))
          .sort((x, y) => y.count - x.count),
      },
      {
        label: `B ${p.b.name}`,
        n: p.b.n,
        parts: Object.entries(p.b.labels)
          .map(([label, n]) => ({ label, count: n }))
          .sort((x, y) => y.count - x.count),
      },
    ]),
    colour,
    { title: 'labels' },
  );
  const own = view.compare?.(pairs) ?? html``;
  return html`${warn}
    <section class="card"><h2>${same ? 'Rates and the difference A − B' : 'Rates (different targets: no difference)'}</h2><p class="note">A: ${sideName(a)} (${ra.summary.target}) · B: ${sideName(b)} (${rb.summary.target}). 95% Wilson intervals per side, Newcombe's interval for the difference.</p>
      ${legend([
        { label: `A ${sideName(a)}`, colour: colourOf(0) },
        { label: `B ${sideName(b)}`, colour: colourOf(3) },
      ])}${bars}${rateDiffs}${table}
      ${unmatched.length ? html`<p class="note">Only on one side: ${unmatched.join(', ')}</p>` : ''}</section>
    ${perQuestion.length > 1 ? html`<section class="card"><h2>Per question: A − B</h2>${forest(perQuestion, { title: 'per question differences' })}</section>` : ''}
    <section class="card"><h2>Labels</h2>${legend(labels.map((l) => ({ label: l, colour: colour(l) })))}${mix}</section>
    ${own}`;
}

export const compareView: View = (root, source, route) => {
  const a = parseSide(route.params.get('a')),
    b = parseSide(route.params.get('b'));
  let stopped = false;
  root.innerHTML = '<p class="muted">loading…</p>';
  (async () => {
    try {
      const list = await source.runs({});
      const [ra, rb] = await Promise.all([a ? source.run(a.runId) : undefined, b ? source.run(b.runId) : undefined]);
      if (stopped) return;
      if (a) a.run = ra;
      if (b) b.run = rb;
      const picker = (key: 'a' | 'b', s: Side | undefined) => html`<div class="side"><b>${key.toUpperCase()}</b>
        <select data-side="${key}" class="pick-run" aria-label="run ${key.toUpperCase()}"><option value="">choose a run</option>${list.runs.map((r: RunRow) => html`<option value="${r.id}" ${r.id === s?.runId ? 'selected' : ''}>${r.name} · ${r.kind} · ${r.id.slice(0, 8)}</option>`)}</select>
        <select data-side="${key}" class="pick-cond" aria-label="condition ${key.toUpperCase()}" ${s?.run ? '' : 'disabled'}><option value="">all conditions</option>${(s?.run?.conditionList ?? []).map((c) => html`<option ${c.name === s?.condition ? 'selected' : ''}>${c.name}</option>`)}</select></div>`;
      const swap = a || b ? routeHref(['compare'], { a: b?.ref, b: a?.ref }) : undefined;
      root.innerHTML =
        html`<div class="page-head"><h1>Compare</h1>${swap ? html`<a class="button" id="swap" href="${swap}" title="exchange A and B (differences change sign)">Swap A ⇄ B</a>` : ''}</div>
        <div class="filters pickers">${picker('a', a)}${picker('b', b)}</div>
        ${a?.run && b?.run ? comparison(a, b) : html`<p class="note">Pick two runs (their conditions are paired by name), or a condition on each side: two models of one run, or one condition across runs.</p>`}`.s;
      const go = () => {
        const v = (side: string, cls: string) => root.querySelector<HTMLSelectElement>(`select.${cls}[data-side="${side}"]`)!.value;
        const ref = (side: string, prev?: Side) => {
          const r = v(side, 'pick-run');
          const c = r === prev?.runId ? v(side, 'pick-cond') : '';
          return r ? (c ? `${r}~${c}` : r) : undefined;
        };
        location.hash = routeHref(['compare'], { a: ref('a', a), b: ref('b', b) });
      };
      addTableExports(root, `compare-${a?.run?.name ?? 'A'}-${b?.run?.name ?? 'B'}`);
      root.querySelectorAll('select').forEach((s) => s.addEventListener('change', go));
    } catch (e) {
      if (!stopped) showError(root, e);
    }
  })();
  return () => {
    stopped = true;
  };
};
