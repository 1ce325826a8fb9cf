/**
 * The viewer app: a hash router over four views (runs, a run, its samples, compare), reading from the
 * server's API or from the data embedded in a report. URLs name the run, the filter and the sample, so
 * a view can be shared: #/run/ID, #/run/ID/samples?condition=…&label=…&sample=ID, #/compare?a=…&b=….
 */
import css from './style.css';
import { html } from './html.ts';
import { parseRoute } from './route.ts';
import { settings } from './settings.ts';
import { serverSource, embeddedSource, type EmbeddedData } from './source.ts';
import { runsView } from './runs-view.ts';
import { runView } from './run-view.ts';
import { samplesView } from './samples-view.ts';
import { compareView } from './compare-view.ts';
import { sideBySideView } from './side-by-side.ts';

interface Config {
  mode: 'server' | 'report';
  pollMs?: number;
  store?: string;
  indexed?: boolean;
  listMaxPx?: number;
}

function readJson<T>(id: string): T | undefined {
  const el = document.getElementById(id);
  return el?.textContent ? (JSON.parse(el.textContent) as T) : undefined;
}

function boot(): void {
  const style = document.createElement('style');
  style.textContent = css;
  document.head.append(style);
  const config = readJson<Config>('dramatis-config') ?? { mode: 'server' };
  const data = readJson<EmbeddedData>('dramatis-data');
  const source = data ? embeddedSource(data) : serverSource(config.pollMs ?? 2000);
  if (config.listMaxPx) settings.listMaxPx = config.listMaxPx;
  // A report of one run opens on that run.
  if (data?.runs.length === 1 && !location.hash) history.replaceState(null, '', `#/run/${encodeURIComponent(data.runs[0].id)}`);
  const app = document.getElementById('app')!;
  const where = data ? `report of ${data.generatedAt.slice(0, 16).replace('T', ' ')} UTC` : (config.store ?? '');
  app.innerHTML = html`
    <header class="top">
      <a class="brand" href="#/">dramatis</a>
      <nav><a href="#/" data-nav="runs">Runs</a><a href="#/compare" data-nav="compare">Compare</a></nav>
      <span class="where" title="${where}">${where}</span>
    </header>
    ${config.mode === 'server' && config.indexed === false ? html`<div class="banner">This store predates the viewer's indexes: pages of large runs load slower. Any <code>dramatis run</code> on it adds them.</div>` : ''}
    <main id="view"></main>`.s;
  const main = document.getElementById('view')!;
  let dispose: (() => void) | void;
  const render = () => {
    dispose?.();
    dispose = undefined;
    const route = parseRoute();
    const [first, id, sub] = route.path;
    for (const a of app.querySelectorAll<HTMLElement>('nav a')) a.classList.toggle('active', a.dataset.nav === (first === 'compare' ? 'compare' : 'runs'));
    main.innerHTML = '';
    document.title = 'dramatis view';
    main.className = '';
    try {
      if (!first || first === 'runs') dispose = runsView(main, source, route);
      else if (first === 'run' && id && sub === 'samples') dispose = samplesView(main, source, route);
      else if (first === 'run' && id) dispose = runView(main, source, route);
      else if (first === 'compare' && id === 'samples') dispose = sideBySideView(main, source, route);
      else if (first === 'compare') dispose = compareView(main, source, route);
      else main.innerHTML = html`<p class="error">No page ${location.hash}. <a href="#/">All runs</a></p>`.s;
    } catch (e) {
      main.innerHTML = html`<p class="error">${(e as Error).message}</p>`.s;
    }
  };
  window.addEventListener('hashchange', render);
  render();
}

boot();
