/**
 * The `dramatis` command line. Each command lives in its own module; this file only wires them up and
 * turns errors into one clear line (plus the stack with DRAMATIS_DEBUG=1).
 */
import { Command } from 'commander';
import { registerOrganismCommands } from './organism-commands.ts';
import { registerWorldCommands } from './world-commands.ts';
import { registerDemo } from './demo.ts';
import { registerRunCommands } from './run-command.ts';
import { registerServe } from './serve-command.ts';

const program = new Command('dramatis')
  .description('Measure, predict and shape the persona a language model selects')
  .version('0.1.0')
  .showHelpAfterError();

registerDemo(program);
registerRunCommands(program);
registerOrganismCommands(program);
registerWorldCommands(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as Error;
  process.stderr.write(`dramatis: ${err.message}\n`);
  if (process.env.DRAMATIS_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
