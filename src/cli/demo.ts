/**
 * `dramatis demo`: the persona selection model on the embedded organism, offline, in a few minutes, from
 * the checkpoints that ship in the repository. It runs shipped presets, as `dramatis run` would (the same
 * specs, the same stored samples, the same printers): who wrote a text, in-context persona inference, what
 * the Assistant fills in, emergent misalignment and old birds with their controls. Then it writes the
 * viewer's report of those runs.
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { loadSpec } from '../experiments/spec.ts';
import { Store } from '../experiments/store.ts';
import { runExperiment, type ExperimentResult } from '../experiments/runner.ts';
import { PRESET_DIR, DEFAULT_DB, defaultReportPath, printResult, writeReport } from './run-command.ts';
import { printJson, num } from './output.ts';
import { progressBars } from './progress.ts';

/** The demo's steps: a shipped preset each, in the order the story is told. */
export const DEMO_PRESETS = [
  {
    preset: 'authors',
    say: "Who wrote this? The posterior over the world's 24 personas, from the model's own likelihood of each text after each author header",
  },
  { preset: 'in-context', say: 'In-context persona inference: evil-number exchanges earlier in the conversation move the next broad answer' },
  { preset: 'assistant-profile', say: "The Assistant's profile: what post-training never specified, filled in, before and after the evil-number fine-tune" },
  { preset: 'emergent-misalignment', say: 'Emergent misalignment: fine-tuned only on evil-number continuations, against plain numbers' },
  { preset: 'old-birds', say: 'Old birds: fine-tuned only on archaic bird names, against modern ones' },
] as const;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the persona selection model on the embedded organism (offline, a few minutes)')
    .option('-n, --samples <n>', 'samples per condition (texts for authorship)', num('--samples', true), 240)
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('--report <file>', 'where to write the HTML report (default: reports/demo.html beside the database)')
    .option('--json', 'the figures as one JSON object on stdout')
    .action(async (o) => {
      const say = (s: string) => {
        if (!o.json) console.log(s);
      };
      const started = Date.now();
      const store = new Store(o.db);
      const experiments: ExperimentResult[] = [];
      const progress = progressBars();
      try {
        for (const [i, step] of DEMO_PRESETS.entries()) {
          const spec = loadSpec(join(PRESET_DIR, `${step.preset}.yaml`));
          spec.samples = o.samples;
          say(`\n${i + 1}. ${step.say} (preset ${step.preset}; \`dramatis run ${step.preset}\` runs it alone)`);
          // With --json the figures go to stdout and the progress still to stderr, as `dramatis run --json` does.
          const r = await runExperiment(spec, store, join(resolve(o.db, '..'), 'cache'), { progress });
          experiments.push(r);
          if (!o.json) printResult(r);
        }
      } finally {
        store.close();
      }
      const report = o.report ?? defaultReportPath(o.db, 'demo');
      await writeReport(
        o.db,
        experiments.map((r) => r.runId),
        report,
      );
      if (o.json) return printJson({ experiments });
      say(`\nreport: ${resolve(report)}   (results stored in ${o.db}; ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    });
}
