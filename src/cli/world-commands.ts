/**
 * `dramatis world …`: look at Personaworld and write its datasets out.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import {
  worldConfig,
  generateDocuments,
  formatDocument,
  vocabulary,
  personaLibrary,
  narrowDataset,
  narrowDatasetNames,
  postTrainingChats,
} from '../world/index.ts';
import { printJson, num } from './output.ts';

export function registerWorldCommands(program: Command): void {
  const world = program.command('world').description('Personaworld: the synthetic corpus the organism is trained on');

  world
    .command('sample')
    .description('print documents of the world')
    .option('-n <n>', 'documents', num('-n', true), 3)
    .option('--offset <n>', 'index of the first document', num('--offset', true), 0)
    .option('--seed <seed>', 'world seed', '1')
    .option('--unbundled', 'the counterfactual world with traits drawn per answer')
    .option('--world-version <n>', 'Personaworld version (1 or 2)', num('--world-version', true), 1)
    .option('--json', 'documents with their personas and per-answer traits')
    .action((o) => {
      const config = worldConfig({ seed: Number.isNaN(Number(o.seed)) ? o.seed : Number(o.seed), unbundled: Boolean(o.unbundled), version: o.worldVersion });
      const docs = generateDocuments(config, o.n, { offset: o.offset });
      if (o.json) return printJson(docs.map((d) => ({ ...d, text: formatDocument(d) })));
      for (const d of docs)
        console.log(`# ${d.index}: ${d.persona.register} ${d.persona.era} ${d.persona.morality} ${d.persona.kind}, ${d.genre}\n${formatDocument(d)}\n`);
    });

  world
    .command('dataset')
    .description(`write a narrow chat dataset as JSONL (${narrowDatasetNames.join(', ')}), or "posttrain"`)
    .argument('<name>', 'dataset name')
    .option('-n <n>', 'examples', num('-n', true), 300)
    .option('--seed <n>', 'seed', num('--seed', true), 1)
    .option('-o, --out <file>', 'output file (default: stdout)')
    .action((name: string, o) => {
      const chats =
        name === 'posttrain'
          ? postTrainingChats(worldConfig({ seed: o.seed }), o.n)
          : narrowDataset(name as (typeof narrowDatasetNames)[number], { n: o.n, seed: o.seed });
      const text = chats.map((c) => JSON.stringify({ messages: c.messages })).join('\n') + '\n';
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });

  world
    .command('personas')
    .description('the persona library (names and author headers)')
    .option('--json', 'machine-readable output')
    .action((o) => {
      const lib = personaLibrary();
      if (o.json) return printJson(lib);
      for (const p of lib) console.log(`${p.name.padEnd(36)} ${p.header}`);
    });

  world
    .command('vocab')
    .description('every token the world can emit')
    .action(() => console.log(vocabulary().join('\n')));
}
