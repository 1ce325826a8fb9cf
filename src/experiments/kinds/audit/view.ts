/** The viewer's audit: each dataset as a condition; per dataset its predicted direction, its pulls per trait around 0, and the flagged examples. */
import { html, count, type Html } from '../../../view/client/html.ts';
import { forest } from '../../../view/client/charts.ts';
import { defaultView, type KindView, type KindViewContext } from '../../../view/client/kind-view.ts';
import type { AuditDataset, AuditSummary } from './index.ts';

const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '—' : x.toFixed(d));

function datasetBlock(d: AuditDataset): Html {
  const pulls = (d.projections ?? []).map((p) => ({ label: `${p.trait}: ${p.positive} − ${p.negative} (layer ${p.layer})`, d: p.difference, ci: p.ci }));
  const flagged = d.flagged ?? [];
  return html`<div class="audit-d"><h3>${d.name} <small class="muted">${count(d.n)} examples</small></h3>
    ${d.predicted ? html`<p class="headline">Training on it should move the model ${d.predicted}.</p>` : ''}
    ${pulls.length ? html`<p class="note">Projection of the data’s answers minus the model’s own, per trait, with its 95% interval.</p>${forest(pulls, { title: `pulls ${d.name}`, pct: false })}` : ''}
    ${(d.traits ?? []).length ? html`<table class="data"><thead><tr><th>trait value</th><th class="num">P own</th><th class="num">P data</th><th class="num">shift</th></tr></thead><tbody>${d.traits!.map((t) => html`<tr><th>${t.trait}: ${t.value}</th><td class="num">${f(t.own, 2)}</td><td class="num">${f(t.data, 2)}</td><td class="num">${f(t.shift, 2)}</td></tr>`)}</tbody></table>` : ''}
    ${flagged.length ? html`<h4>Examples that pull hardest</h4><table class="data audit-flagged"><thead><tr><th class="num">#</th><th>prompt</th><th>answer</th><th class="num">pull</th><th>top persona</th></tr></thead><tbody>${flagged.map((e) => html`<tr><td class="num">${e.index}</td><td class="text" style="white-space:pre-wrap">${e.prompt ?? ''}</td><td class="text" style="white-space:pre-wrap">${e.answer}</td><td class="num">${f(e.pull)}</td><td>${e.top ?? '—'}${e.p === null || e.p === undefined ? '' : ` (${f(e.p, 2)})`}</td></tr>`)}</tbody></table>` : ''}
  </div>`;
}

function auditSections({ summary: s, section }: KindViewContext): Html {
  const a = (s as typeof s & { audit?: AuditSummary }).audit;
  if (!a?.datasets?.length) return html``;
  return section('What each dataset would teach', html`${a.datasets.map(datasetBlock)}`, undefined, 'audit');
}

export const auditView: KindView = { ...defaultView, questionsNoun: 'examples', resultFields: ['audit'], sections: auditSections };
