/**
 * `dramatis serve`: models of any backend over the OpenAI HTTP API (see src/server/app.ts); organism
 * checkpoints by default. Its state (uploads, fine-tuning jobs) is kept in `--state` (default
 * runs/serve beside the results database) and reloaded at start. SIGTERM, SIGINT and SIGHUP close it:
 * the port is released, running fine-tunes are stopped (their jobs failed, saying so) and worker
 * processes end with it. Started by npx, it also stops when npx is gone (see the watch below: npx's
 * shell does not pass a SIGTERM on).
 */
import type { Command } from 'commander';
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, dirname, resolve } from 'node:path';
import type { Model } from '../backends/model.ts';
import { loadModel, registeredBackends } from '../backends/registry.ts';
import { createApp, type ModelTable } from '../server/app.ts';
import { num } from './output.ts';
import { stopOnSignals } from './lifecycle.ts';
import { DEFAULT_DB } from './run-command.ts';

/** A served name as a model reference: `backend:name` as it is, anything else an organism checkpoint. */
export function servedRef(name: string): string {
  const prefix = name.split(':')[0];
  return name.includes(':') && registeredBackends().includes(prefix) ? name : `organism:${name}`;
}

/** Each model loaded once, on first use: the check at start-up and every request share that copy. */
export function servedModels(names: string[], load: (name: string) => Promise<Model>): ModelTable {
  return new Map(
    names.map((name) => {
      let loaded: Promise<Model> | undefined;
      return [name, () => (loaded ??= load(name))];
    }),
  );
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve models over the OpenAI API (/v1/models, /v1/chat/completions, /v1/completions, /v1/files, /v1/fine_tuning/jobs)')
    .option(
      '--model <name...>',
      'models to serve: organism checkpoints (built-in names or folders) or any backend:name (e.g. openai:gpt-4o-mini); the model id is the name given',
      ['base', 'assistant'],
    )
    .option('--host <host>', 'address to bind (keep 127.0.0.1 unless you mean to expose it)', '127.0.0.1')
    .option('--port <n>', 'port', num('--port', true), 8000)
    .option('--api-key-env <VAR>', 'require `Authorization: Bearer $VAR` on every request')
    .option('--base-url <url>', 'openai: models served here: the upstream server (default $OPENAI_BASE_URL)')
    .option('--upstream-key-env <VAR>', 'openai: models served here: the environment variable holding the upstream key (default OPENAI_API_KEY)')
    .option('--cache <dir>', 'where fine-tunes and upstream responses are cached (shared with dramatis run)', join(dirname(DEFAULT_DB), 'cache'))
    .option('--state <dir>', "the server's uploads and fine-tuning jobs, kept across restarts", join(dirname(DEFAULT_DB), 'serve'))
    .action(
      async (o: {
        model: string[];
        host: string;
        port: number;
        apiKeyEnv?: string;
        baseUrl?: string;
        upstreamKeyEnv?: string;
        cache: string;
        state: string;
      }) => {
        const apiKey = o.apiKeyEnv ? process.env[o.apiKeyEnv] : undefined;
        if (o.apiKeyEnv && !apiKey) throw new Error(`--api-key-env ${o.apiKeyEnv}: that environment variable is empty`);
        const cacheDir = resolve(o.cache);
        const models = servedModels(o.model, (name) =>
          loadModel(servedRef(name), { cacheDir, baseUrl: o.baseUrl, apiKeyEnv: o.upstreamKeyEnv, trainInWorker: true }),
        );
        for (const load of models.values()) await load(); // fail now, not on the first request, if a model is missing
        const stateDir = resolve(o.state);
        const app = createApp({ models, apiKey, anyHost: !['127.0.0.1', 'localhost', '::1'].includes(o.host), stateDir });
        const server = serve({ fetch: app.fetch, hostname: o.host, port: o.port }) as Server;
        const served = [...models.keys()].filter((m) => !o.model.includes(m));
        server.on('listening', () =>
          process.stderr.write(
            `dramatis serve: ${o.model.join(', ')}${served.length ? ` and ${served.length} fine-tuned model(s) from ${o.state}` : ''} on http://${o.host}:${(server.address() as AddressInfo).port}/v1${apiKey ? ' (bearer key required)' : ''}\n`,
          ),
        );
        server.on('error', (e) => {
          process.stderr.write(`dramatis serve: ${e.message}\n`);
          process.exit(1);
        });
        stopOnSignals('serve', async () => {
          server.close();
          server.closeAllConnections();
          await app.close(); // then 'exit' stops the worker processes (worker-process.ts)
        });
      },
    );
}
