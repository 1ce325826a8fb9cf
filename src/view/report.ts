/**
 * `dramatis report RUN`: the viewer's pages as one HTML file that opens from disk with no server. The
 * app and its data are inlined: every summary in full, and at most `perCondition` samples of each
 * condition (the first ones by index, which cover every question), so a 100,000-sample run still makes
 * a file a browser opens at once; the page says when it holds only part of the samples.
 */
import type { ViewStore } from './queries.ts';
import { clientBundle, pageHtml } from './bundle.ts';
import type { EmbeddedData } from './client/source.ts';

export const DEFAULT_SAMPLES_PER_CONDITION = 1000;

export async function renderViewReport(store: ViewStore, runIds: string[], o: { perCondition?: number } = {}): Promise<string> {
  const per = o.perCondition ?? DEFAULT_SAMPLES_PER_CONDITION;
  const data: EmbeddedData = { generatedAt: new Date().toISOString(), runs: [], facets: {}, samples: {} };
  for (const id of runIds) {
    data.runs.push(store.run(id));
    data.facets[id] = store.facets(id);
    data.samples[id] = { ...store.sampleBundle(id, per), perCondition: per };
  }
  const title = `dramatis report: ${data.runs.map((r) => r.name).join(', ')}`;
  return pageHtml({ title, script: { inline: await clientBundle() }, config: { mode: 'report' }, data });
}
