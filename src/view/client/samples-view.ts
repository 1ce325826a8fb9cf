/**
 * Every sample of a run, filterable by condition, question, label, score range and text (the server
 * filters in SQL). The list is virtual: only the rows in view exist in the page, fetched a page of 100
 * at a time and forgotten when far away, so a 100,000-sample run costs the browser what 100 rows do.
 * j/k (or ↓/↑) move through the samples, / focuses the search, Esc clears the selection; the URL names
 * the filter and the selected sample. (infer runs store log-likelihoods as the answer: the list shows
 * their text, the detail the posterior.)
 */
import { html, count, num, type Html } from './html.ts';
import { replaceRoute, routeHref, showError, type View } from './route.ts';
import { filterParams } from './source.ts';
import { settings } from './settings.ts';
import type { Facets, RunDetail, SampleDetail, SampleFilter, SampleRow } from '../types.ts';
import { viewOf } from '../../experiments/kinds/views.ts';
import { detailHtml } from './sample-detail.ts';

const ROW_H = 30,
  PAGE = 100,
  KEEP_PAGES = 24;

function filterFrom(p: URLSearchParams): SampleFilter {
  const n = (k: string) => {
    const v = p.get(k);
    return v === null || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v);
  };
  return {
    condition: p.get('condition') || undefined,
    question: p.get('question') || undefined,
    label: p.get('label') || undefined,
    scoreMin: n('min'),
    scoreMax: n('max'),
    text: p.get('text') || undefined,
    sort: p.get('sort') || undefined,
    order: p.get('order') === 'asc' ? 'asc' : undefined,
  };
}

/** A judge's name as the sort menu shows it: `monitor:HASH:prompt` is a vector projection. */
const judgeTitle = (j: string, runJudge: string | null) =>
  j === runJudge ? `score (${j})` : /^monitor:[0-9a-f]+:(prompt|reply)$/.test(j) ? `vector projection (${j.split(':')[2]})` : j;

