/**
 * Where the app's data comes from: the `dramatis view` server's JSON API, or the data embedded in a
 * `dramatis report` file (filtered here in the page, with the same meaning as the server's SQL).
 */
import type { RunList, RunDetail, Facets, SampleFilter, SamplePage, SampleDetail } from '../types.ts';

export interface RunQuery {
  search?: string;
  kind?: string;
  status?: string;
}

export interface Source {
  mode: 'server' | 'report';
  pollMs: number;
  runs(q: RunQuery): Promise<RunList>;
  run(id: string): Promise<RunDetail>;
  facets(id: string): Promise<Facets>;
  samples(id: string, f: SampleFilter, offset: number, limit: number): Promise<SamplePage>;
  position(id: string, f: SampleFilter, sampleId: number): Promise<number | null>;
  sample(id: string, sampleId: number): Promise<SampleDetail>;
  /** Report: what part of a run's samples the file holds (null when it holds them all). */
  note(id: string): string | null;
}

export const filterParams = (f: SampleFilter): Record<string, string> => {
  const p: Record<string, string> = {};
  if (f.condition) p.condition = f.condition;
  if (f.question) p.question = f.question;
  if (f.label) p.label = f.label;
  if (f.scoreMin !== undefined) p.min = String(f.scoreMin);
  if (f.scoreMax !== undefined) p.max = String(f.scoreMax);
  if (f.text) p.text = f.text;
  if (f.sort) p.sort = f.sort;
  if (f.sort && f.order) p.order = f.order;
  return p;
};

async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const qs = new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => [k, String(v)]),
  ).toString();
  const url = qs ? `${path}?${qs}` : path;
  const res = await fetch(url);
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error((body as { error?: string }).error ?? `${url}: ${res.status}`);
  return body as T;
}

export function serverSource(pollMs: number): Source {
  const enc = encodeURIComponent;
  return {
    mode: 'server',
    pollMs,
    runs: (q) => getJson('/api/runs', { ...q, limit: 500 }),
    run: (id) => getJson(`/api/runs/${enc(id)}`),
    facets: (id) => getJson(`/api/runs/${enc(id)}/facets`),
    samples: (id, f, offset, limit) => getJson(`/api/runs/${enc(id)}/samples`, { ...filterParams(f), offset, limit }),
    position: async (id, f, sampleId) =>
      (await getJson<{ position: number | null }>(`/api/runs/${enc(id)}/position`, { ...filterParams(f), sample: sampleId })).position,
    sample: (id, sampleId) => getJson(`/api/runs/${enc(id)}/samples/${sampleId}`),
    note: () => null,
  };
}

export interface EmbeddedData {
  generatedAt: string;
  runs: RunDetail[];
  facets: Record<string, Facets>;
  samples: Record<string, { rows: SampleDetail[]; total: number; perCondition: number }>;
}

export function embeddedSource(data: EmbeddedData): Source {
  const runById = (id: string) => {
    const r = data.runs.find((x) => x.id === id);
    if (!r) throw new Error(`this report holds no run ${id}`);
    return r;
  };
  const matches = (s: SampleDetail, f: SampleFilter) => {
    const t = f.text?.toLowerCase();
    return (
      (!f.condition || s.condition === f.condition) &&
      (!f.question || s.questionId === f.question) &&
      (!f.label || s.label === f.label) &&
      (f.scoreMin === undefined || (s.score !== null && s.score >= f.scoreMin)) &&
      (f.scoreMax === undefined || (s.score !== null && s.score <= f.scoreMax)) &&
      (!t || s.answer.toLowerCase().includes(t) || s.paraphrase.toLowerCase().includes(t))
    );
  };
  // Filtering a few thousand embedded samples is fast; the last result is kept for paging through it.
  let last: { id: string; key: string; rows: SampleDetail[] } | undefined;
  const filtered = (id: string, f: SampleFilter) => {
    const key = JSON.stringify(f);
    if (last?.id === id && last.key === key) return last.rows;
    runById(id);
    const rows = (data.samples[id]?.rows ?? []).filter((s) => matches(s, f));
    // A report embeds the run judge's scores only (facets below offer that sort alone): the same order as the server's.
    if (f.sort) {
      const sign = f.order === 'asc' ? 1 : -1;
      rows.sort((a, b) =>
        (a.score === null) !== (b.score === null)
          ? a.score === null
            ? 1
            : -1
          : a.score !== null && b.score !== null && a.score !== b.score
            ? sign * (a.score - b.score)
            : a.id - b.id,
      );
    }
    last = { id, key, rows };
    return rows;
  };
  return {
    mode: 'report',
    pollMs: 0,
    runs: async (q) => {
      const s = q.search?.toLowerCase();
      const runs = data.runs.filter(
        (r) =>
          (!s || [r.name, r.model, r.id].some((x) => x.toLowerCase().includes(s))) &&
          [undefined, '', r.kind].includes(q.kind) &&
          (!q.status || r.status === q.status),
      );
      return { total: runs.length, runs, kinds: [...new Set(data.runs.map((r) => r.kind))].sort() };
    },
    run: async (id) => runById(id),
    facets: async (id) => {
      const f = data.facets[id] ?? { questions: [], labels: [], hasScores: false };
      const judge = runById(id).judge;
      return { ...f, scoreJudges: f.scoreJudges?.filter((j) => j === judge) };
    },
    samples: async (id, f, offset, limit) => {
      const rows = filtered(id, f);
      return { total: rows.length, offset, rows: rows.slice(offset, offset + limit) };
    },
    position: async (id, f, sampleId) => {
      const i = filtered(id, f).findIndex((s) => s.id === sampleId);
      return i < 0 ? null : i;
    },
    sample: async (id, sampleId) => {
      const s = data.samples[id]?.rows.find((x) => x.id === sampleId);
      if (!s) throw new Error(`this report does not hold sample ${sampleId} of run ${id}`);
      return s;
    },
    note: (id) => {
      const s = data.samples[id];
      if (!s || s.rows.length >= s.total) return null;
      return `This report holds ${s.rows.length.toLocaleString('en-US')} of the run's ${s.total.toLocaleString('en-US')} samples (the first ${s.perCondition.toLocaleString('en-US')} of each condition); the charts and rates use all of them; dramatis view shows every sample.`;
    },
  };
}
