/**
 * A run's samples as CSV or JSONL, and its summary as JSON: what `dramatis export` writes and the
 * viewer's Export links download. Samples go out as a stream of lines, a page of the filtered list at a
 * time (the same SQL paging the viewer uses), then their whole answers and judgments, so a run of a
 * million samples never becomes one string in memory.
 */
import type { ViewStore } from './queries.ts';
import type { SampleFilter } from './types.ts';
import { csvLine } from '../shared/csv.ts';

export { csvField, csvLine } from '../shared/csv.ts';

export type ExportFormat = 'csv' | 'jsonl' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'jsonl', 'json'];

export const CSV_COLUMNS = ['id', 'condition', 'question', 'idx', 'paraphrase', 'answer', 'finish_reason', 'label', 'score', 'explanation'] as const;

const PAGE = 500;

/** The lines of an export, in the filtered list's order. `json` is the run (spec and summary) as one document. */
export function* exportLines(store: ViewStore, runId: string, format: ExportFormat, filter: SampleFilter = {}): Generator<string> {
  const run = store.run(runId);
  if (format === 'json') {
    yield `${JSON.stringify({ id: run.id, name: run.name, kind: run.kind, model: run.model, status: run.status, judge: run.judge, spec: run.spec, summary: run.summary }, null, 2)}\n`;
    return;
  }
  if (format === 'csv') yield csvLine([...CSV_COLUMNS]);
  for (let offset = 0; ; offset += PAGE) {
    const page = store.samples(runId, filter, offset, PAGE);
    for (const s of store.samplesInFull(
      runId,
      page.rows.map((r) => r.id),
    )) {
      const own = s.judgments.find((j) => j.judge === run.judge);
      if (format === 'csv')
        yield csvLine([s.id, s.condition, s.questionId, s.idx, s.paraphrase, s.answer, s.finishReason, s.label, s.score, own?.explanation ?? null]);
      else
        yield `${JSON.stringify({
          id: s.id,
          condition: s.condition,
          question: s.questionId,
          idx: s.idx,
          paraphrase: s.paraphrase,
          prompt: s.prompt,
          answer: s.answer,
          finish_reason: s.finishReason,
          label: s.label,
          score: s.score,
          judgments: s.judgments,
        })}\n`;
    }
    if (page.rows.length < PAGE || offset + PAGE >= page.total) return;
  }
}

/** The file name a download gets: the run's name, made safe, and what it holds. */
export function exportFileName(name: string, format: ExportFormat): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  return format === 'json' ? `${safe}.json` : `${safe}-samples.${format}`;
}
