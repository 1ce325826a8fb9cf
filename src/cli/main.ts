/**
 * The `dramatis` command line. Each command lives in its own module; this file only wires them up and
 * turns errors into one clear line (plus the stack with DRAMATIS_DEBUG=1).
 */
import { Command } from 'commander';
import { registerRunCommands } from './run-command.ts';
import { registerMonitor } from './monitor-command.ts';

const program = new Command('dramatis').description('Measure, predict and shape the persona a language model selects').version('0.1.0').showHelpAfterError();

registerRunCommands(program);
registerMonitor(program);
// `run` and `presets` against a server need no organism; the other commands load it (and tfjs, about
// 1 s to import), so they are registered only when one of them, or help, may be asked for.
// `view`, `report` and `export` only read the store: they skip the organism too, and so does `monitor`.
if (!['run', 'presets', 'audit', 'monitor'].includes(process.argv[2] ?? '')) (await import('./view-command.ts')).registerView(program);
if (!['run', 'presets', 'audit', 'view', 'report', 'export', 'monitor'].includes(process.argv[2] ?? '')) {
  (await import('./demo.ts')).registerDemo(program);
  (await import('./organism-commands.ts')).registerOrganismCommands(program);
  (await import('./world-commands.ts')).registerWorldCommands(program);
  (await import('./serve-command.ts')).registerServe(program);
  (await import('./worker-command.ts')).registerWorker(program);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as Error;
  process.stderr.write(`dramatis: ${err.message}\n`);
  if (process.env.DRAMATIS_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
