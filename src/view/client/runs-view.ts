/** The runs list: search and filters (done by the server in SQL), live status of running runs, pick two to compare. */
import { html, count, date } from './html.ts';
import { routeHref, replaceRoute, showError, type View } from './route.ts';
import type { RunList, RunRow } from '../types.ts';

export const statusBadge = (r: Pick<RunRow, 'status' | 'progress'>) =>
  html`<span class="status ${r.status}">${r.status}</span>${
    r.progress
      ? html` <span class="progress" title="${count(r.progress.done)} of ${count(r.progress.total)} samples"><i style="width:${((100 * r.progress.done) / Math.max(1, r.progress.total)).toFixed(1)}%"></i></span> <small>${count(r.progress.done)}/${count(r.progress.total)}</small>`
      : ''
  }`;

/** A running run's current step, briefly (the full label in its title). */
export const phaseNote = (r: Pick<RunRow, 'status' | 'phase'>) =>
  r.status === 'running' && r.phase
    ? html` <small class="phase" title="${r.phase.label}: ${count(r.phase.done)} of ${count(r.phase.total)}">${r.phase.label.length > 32 ? `${r.phase.label.slice(0, 31)}…` : r.phase.label}</small>`
    : '';

export const runsView: View = (root, source, route) => {
  const state = { search: route.params.get('search') ?? '', kind: route.params.get('kind') ?? '', status: route.params.get('status') ?? '' };
  const picked = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined,
    seq = 0,
    stopped = false,
    kinds: string[] = [];
  root.innerHTML = html`
    <div class="page-head"><h1>Runs</h1><span class="muted" id="runs-count"></span></div>
    <div class="filters">
      <input type="search" id="run-search" aria-label="search runs" placeholder="search name, model or id" value="${state.search}" autofocus>
      <select id="run-kind" aria-label="kind"><option value="">all kinds</option></select>
      <select id="run-status" aria-label="status"><option value="">any status</option>${['running', 'done', 'failed'].map((s) => html`<option ${s === state.status ? 'selected' : ''}>${s}</option>`)}</select>
      <button id="compare-picked" disabled>Compare 2 selected</button>
    </div>
    <div id="runs-table"></div>`.s;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const compareBtn = $<HTMLButtonElement>('compare-picked');
  const syncPicked = () => {
    compareBtn.disabled = picked.size !== 2;
    compareBtn.textContent = picked.size === 2 ? 'Compare the 2 selected' : `Select 2 runs to compare (${picked.size})`;
  };
  const draw = (list: RunList) => {
    if (kinds.join() !== list.kinds.join()) {
      kinds = list.kinds;
      $('run-kind').innerHTML =
        html`<option value="">all kinds</option>${kinds.map((k) => html`<option ${k === state.kind ? 'selected' : ''}>${k}</option>`)}`.s;
    }
    $('runs-count').textContent =
      `${count(list.total)} run${list.total === 1 ? '' : 's'}${list.runs.length < list.total ? `, newest ${list.runs.length} shown` : ''}`;
    $('runs-table').innerHTML =
      list.runs.length === 0
        ? html`<p class="empty">${applied.search || applied.kind || applied.status ? 'No run matches.' : 'No runs in this store yet: `dramatis run PRESET` makes one.'}</p>`
            .s
        : html`<table class="runs"><thead><tr><th></th><th>name</th><th>kind</th><th>model</th><th>status</th><th>headline</th><th class="num">samples</th><th>updated</th><th>id</th></tr></thead><tbody>
        ${list.runs.map(
          (r) => html`<tr data-id="${r.id}">
          <td><input type="checkbox" class="pick" value="${r.id}" ${picked.has(r.id) ? 'checked' : ''} aria-label="select ${r.name}"></td>
          <td><a href="${routeHref(['run', r.id])}" class="run-link">${r.name}</a></td>
          <td><span class="kind">${r.kind}</span></td><td class="mono small">${r.model}</td>
          <td class="nowrap">${statusBadge(r)}${phaseNote(r)}</td>
          <td class="headline">${r.headline ?? ''}</td>
          <td class="num">${r.samples === null ? '' : count(r.samples)}</td>
          <td class="nowrap small">${date(r.updatedAt)}</td><td class="mono small muted">${r.id.slice(0, 8)}</td>
        </tr>`,
        )}</tbody></table>`.s;
  };
  const load = async () => {
    const my = ++seq;
    clearTimeout(timer);
    try {
      const q = applied;
      const list = await source.runs({ search: q.search || undefined, kind: q.kind || undefined, status: q.status || undefined });
      if (my !== seq || stopped) return;
      draw(list);
      // Poll only while something is running; a finished store costs nothing.
      if (source.pollMs > 0 && list.runs.some((r) => r.status === 'running')) timer = setTimeout(load, source.pollMs);
    } catch (e) {
      if (my === seq && !stopped) showError(root, e);
    }
  };
  // What the list shows (and the URL says); the inputs' state becomes it when the user pauses typing,
  // so a poll in between does not run a half-typed search.
  let applied = { ...state };
  const update = () => {
    applied = { ...state };
    replaceRoute(['runs'], applied);
    void load();
  };
  let debounce: ReturnType<typeof setTimeout> | undefined;
  $<HTMLInputElement>('run-search').addEventListener('input', (e) => {
    state.search = (e.target as HTMLInputElement).value;
    clearTimeout(debounce);
    debounce = setTimeout(update, 120);
  });
  $<HTMLSelectElement>('run-kind').addEventListener('change', (e) => {
    state.kind = (e.target as HTMLSelectElement).value;
    update();
  });
  $<HTMLSelectElement>('run-status').addEventListener('change', (e) => {
    state.status = (e.target as HTMLSelectElement).value;
    update();
  });
  root.addEventListener('change', (e) => {
    const t = e.target as HTMLInputElement;
    if (!t.classList.contains('pick')) return;
    if (t.checked) picked.add(t.value);
    else picked.delete(t.value);
    syncPicked();
  });
  compareBtn.addEventListener('click', () => {
    const [a, b] = [...picked];
    location.hash = routeHref(['compare'], { a, b });
  });
  syncPicked();
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(debounce);
  };
};
