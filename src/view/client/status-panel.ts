/**
 * A run's live status (#run-status): the step it is on with "k of n" and a bar, how long it has run and
 * about how long the step still needs, and for a failed run the error it stopped with, as stored.
 */
import { html, count, type Html } from './html.ts';
import type { RunRow } from '../types.ts';

/** A duration for people: "45 s", "3 min", "1 h 20 min". */
export function duration(s: number): string {
  if (s < 60) return `${Math.max(0, Math.round(s))} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** The ETA of a step as shown: "about 3 min left", "less than a minute left", or "" while unknown. */
export function etaText(etaS: number | null | undefined): string {
  if (etaS === null || etaS === undefined) return '';
  if (etaS < 60) return 'less than a minute left';
  return `about ${duration(etaS)} left`;
}

type Status = Pick<RunRow, 'status' | 'phase' | 'elapsedS' | 'etaS' | 'error'>;

export function statusPanel(r: Status): Html {
  const p = r.phase;
  if (r.status !== 'running' && r.status !== 'failed') return html``;
  if (!p && r.elapsedS === undefined && !r.error) return html``;
  const share = p ? Math.min(1, p.done / Math.max(1, p.total)) : 0;
  const eta = r.status === 'running' ? etaText(r.etaS) : '';
  return html`<section class="card run-status ${r.status}" id="run-status">
    ${
      p
        ? html`<div class="phase-line"><span class="phase">${r.status === 'failed' ? 'stopped in ' : ''}${p.label}</span>
      <span class="phase-count">${count(p.done)} of ${count(p.total)}</span>
      <span class="progress phase-bar" title="${(100 * share).toFixed(0)}%"><i style="width:${(100 * share).toFixed(1)}%"></i></span></div>`
        : ''
    }
    <div class="times">${r.elapsedS !== undefined ? html`<span class="elapsed">${r.status === 'running' ? 'running for' : 'ran for'} ${duration(r.elapsedS)}</span>` : ''}${
      eta ? html` · <span class="eta">${eta}</span>` : r.status === 'running' && p ? html` · <span class="eta muted">estimating…</span>` : ''
    }</div>
    ${r.error ? html`<div class="run-error" role="alert"><strong>Failed:</strong> <pre>${r.error}</pre></div>` : ''}
  </section>`;
}