export const samplesView: View = (root, source, route) => {
  const runId = route.path[1];
  const filter = filterFrom(route.params);
  let selectedId = Number(route.params.get('sample')) || undefined;
  let selected = -1,
    total = 0,
    gen = 0,
    stopped = false;
  let run: RunDetail | undefined, facets: Facets | undefined;
  const pages = new Map<number, SampleRow[]>(),
    inflight = new Set<number>();
  root.className = 'samples-page';
  root.innerHTML = '<p class="muted">loading…</p>';

  // The export links follow the filter (and the sort): the download is the list as it is shown.
  const exportHref = (format: string) => `/api/runs/${encodeURIComponent(runId)}/export?${new URLSearchParams({ ...filterParams(filter), format })}`;
  const syncExports = () => {
    for (const f of ['csv', 'jsonl']) root.querySelector<HTMLAnchorElement>(`#x-${f}`)?.setAttribute('href', exportHref(f));
  };
  const syncUrl = () => {
    syncExports();
    replaceRoute(['run', runId, 'samples'], { ...filterParams(filter), sample: selectedId ? String(selectedId) : undefined });
  };

  const shell = () => {
    const f = facets!,
      r = run!;
    const sel = (id: string, all: string, opts: { id: string; n?: number }[], cur?: string) =>
      html`<select id="${id}" aria-label="${all.replace(/^(all|any) /, '')}"><option value="">${all}</option>${opts.map((o) => html`<option value="${o.id}" ${o.id === cur ? 'selected' : ''}>${o.id}${o.n !== undefined ? ` (${count(o.n)})` : ''}</option>`)}</select>`;
    document.title = `${r.name} · samples · dramatis`;
    root.innerHTML = html`
      <div class="page-head"><h1><a href="${routeHref(['run', r.id])}">${r.name}</a> <span class="muted">samples</span></h1><span class="muted" id="s-count"></span><span class="spacer"></span><span class="keys muted small">j/k next/previous · / search · Esc clear</span></div>
      ${source.note(r.id) ? html`<p class="banner">${source.note(r.id)}</p>` : ''}
      <div class="filters">
        ${sel(
          'f-condition',
          'all conditions',
          r.conditionList.map((c) => ({ id: c.name })),
          filter.condition,
        )}
        ${sel('f-question', `all ${viewOf(r.kind).questionsNoun}`, f.questions, filter.question)}
        ${f.labels.length ? sel('f-label', 'any label', f.labels, filter.label) : ''}
        ${f.hasScores ? html`<label class="range">score <input id="f-min" aria-label="score at least" type="number" step="any" placeholder="min" value="${filter.scoreMin ?? ''}"> – <input id="f-max" aria-label="score at most" type="number" step="any" placeholder="max" value="${filter.scoreMax ?? ''}"></label>` : ''}
        ${
          f.scoreJudges?.length
            ? html`<select id="f-sort" aria-label="sort by"><option value="">condition and index order</option>${f.scoreJudges.flatMap((j) =>
                (['desc', 'asc'] as const).map(
                  (o) =>
                    html`<option value="${`${o}:${j}`}" ${filter.sort === j && (filter.order ?? 'desc') === o ? 'selected' : ''}>${judgeTitle(j, r.judge)} ${o === 'desc' ? 'high → low' : 'low → high'}</option>`,
                ),
              )}</select>`
            : ''
        }
        <input type="search" id="f-text" aria-label="search answers and questions" placeholder="search answers and questions" value="${filter.text ?? ''}">
        <button id="f-clear">Clear</button>
        ${
          source.mode === 'server'
            ? html`<span class="exports"><a class="button" id="x-csv" download href="${exportHref('csv')}">Export CSV</a><a class="button" id="x-jsonl" download href="${exportHref('jsonl')}">Export JSONL</a></span>`
            : ''
        }
      </div>
      <div class="split">
        <div class="vlist" id="vlist" tabindex="0" data-state="loading"><div class="vspacer" id="vspacer"><div class="vrows" id="vrows"></div></div></div>
        <aside class="detail" id="detail"><p class="muted">Select a sample (click, or j/k) to read its full prompt, answer and judgments.</p></aside>
      </div>`.s;
    const $ = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`);
    const onChange = (id: string, f: (v: string) => void, ev = 'change') =>
      $(id)?.addEventListener(ev, (e) => {
        f((e.target as HTMLInputElement).value);
        refilter();
      });
    onChange('f-condition', (v) => {
      filter.condition = v || undefined;
    });
    onChange('f-question', (v) => {
      filter.question = v || undefined;
    });
    onChange('f-label', (v) => {
      filter.label = v || undefined;
    });
    onChange('f-sort', (v) => {
      const i = v.indexOf(':');
      filter.sort = i < 0 ? undefined : v.slice(i + 1);
      filter.order = i < 0 || v.slice(0, i) === 'desc' ? undefined : 'asc';
    });
    onChange('f-min', (v) => {
      filter.scoreMin = v === '' ? undefined : Number(v);
    });
    onChange('f-max', (v) => {
      filter.scoreMax = v === '' ? undefined : Number(v);
    });
    let debounce: ReturnType<typeof setTimeout> | undefined;
    $('f-text')!.addEventListener('input', (e) => {
      clearTimeout(debounce);
      const v = (e.target as HTMLInputElement).value;
      debounce = setTimeout(() => {
        filter.text = v || undefined;
        refilter();
      }, 60);
    });
    $('f-clear')!.addEventListener('click', () => {
      location.hash = routeHref(['run', runId, 'samples']);
    });
    const list = $('vlist')!;
    let frame = 0;
    list.addEventListener('scroll', () => {
      if (!frame)
        frame = requestAnimationFrame(() => {
          frame = 0;
          draw();
        });
    });
    $('vrows')!.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>('.srow');
      if (row) select(Number(row.dataset.i), false);
    });
  };

  const list = () => root.querySelector<HTMLElement>('#vlist');

  const fetchPage = async (p: number, g: number) => {
    if (inflight.has(p) || pages.has(p)) return;
    inflight.add(p);
    try {
      const page = await source.samples(runId, filter, p * PAGE, PAGE);
      if (g !== gen || stopped) return;
      pages.set(p, page.rows);
      total = page.total;
      // Forget pages far from the view so memory stays bounded however far one scrolls.
      if (pages.size > KEEP_PAGES) {
        const el = list();
        const centre = el ? Math.floor(geometry(el).top / ROW_H / PAGE) : 0;
        const far = [...pages.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
        for (const k of far.slice(0, pages.size - KEEP_PAGES)) pages.delete(k);
      }
      draw();
    } catch (e) {
      if (g === gen && !stopped) showError(root, e);
    } finally {
      if (g === gen) inflight.delete(p);
    }
  };

  const rowAt = (i: number) => pages.get(Math.floor(i / PAGE))?.[i % PAGE];

  /**
   * Where the list is, in rows' own pixels. Up to settings.listMaxPx the scroll area is as tall as the
   * rows; past it, it keeps that height and scrollTop maps onto the rows in proportion.
   */
  const geometry = (el: HTMLElement) => {
    const full = total * ROW_H,
      height = Math.min(full, settings.listMaxPx);
    const scale = height < full ? (full - el.clientHeight) / Math.max(1, height - el.clientHeight) : 1;
    return { height, scale, top: el.scrollTop * scale };
  };

  const draw = () => {
    const el = list();
    if (!el) return;
    const spacer = root.querySelector<HTMLElement>('#vspacer')!,
      rows = root.querySelector<HTMLElement>('#vrows')!;
    const g = geometry(el);
    spacer.style.height = `${g.height}px`;
    const first = Math.max(0, Math.floor(g.top / ROW_H) - 5);
    const last = Math.min(total, Math.ceil((g.top + el.clientHeight) / ROW_H) + 5);
    for (let p = Math.floor(first / PAGE); p <= Math.floor(Math.max(first, last - 1) / PAGE); p++) if (!pages.has(p) && total > 0) void fetchPage(p, gen);
    const out: Html[] = [];
    for (let i = first; i < last; i++) {
      const s = rowAt(i);
      out.push(
        s
          ? html`<div class="srow${i === selected ? ' selected' : ''}" data-i="${i}" data-id="${s.id}"><span class="c-cond" title="${s.condition}">${s.condition}</span><span class="c-q" title="${s.paraphrase}">${s.questionId}</span><span class="c-idx">#${s.idx}</span><span class="c-label">${s.label ? html`<span class="tag label">${s.label}</span>` : ''}</span>${facets?.hasScores || filter.sort ? html`<span class="c-score">${(s.sortScore !== undefined ? s.sortScore : s.score) === null ? '' : num((s.sortScore !== undefined ? s.sortScore : s.score)!)}</span>` : ''}<span class="c-answer">${s.finishReason === 'score' ? s.paraphrase : s.answer}</span></div>`
          : html`<div class="srow pending" data-i="${i}"><span class="c-answer muted">…</span></div>`,
      );
    }
    rows.style.transform = `translateY(${el.scrollTop - (g.top - first * ROW_H)}px)`;
    rows.innerHTML = html`${out}`.s;
    const c = root.querySelector('#s-count');
    if (c) c.textContent = `${count(total)} sample${total === 1 ? '' : 's'}`;
    const ready = total === 0 || (first < last && rowAt(first) !== undefined);
    el.dataset.state = ready ? 'ready' : 'loading';
    el.dataset.gen = String(gen);
    el.dataset.total = String(total);
    if (total === 0) rows.innerHTML = html`<p class="empty">No sample matches this filter.</p>`.s;
  };

  let detailSeq = 0;
  const showDetail = async (id: number) => {
    const my = ++detailSeq;
    const box = root.querySelector<HTMLElement>('#detail')!;
    box.classList.add('loading');
    try {
      const s = await source.sample(runId, id);
      if (my !== detailSeq || stopped) return;
      box.innerHTML = detailHtml(s, run!).s;
      box.scrollTop = 0;
    } catch (e) {
      if (my === detailSeq) box.innerHTML = html`<p class="error">${(e as Error).message}</p>`.s;
    } finally {
      box.classList.remove('loading');
    }
  };

  const select = async (i: number, scroll = true) => {
    if (total === 0) return;
    i = Math.max(0, Math.min(total - 1, i));
    selected = i;
    const el = list()!;
    if (scroll) {
      const g = geometry(el),
        top = i * ROW_H;
      if (top < g.top) el.scrollTop = Math.floor(top / g.scale);
      else if (top + ROW_H > g.top + el.clientHeight) el.scrollTop = Math.ceil((top + ROW_H - el.clientHeight) / g.scale);
    }
    let s = rowAt(i);
    if (!s) {
      await fetchPage(Math.floor(i / PAGE), gen);
      s = rowAt(i);
    }
    draw();
    if (!s || selected !== i) return;
    selectedId = s.id;
    syncUrl();
    void showDetail(s.id);
  };

  const refilter = async () => {
    gen++;
    pages.clear();
    inflight.clear();
    selected = -1;
    total = 0;
    syncUrl();
    const el = list();
    if (el) {
      el.scrollTop = 0;
      el.dataset.state = 'loading';
    }
    await fetchPage(0, gen);
  };

  const onKey = (e: KeyboardEvent) => {
    const t = e.target;
    if (t instanceof HTMLElement && t.matches('input, select, textarea')) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    if (e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === 'j' || e.key === 'ArrowDown') {
      e.preventDefault();
      void select(selected + 1);
    } else if (e.key === 'k' || e.key === 'ArrowUp') {
      e.preventDefault();
      void select(Math.max(0, selected - 1));
    } else if (e.key === '/') {
      e.preventDefault();
      root.querySelector<HTMLInputElement>('#f-text')?.focus();
    } else if (e.key === 'Escape') {
      selected = -1;
      selectedId = undefined;
      syncUrl();
      draw();
    }
  };
  document.addEventListener('keydown', onKey);

  (async () => {
    try {
      [run, facets] = await Promise.all([source.run(runId), source.facets(runId)]);
      if (stopped) return;
      shell();
      await refilter();
      if (selectedId !== undefined) {
        const id = selectedId;
        void showDetail(id);
        const pos = await source.position(runId, filter, id);
        if (pos !== null && !stopped) {
          selected = pos;
          await select(pos);
        }
      }
    } catch (e) {
      if (!stopped) showError(root, e);
    }
  })();
  return () => {
    stopped = true;
    document.removeEventListener('keydown', onKey);
  };
};
