/**
 * `dramatis report RUN`: the viewer's pages as one HTML file that opens from disk with no server. The
 * app and its data are inlined: every summary in full, and at most `perCondition` samples of each
 * condition (the first ones by index, which cover every question), so a 100,000-sample run still makes
 * a file a browser opens at once; the page says when it holds only part of the samples.
 */
import type { ViewStore } from './queries.ts';
import { clientBundle, pageHtml } from './bundle.ts';
import type { EmbeddedData } from './client/source.ts';
import type { Facets, SampleDetail } from './types.ts';

export const DEFAULT_SAMPLES_PER_CONDITION = 1000;

function facetsOf(rows: SampleDetail[]): Facets {
  const tally = (keys: (string | null)[]) => {
    const m = new Map<string, number>();
    for (const k of keys) if (k !== null) m.set(k, (m.get(k) ?? 0) + 1);
    return [...m].map(([id, n]) => ({ id, n }));
  };
  return {
    questions: tally(rows.map((r) => r.questionId)).sort((a, b) => a.id.localeCompare(b.id)),
    labels: tally(rows.map((r) => r.label)).sort((a, b) => b.n - a.n || a.id.localeCompare(b.id)),
    hasScores: rows.some((r) => r.score !== null),
  };
}

export async function renderViewReport(store: ViewStore, runIds: string[], o: { perCondition?: number } = {}): Promise<string> {
  const per = o.perCondition ?? DEFAULT_SAMPLES_PER_CONDITION;
  const data: EmbeddedData = { generatedAt: new Date().toISOString(), runs: [], facets: {}, samples: {} };
  for (const id of runIds) {
    data.runs.push(store.run(id));
    const bundle = store.sampleBundle(id, per);
    data.samples[id] = { ...bundle, perCondition: per };
    // The filter menus count what the file holds, so a count never promises rows the file lacks.
    data.facets[id] = bundle.rows.length < bundle.total ? facetsOf(bundle.rows) : store.facets(id);
  }
  const title = `dramatis report: ${data.runs.map((r) => r.name).join(', ')}`;
  return pageHtml({ title, script: { inline: await clientBundle() }, config: { mode: 'report' }, data });
}
