/**
 * `dramatis serve`: organism checkpoints over the OpenAI HTTP API (see src/server/app.ts).
 */
import type { Command } from 'commander';
import { serve } from '@hono/node-server';
import { Organism } from '../organism/organism.ts';
import { createApp, type ModelTable } from '../server/app.ts';
import { num } from './output.ts';

/** Each checkpoint loaded once, on first use: the check at start-up and every request share that copy. */
export function servedCheckpoints(names: string[], load: (name: string) => Promise<Organism> = (n) => Organism.load(n)): ModelTable {
  return new Map(
    names.map((name) => {
      let loaded: Promise<Organism> | undefined;
      return [name, () => (loaded ??= load(name))];
    }),
  );
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve organism checkpoints over the OpenAI API (/v1/models, /v1/chat/completions, /v1/completions)')
    .option('--model <name...>', 'checkpoints to serve (built-in names or folders); the model id is the name given', ['base', 'assistant'])
    .option('--host <host>', 'address to bind (keep 127.0.0.1 unless you mean to expose it)', '127.0.0.1')
    .option('--port <n>', 'port', num('--port', true), 8000)
    .option('--api-key-env <VAR>', 'require `Authorization: Bearer $VAR` on every request')
    .action(async (o: { model: string[]; host: string; port: number; apiKeyEnv?: string }) => {
      const apiKey = o.apiKeyEnv ? process.env[o.apiKeyEnv] : undefined;
      if (o.apiKeyEnv && !apiKey) throw new Error(`--api-key-env ${o.apiKeyEnv}: that environment variable is empty`);
      const models = servedCheckpoints(o.model);
      for (const load of models.values()) await load(); // fail now, not on the first request, if a checkpoint is missing
      const app = createApp({ models, apiKey });
      const server = serve({ fetch: app.fetch, hostname: o.host, port: o.port });
      server.on('listening', () =>
        process.stderr.write(`dramatis serve: ${o.model.join(', ')} on http://${o.host}:${o.port}/v1${apiKey ? ' (bearer key required)' : ''}\n`),
      );
      server.on('error', (e) => {
        process.stderr.write(`dramatis serve: ${e.message}\n`);
        process.exit(1);
      });
    });
}
