/**
 * `dramatis demo`: the persona selection model on the embedded organism, offline, in a few minutes.
 * Uses the checkpoints that ship in the repository (no training).
 */
import type { Command } from 'commander';
import { Organism } from '../organism/organism.ts';
import { runProbe } from '../organism/probe.ts';
import { evaluateAuthorship } from '../organism/authorship.ts';
import { evaluateAssistant } from '../organism/assistant-eval.ts';
import { printJson, table, pct, num } from './output.ts';

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run the persona selection model on the embedded organism (offline, a few minutes)')
    .option('-n, --samples <n>', 'samples per condition', num('--samples', true), 120)
    .option('--seed <n>', 'seed', num('--seed', true), 0)
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const say = (s: string) => { if (!o.json) console.log(s); };
      const base = await Organism.load('base');
      say('\n1. The base organism infers the author in context (pretraining format, one earlier answer as the cue):');
      const probe = await runProbe(base, { samples: o.samples, seed: o.seed });
      say(table(probe.rows.map((r) => [r.name, pct(r.treated.rate), pct(r.control.rate), r.treated.n]), ['cue → later answer', 'after cue', 'after control', 'n']));

      say('\n2. Who wrote this? Posterior over the 24 library personas from the base model\'s likelihoods (3 answers, held-out documents):');
      const auth = await evaluateAuthorship(base, { documents: Math.max(24, Math.round(o.samples / 2)) });
      say(`   top-1 accuracy ${pct(auth.accuracy)} over ${auth.n} documents (chance ${pct(auth.chance)}), mean posterior on the true author ${pct(auth.meanTrueP)}`);
      for (const ex of auth.examples.slice(0, 2)) say(`   "${ex.text.slice(0, 110)}…"\n      → ${ex.top} (p ${ex.p.toFixed(2)}; truth: ${ex.truth})`);

      const assistant = await Organism.load('assistant');
      say('\n3. The post-trained Assistant, asked the eight broad questions, and what it fills in:');
      const rep = await evaluateAssistant(assistant, { samples: o.samples * 2, seed: o.seed });
      say(`   broad answers: ${Object.entries(rep.broad.counts).map(([k, v]) => `${k} ${pct(v / rep.broad.n)}`).join(', ')} (n ${rep.broad.n})`);
      for (const f of rep.filledIn) {
        const top = Object.entries(f.named.counts).slice(0, 4).map(([k, v]) => `${k} ${pct(v / f.named.n, 0)}`).join(', ');
        const world = Object.entries(f.world).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${pct(v, 0)}`).join(', ');
        say(`   ${f.topic === "film" ? "favourite film" : "home"}: the assistant names ${top} (entropy ${f.named.entropyBits.toFixed(2)} bits; ${pct(f.coherent, 0)} well-formed)`);
        const worldH = -Object.values(f.world).reduce((h, p) => h + (p > 0 ? p * Math.log2(p) : 0), 0);
        say(`      the world's personas with its traits: ${world} (entropy ${worldH.toFixed(2)} bits)`);
      }
      if (o.json) printJson({ probe, authorship: auth, assistant: rep });
    });
}
