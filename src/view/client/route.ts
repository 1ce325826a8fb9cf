/** The app's URLs (#/path?params) and what every view shares. */
import { html } from './html.ts';
import type { Source } from './source.ts';

export interface Route {
  path: string[];
  params: URLSearchParams;
}
/** A view renders into root and returns what stops it (timers, key handlers), if anything. */
export type View = (root: HTMLElement, source: Source, route: Route) => (() => void) | void;

export function parseRoute(hash = location.hash): Route {
  const h = hash.replace(/^#\/?/, '');
  const i = h.indexOf('?');
  const [p, q] = i < 0 ? [h, ''] : [h.slice(0, i), h.slice(i + 1)];
  return { path: p ? p.split('/').map(decodeURIComponent) : [], params: new URLSearchParams(q) };
}

export function routeHref(path: string[], params: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  return `#/${path.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}

/** Change the URL without re-rendering (filters, the selected sample): the view already shows it. */
export function replaceRoute(path: string[], params: Record<string, string | undefined>): void {
  history.replaceState(null, '', routeHref(path, params));
}

/** Show an error where the view would be (a failed request names its URL and the server's message). */
export function showError(root: HTMLElement, e: unknown): void {
  root.innerHTML = html`<p class="error">${(e as Error).message ?? String(e)}</p><p><a href="#/">All runs</a></p>`.s;
}
