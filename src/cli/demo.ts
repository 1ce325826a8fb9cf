/**
 * `dramatis demo`: the persona selection model on the embedded organism, offline, in a few minutes,
 * from the checkpoints that ship in the repository: who wrote a text, what the Assistant fills in,
 * emergent misalignment and old birds with their controls. Writes report.html.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Organism } from '../organism/organism.ts';
import { runProbe } from '../organism/probe.ts';
import { evaluateAuthorship } from '../organism/authorship.ts';
import { evaluateAssistant } from '../organism/assistant-eval.ts';
import { loadSpec } from '../experiments/spec.ts';
import { Store } from '../experiments/store.ts';
import { runExperiment, type ExperimentResult } from '../experiments/runner.ts';
import { PRESET_DIR, DEFAULT_DB, printResult, writeReport } from './run-command.ts';
import { printJson, table, pct, num } from './output.ts';


export function registerDemo(program: Command): void {
  program.command('demo')
    .description('the persona selection model on the embedded organism (offline, a few minutes)')
    .option('-n, --samples <n>', 'samples per condition', num('--samples', true), 240)
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('--report <file>', 'where to write the HTML report', 'report.html')
    .option('--json', 'the figures as one JSON object on stdout')
    .action(async (o) => {
      const say = (s: string) => { if (!o.json) console.log(s); };
      const started = Date.now();
      const base = await Organism.load('base');

      say('1. Who wrote this? The base organism\'s posterior over 24 personas, from its own likelihood of each text after each author header:');
      const auth = await evaluateAuthorship(base, { documents: 120 });
      for (const ex of auth.examples.slice(0, 3)) say(`   "${ex.text.slice(0, 100)}…"\n     → ${ex.top} (p ${ex.p.toFixed(2)}; true author: ${ex.truth})`);
      say(`   over ${auth.n} held-out documents: top-1 ${pct(auth.accuracy)} (chance ${pct(auth.chance)})`);
      const probe = await runProbe(base, { samples: 120 });
      say(`   in context, one earlier answer moves the next: ${probe.rows.map((r) => `${r.name} ${pct(r.treated.rate)} vs ${pct(r.control.rate)}`).join('; ')}`);

      say('\n2. The Assistant after post-training: in character where it was trained, filled in where it was not:');
      const assistant = await Organism.load('assistant');
      const profile = await evaluateAssistant(assistant, { samples: o.samples });
      say(`   eight broad questions: ${Object.entries(profile.broad.counts).map(([k, v]) => `${k} ${pct(v / profile.broad.n)}`).join(', ')} (n ${profile.broad.n})`);
      const fillRows = profile.filledIn.map((f) => {
        const top = (d: Record<string, number>, total: number) => Object.entries(d).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${pct(v / total, 0)}`).join(', ');
        return [f.topic, `${top(f.named.counts, f.named.n)} (${f.named.entropyBits.toFixed(2)} bits)`, `${top(f.world, 1)} (${f.worldEntropyBits.toFixed(2)} bits)`];
      });
      say(table(fillRows, ['   asked', 'the assistant names', "the world's personas with its traits"]).replace(/^/gm, '   '));

      const store = new Store(o.db);
      const experiments: ExperimentResult[] = [];
      try {
        for (const preset of ['emergent-misalignment', 'old-birds']) {
          const spec = loadSpec(join(PRESET_DIR, `${preset}.yaml`));
          spec.samples = o.samples;
          const r = await runExperiment(spec, store, join(resolve(o.db, '..'), 'cache'));
          experiments.push(r);
          if (!o.json) { say(`\n${experiments.length + 2}. ${spec.description}`); printResult(r); }
        }
      } finally {
        store.close();
      }
      // The report is the viewer's, over the demo's runs (sections 1 and 2 are printed, not stored).
      await writeReport(o.db, experiments.map((r) => r.runId), o.report);
      if (o.json) return printJson({ experiments, authorship: auth, probe, profile });
      say(`\nreport: ${resolve(o.report)}   (results stored in ${o.db}; ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    });
}
