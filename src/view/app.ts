/**
 * The `dramatis view` server: a JSON API over the read-only store and the single-page app that reads
 * it. Routes:
 *   GET /api/runs?search=&kind=&status=&limit=&offset=
 *   GET /api/runs/:id                    spec, summary (or live counts while it runs)
 *   GET /api/runs/:id/facets             questions and labels, with counts
 *   GET /api/runs/:id/samples?condition=&question=&label=&min=&max=&text=&offset=&limit=
 *   GET /api/runs/:id/position?sample=ID&<filter>   where a sample sits in the filtered list
 *   GET /api/runs/:id/samples/:sid       one sample in full (prompt, answer, every judgment)
 *   GET /api/runs/:id/export?format=csv|jsonl|json&<filter>   a download of the filtered samples (or the run)
 *   GET /, /app.js                       the app
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { BadRequest, NotFound, type ViewStore } from './queries.ts';
import type { SampleFilter } from './types.ts';
import { clientBundle, pageHtml } from './bundle.ts';
import { EXPORT_FORMATS, exportFileName, exportLines, type ExportFormat } from './export.ts';

const int = (max: number) => z.coerce.number().int().min(0).max(max);
const filterSchema = z.object({
  condition: z.string().min(1).optional(),
  question: z.string().min(1).optional(),
  label: z.string().min(1).optional(),
  min: z.coerce.number().finite().optional(),
  max: z.coerce.number().finite().optional(),
  text: z.string().min(1).max(500).optional(),
  sort: z.string().min(1).max(300).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});
const pageSchema = z.object({ offset: int(1e9).default(0), limit: int(500).default(100) });

function query<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new BadRequest(`${c.req.path}: query parameter ${i.path.join('.')}: ${i.message}`);
  }
  return parsed.data;
}

function filterOf(c: Context): SampleFilter {
  const f = query(c, filterSchema.passthrough());
  return { condition: f.condition, question: f.question, label: f.label, scoreMin: f.min, scoreMax: f.max, text: f.text, sort: f.sort, order: f.order };
}

export interface ViewOptions {
  /** How often the app polls running runs, in ms. */
  pollMs?: number;
  /** The sample list's tallest scroll area in px (tests lower it to exercise proportional scrolling). */
  listMaxPx?: number;
  /** Serve requests for any Host (the server was bound to a non-loopback address on purpose). */
  anyHost?: boolean;
}

/** Loopback names: a page on another site that rebinds its DNS name to 127.0.0.1 still sends its own Host. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

export function createViewApp(store: ViewStore, o: ViewOptions = {}): Hono {
  const app = new Hono();
  app.onError((e, c) => {
    if (e instanceof NotFound) return c.json({ error: e.message }, 404);
    if (e instanceof BadRequest) return c.json({ error: e.message }, 400);
    return c.json({ error: `${c.req.method} ${c.req.path}: ${e.message}` }, 500);
  });
  app.use('*', async (c, next) => {
    const host = c.req.header('host');
    if (!o.anyHost && host && !LOOPBACK.test(host))
      return c.json({ error: `Host ${host} is not served: dramatis view answers loopback names only (bind with --host to serve others)` }, 403);
    await next();
  });
  app.get('/api/runs', (c) => {
    const q = query(c, z.object({ search: z.string().optional(), kind: z.string().optional(), status: z.string().optional() }).merge(pageSchema));
    return c.json(store.runs({ search: q.search || undefined, kind: q.kind || undefined, status: q.status || undefined, limit: q.limit, offset: q.offset }));
  });
  app.get('/api/runs/:id', (c) => c.json(store.run(c.req.param('id'))));
  app.get('/api/runs/:id/facets', (c) => c.json(store.facets(c.req.param('id'))));
  app.get('/api/runs/:id/samples', (c) => {
    const p = query(c, pageSchema.passthrough());
    return c.json(store.samples(c.req.param('id'), filterOf(c), p.offset, p.limit));
  });
  app.get('/api/runs/:id/position', (c) => {
    const { sample } = query(c, z.object({ sample: int(Number.MAX_SAFE_INTEGER) }).passthrough());
    return c.json({ position: store.position(c.req.param('id'), filterOf(c), sample) });
  });
  app.get('/api/runs/:id/samples/:sid', (c) => {
    const sid = Number(c.req.param('sid'));
    if (!Number.isInteger(sid)) throw new BadRequest(`${c.req.path}: the sample id must be an integer`);
    return c.json(store.sample(c.req.param('id'), sid));
  });
  app.get('/api/runs/:id/export', (c) => {
    const { format } = query(c, z.object({ format: z.enum(EXPORT_FORMATS as [ExportFormat, ...ExportFormat[]]) }).passthrough());
    const id = c.req.param('id');
    const run = store.run(id); // an unknown run is a 404 now, not a broken stream later
    const lines = exportLines(store, id, format, filterOf(c));
    const encoder = new TextEncoder();
    // Pulled a line at a time as the client reads, so a large export is never held whole.
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        const n = lines.next();
        if (n.done) ctl.close();
        else ctl.enqueue(encoder.encode(n.value));
      },
    });
    const type = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8', json: 'application/json; charset=utf-8' }[format];
    return new Response(body, { headers: { 'content-type': type, 'content-disposition': `attachment; filename="${exportFileName(run.name, format)}"` } });
  });
  app.get('/api/*', (c) => c.json({ error: `no such endpoint: ${c.req.path}` }, 404));
  app.get('/app.js', async (c) => {
    c.header('content-type', 'text/javascript; charset=utf-8');
    c.header('cache-control', 'no-cache');
    return c.body(await clientBundle());
  });
  app.get('/', (c) =>
    c.html(
      pageHtml({
        title: 'dramatis view',
        script: { src: '/app.js' },
        config: { mode: 'server', pollMs: o.pollMs ?? 2000, store: store.name, indexed: store.indexed, listMaxPx: o.listMaxPx },
      }),
    ),
  );
  return app;
}
