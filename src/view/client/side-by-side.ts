/**
 * Answers side by side (#/compare/samples?a=RUN~COND&b=RUN~COND&question=&differ=1): two conditions, of
 * one run or two, paired by question and sample index, each answer with its label, and promptfoo's
 * "Different" mode: only the pairs whose labels differ. A is on the left and B on the right, as the
 * compare page names them; Swap exchanges them.
 */
import { html, count, type Html } from './html.ts';
import { replaceRoute, routeHref, showError, type View } from './route.ts';
import { labelColours } from './charts.ts';
import type { Source } from './source.ts';
import type { RunDetail, SampleRow } from '../types.ts';
import { viewOf } from '../../experiments/kinds/views.ts';

/** Samples read per side: pairing needs both sides in memory, so a page of pairs is bounded. */
const MAX_PER_SIDE = 2000;
const PAGE = 500;

interface Side {
  ref: string;
  runId: string;
  condition: string;
  run: RunDetail;
}

function parse(ref: string | null): { ref: string; runId: string; condition?: string } | undefined {
  if (!ref) return undefined;
  const i = ref.indexOf('~');
  return i < 0 ? { ref, runId: ref } : { ref, runId: ref.slice(0, i), condition: ref.slice(i + 1) };
}

async function rowsOf(source: Source, s: Side, question: string | undefined): Promise<{ rows: SampleRow[]; total: number }> {
  const rows: SampleRow[] = [];
  let total = 0;
  for (let offset = 0; offset < MAX_PER_SIDE; offset += PAGE) {
    const p = await source.samples(s.runId, { condition: s.condition, question }, offset, PAGE);
    total = p.total;
    rows.push(...p.rows);
    if (p.rows.length < PAGE || rows.length >= total) break;
  }
  return { rows, total };
}

export interface SamplePair {
  key: string;
  questionId: string;
  idx: number;
  a?: SampleRow;
  b?: SampleRow;
}

/** Pairs by (question, sample index), in A's order, then B's samples that A lacks. */
export function pairSamples(a: SampleRow[], b: SampleRow[]): SamplePair[] {
  const key = (r: SampleRow) => `${r.questionId}#${r.idx}`;
  const byB = new Map(b.map((r) => [key(r), r]));
  const out: SamplePair[] = a.map((r) => ({ key: key(r), questionId: r.questionId, idx: r.idx, a: r, b: byB.get(key(r)) }));
  const seen = new Set(a.map(key));
  for (const r of b) if (!seen.has(key(r))) out.push({ key: key(r), questionId: r.questionId, idx: r.idx, b: r });
  return out;
}

const differs = (p: SamplePair) => !!p.a && !!p.b && p.a.label !== p.b.label;

function cell(r: SampleRow | undefined, side: Side, colour: (l: string) => string): Html {
  if (!r) return html`<td class="sbs-answer missing"><i class="muted">no sample ${''}at this index</i></td>`;
  const href = routeHref(['run', side.runId, 'samples'], { condition: side.condition, sample: String(r.id) });
  return html`<td class="sbs-answer">${r.label ? html`<span class="tag label" style="border-left:4px solid ${colour(r.label)}">${r.label}</span> ` : ''}<a class="small" href="${href}">open</a><div class="answer-text">${r.answer}${r.answer.length >= 400 ? '…' : ''}</div></td>`;
}

