/** The viewer's infer: the posterior over the library per condition, and each text's posterior in the samples. */
import { html, count, interval, pct, type Html } from '../../../view/client/html.ts';
import { colourOf, rateBars } from '../../../view/client/charts.ts';
import '../../../view/client/charts-more.ts';
import { defaultView, type KindView, type KindViewContext } from '../../../view/client/kind-view.ts';
import type { RunDetail } from '../../../view/types.ts';
import type { InferCondition } from './index.ts';

/**
 * True author (rows) × top guess (columns): over every text, from the summary's counts; a summary
 * written before it kept them has only its first few examples, and the note says so.
 */
function confusion(inf: InferCondition['infer'] & object): Html {
  let counts = inf.confusion,
    over = 'every text with a known author';
  if (!counts) {
    counts = {};
    for (const e of inf.examples) if (e.truth !== undefined) (counts[e.truth] ??= {})[e.top] = (counts[e.truth][e.top] ?? 0) + 1;
    over = 'the texts this older summary keeps (its first few)';
  }
  const rows = Object.keys(counts).sort();
  if (!rows.length) return html``;
  const cols = [...new Set([...rows, ...rows.flatMap((t) => Object.keys(counts[t]))])].sort();
  const n = (t: string, g: string) => counts[t][g] ?? 0;
  const total = rows.reduce((a, t) => a + cols.reduce((b, g) => b + n(t, g), 0), 0);
  const max = Math.max(1, ...rows.flatMap((t) => cols.map((g) => n(t, g))));
  return html`<p class="note">Confusion over ${over} (${count(total)}): true author (rows) × top guess (columns).</p>
    <table class="data heat confusion"><thead><tr><th>true \\ guessed</th>${cols.map((g) => html`<th class="num">${g}</th>`)}</tr></thead><tbody>
    ${rows.map(
      (t) =>
        html`<tr><th>${t}</th>${cols.map((g) => {
          const k = n(t, g);
          return html`<td class="num cell" data-count="${String(k)}" style="background:${t === g ? 'rgba(84,162,75,' : 'rgba(228,87,86,'}${(k ? 0.15 + (0.7 * k) / max : 0).toFixed(2)})">${k || ''}</td>`;
        })}</tr>`,
    )}</tbody></table>`;
}

function inferSection({ summary: s, section }: KindViewContext): Html {
  const withInfer = (s.conditions as InferCondition[]).filter((c) => c.infer);
  if (!withInfer.length) return html``;
  const blocks = withInfer.map((c, k) => {
    const inf = c.infer!;
    const priorOf = (name: string) => inf.prior[inf.library.indexOf(name)];
    const bars = rateBars(
      inf.meanPosterior
        .slice(0, 12)
        .map((p, i) => ({ label: p.name, rate: p.p, colour: colourOf(i === 0 ? 0 : 8), note: `prior ${pct(priorOf(p.name) ?? 0)}` })),
      { title: `posterior ${c.name}` },
    );
    return html`<div class="infer-c"><h3>${c.name} <small class="muted">top-1 ${pct(c.rate)} ${interval(c.ci)} over ${count(c.n)} texts${inf.meanTrueP === null ? '' : html` · mean P(true author) ${inf.meanTrueP.toFixed(3)}`} · chance ${pct(1 / Math.max(1, inf.library.length))}</small></h3>
      <p class="note">Mean posterior over the ${inf.library.length} personas (most probable 12)</p>${bars}
      <label class="small">show <select data-filter-for="${`infer-texts-${k}`}"><option value="all">all</option><option value="right">right</option><option value="wrong">wrong</option></select></label>
      <table class="data infer-texts" id="${`infer-texts-${k}`}"><thead><tr><th>text</th><th>true author</th><th>top guess</th><th class="num">p</th><th></th></tr></thead><tbody>
      ${inf.examples.map((e) => {
        const v = e.truth === undefined ? 'unknown' : e.truth === e.top ? 'right' : 'wrong';
        return html`<tr data-filter="${v}" class="${v === 'right' ? 'ok' : v === 'wrong' ? 'bad' : ''}"><td class="text">${e.text}</td><td>${e.truth ?? '—'}</td><td>${e.top}</td><td class="num">${e.p.toFixed(2)}</td><td>${v === 'unknown' ? '' : v}</td></tr>`;
      })}</tbody></table>
      ${confusion(inf)}
      ${inf.descriptions ? html`<h4>The model's own descriptions of the authors</h4><ol>${inf.descriptions.overall.map((d) => html`<li>${d.answer} <small>×${d.count}</small></li>`)}</ol>` : ''}
    </div>`;
  });
  return section('Who wrote it: posteriors', html`${blocks}`, undefined, 'infer');
}

/** infer samples store one log-likelihood per persona: show the posterior they give under the run's prior. */
function inferDetail(s: { finishReason: string; paraphrase: string; answer: string; prompt: unknown; condition: string }, run: RunDetail): Html | undefined {
  if (s.finishReason !== 'score') return undefined;
  return html`<h4>Text</h4><div class="answer">${s.paraphrase}</div>${posteriorOf(s, run)}`;
}

function posteriorOf(s: { answer: string; prompt: unknown; condition: string }, run: RunDetail): Html {
  const cond = (run.summary?.conditions as InferCondition[] | undefined)?.find((c) => c.name === s.condition)?.infer;
  let lls: unknown;
  try {
    lls = JSON.parse(s.answer);
  } catch {
    return html``;
  }
  if (!cond || !Array.isArray(lls) || lls.length !== cond.library.length) return html``;
  const logits = (lls as number[]).map((l, k) => l + Math.log(cond.prior[k] || 1e-300));
  const m = Math.max(...logits);
  const z = logits.reduce((a, x) => a + Math.exp(x - m), 0);
  const post = logits.map((x, k) => ({ name: cond.library[k], p: Math.exp(x - m) / z, ll: (lls as number[])[k] })).sort((a, b) => b.p - a.p);
  const author = (s.prompt as { author?: string | null })?.author;
  return html`<h4>Posterior over the library${author ? html` (true author: <b>${author}</b>)` : ''}</h4>
    <table class="data"><thead><tr><th>persona</th><th class="num">posterior</th><th class="num">log-likelihood</th></tr></thead><tbody>
    ${post.slice(0, 8).map((x) => html`<tr class="${x.name === author ? 'ok' : ''}"><td>${x.name}</td><td class="num">${pct(x.p)}</td><td class="num">${x.ll.toFixed(2)}</td></tr>`)}</tbody></table>`;
}

export const inferView: KindView = {
  ...defaultView,
  measure: () => 'true author ranked first',
  linksToSamples: false,
  perQuestion: 'Per true author: top-1',
  labels: false,
  questionsNoun: 'texts',
  conditionFields: ['infer'],
  sections: inferSection,
  sampleDetail: inferDetail,
};
