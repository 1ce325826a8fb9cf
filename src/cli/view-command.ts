/**
 * `dramatis view` (a local web app over the results store, read-only) and `dramatis report RUN` (the
 * same pages as one self-contained HTML file). The server and the bundler load only when one of them runs.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_DB } from './run-command.ts';
import { num } from './output.ts';
import { stopOnSignals } from './lifecycle.ts';

export function registerView(program: Command): void {
  program
    .command('view')
    .description('browse, compare and read runs in a local web app (the store is opened read-only)')
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('--host <host>', 'address to bind (keep 127.0.0.1 unless you mean to expose it)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', num('--port', true), 8765)
    .action(async (o: { db: string; host: string; port: number }) => {
      const [{ serve }, { ViewStore }, { createViewApp }, { clientBundle }] = await Promise.all([
        import('@hono/node-server'),
        import('../view/queries.ts'),
        import('../view/app.ts'),
        import('../view/bundle.ts'),
      ]);
      const store = new ViewStore(resolve(o.db));
      await clientBundle(); // bundle now, so a broken install fails here and the first page is fast
      const loopback = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(o.host);
      const server = serve({ fetch: createViewApp(store, { anyHost: !loopback }).fetch, hostname: o.host, port: o.port });
      server.on('listening', () => {
        const addr = server.address();
        const port = typeof addr === 'object' && addr ? addr.port : o.port;
        const host = o.host.includes(':') ? `[${o.host}]` : o.host;
        if (!loopback) process.stderr.write(`dramatis view: listening on ${o.host}: anyone who can reach this address can read every run in the store\n`);
        process.stderr.write(
          `dramatis view: ${store.path} (read-only) on http://${host}:${port}/${store.indexed ? '' : "\n  (this store predates the viewer's indexes: large runs page slower until a `dramatis run` opens it)"}\n`,
        );
      });
      server.on('error', (e) => {
        process.stderr.write(`dramatis view: ${e.message}\n`);
        process.exit(1);
      });
      stopOnSignals('view', () => {
        server.close();
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        store.close();
      });
    });

  program
    .command('export')
    .description("a run's samples as CSV or JSONL (filtered as the viewer filters), or the run as JSON")
    .argument('<run>', 'run id, id prefix or name (the latest run of that name)')
    .option('--format <f>', 'csv, jsonl (the samples) or json (spec and summary)', 'csv')
    .option('--out <file>', 'where to write it (default: stdout)')
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('--condition <name>', 'only this condition')
    .option('--question <id>', 'only this question')
    .option('--label <label>', "only samples the run's judge gave this label")
    .option('--text <s>', 'only samples whose answer or question contains this')
    .action(async (ref: string, o: { format: string; out?: string; db: string; condition?: string; question?: string; label?: string; text?: string }) => {
      const [{ ViewStore }, { EXPORT_FORMATS, exportLines }, { createWriteStream }] = await Promise.all([
        import('../view/queries.ts'),
        import('../view/export.ts'),
        import('node:fs'),
      ]);
      if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new Error(`--format ${o.format}: use one of ${EXPORT_FORMATS.join(', ')}`);
      const store = new ViewStore(resolve(o.db));
      try {
        const id = store.resolveRun(ref);
        const out: NodeJS.WritableStream = o.out ? createWriteStream(resolve(o.out)) : process.stdout;
        let n = 0;
        for (const line of exportLines(store, id, o.format as 'csv', { condition: o.condition, question: o.question, label: o.label, text: o.text })) {
          n++;
          if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        if (o.out) {
          await new Promise<void>((res, rej) => {
            out.once('error', rej);
            out.end(() => res());
          });
          const rows = o.format === 'json' ? 'the run' : `${(o.format === 'csv' ? n - 1 : n).toLocaleString('en-US')} samples`;
          process.stderr.write(`dramatis export: ${rows} to ${o.out}\n`);
        }
      } finally {
        store.close();
      }
    });

  program
    .command('report')
    .description("write runs as one self-contained HTML file (the viewer's pages, opens from disk)")
    .argument('<run...>', 'run id, id prefix or name (the latest run of that name)')
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('--out <file>', 'where to write it', 'report.html')
    .option('--samples <n>', 'samples embedded per condition (the charts always use all of them)', num('--samples', true), 1000)
    .action(async (refs: string[], o: { db: string; out: string; samples: number }) => {
      const [{ ViewStore }, { renderViewReport }] = await Promise.all([import('../view/queries.ts'), import('../view/report.ts')]);
      const store = new ViewStore(resolve(o.db));
      try {
        const ids = refs.map((r) => store.resolveRun(r));
        writeFileSync(o.out, await renderViewReport(store, ids, { perCondition: o.samples }));
        process.stderr.write(`dramatis report: ${ids.length} run${ids.length > 1 ? 's' : ''} → ${resolve(o.out)}\n`);
      } finally {
        store.close();
      }
    });
}