export const sideBySideView: View = (root, source, route) => {
  const pa = parse(route.params.get('a')),
    pb = parse(route.params.get('b'));
  const question = route.params.get('question') || undefined;
  let differOnly = route.params.get('differ') === '1';
  let stopped = false;
  root.innerHTML = '<p class="muted">loading…</p>';
  if (!pa?.condition || !pb?.condition) {
    root.innerHTML =
      html`<p class="error">Side by side compares two conditions: #/compare/samples?a=RUN~CONDITION&amp;b=RUN~CONDITION. <a href="#/compare">Compare</a></p>`.s;
    return;
  }
  (async () => {
    try {
      const [ra, rb] = await Promise.all([source.run(pa.runId), source.run(pb.runId)]);
      const a: Side = { ...pa, condition: pa.condition!, run: ra },
        b: Side = { ...pb, condition: pb.condition!, run: rb };
      for (const s of [a, b]) if (!s.run.conditionList.some((c) => c.name === s.condition)) throw new Error(`${s.run.name} has no condition “${s.condition}”`);
      const [sa, sb] = await Promise.all([rowsOf(source, a, question), rowsOf(source, b, question)]);
      if (stopped) return;
      const pairs = pairSamples(sa.rows, sb.rows);
      const both = pairs.filter((p) => p.a && p.b);
      const nDiffer = both.filter(differs).length;
      const labels = [...new Set(pairs.flatMap((p) => [p.a?.label, p.b?.label]).filter((l): l is string => !!l))];
      const target = ra.summary ? viewOf(ra.kind).target(ra.summary) : undefined;
      const colour = labelColours(labels, target);
      const questions = [...new Set([...sa.rows, ...sb.rows].map((r) => r.questionId))].sort();
      const name = (s: Side) => `${s.run.name} · ${s.condition}`;
      const params = { a: a.ref, b: b.ref, question, differ: differOnly ? '1' : undefined };
      const truncated = sa.total > sa.rows.length || sb.total > sb.rows.length;
      const render = () => {
        const shown = pairs.filter((p) => !differOnly || differs(p));
        root.innerHTML = html`<div class="page-head"><h1>Side by side</h1>
          <a class="button" id="swap" href="${routeHref(['compare', 'samples'], { ...params, a: b.ref, b: a.ref })}">Swap A ⇄ B</a>
          <a class="button" href="${routeHref(['compare'], { a: a.ref, b: b.ref })}">Rates</a></div>
          <p class="note">A: <b>${name(a)}</b> · B: <b>${name(b)}</b>. Paired by question and sample index: ${count(both.length)} pairs, labels differ in
            <b id="n-differ">${count(nDiffer)}</b>${pairs.length > both.length ? html`; ${count(pairs.length - both.length)} samples on one side only` : ''}.
            ${truncated ? html`Read: the first ${count(sa.rows.length)} of A's ${count(sa.total)} and ${count(sb.rows.length)} of B's ${count(sb.total)} samples; pick a question for the rest.` : ''}</p>
          <div class="filters">
            <label>question <select id="sbs-question"><option value="">all questions</option>${questions.map((q) => html`<option ${q === question ? 'selected' : ''}>${q}</option>`)}</select></label>
            <label><input type="checkbox" id="sbs-differ" ${differOnly ? 'checked' : ''}/> labels differ only</label>
          </div>
          <table class="data sbs" data-shown="${shown.length}"><thead><tr><th>question · #</th><th>A ${name(a)}</th><th>B ${name(b)}</th></tr></thead><tbody>
          ${shown.map(
            (p) =>
              html`<tr class="${differs(p) ? 'differ' : ''}" data-key="${p.key}"><th class="small">${p.questionId}<br />#${p.idx}</th>${cell(p.a, a, colour)}${cell(p.b, b, colour)}</tr>`,
          )}</tbody></table>`.s;
        root.querySelector<HTMLInputElement>('#sbs-differ')!.addEventListener('change', (e) => {
          differOnly = (e.target as HTMLInputElement).checked;
          params.differ = differOnly ? '1' : undefined;
          replaceRoute(['compare', 'samples'], params);
          render();
        });
        root.querySelector<HTMLSelectElement>('#sbs-question')!.addEventListener('change', (e) => {
          location.hash = routeHref(['compare', 'samples'], { ...params, question: (e.target as HTMLSelectElement).value || undefined });
        });
      };
      document.title = `${a.run.name} vs ${b.run.name} · side by side · dramatis`;
      render();
    } catch (e) {
      if (!stopped) showError(root, e);
    }
  })();
  return () => {
    stopped = true;
  };
};
