/**
 * `dramatis run SPEC_OR_PRESET` and `dramatis presets`.
 */
import type { Command } from 'commander';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { renderReport } from '../report/html.ts';
import { basename, join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../organism/paths.ts';
import { loadSpec, specSchema, type ExperimentSpec } from '../experiments/spec.ts';
import { Store } from '../experiments/store.ts';
import { runExperiment, type ExperimentResult } from '../experiments/runner.ts';
import { progressBar, type Progress } from './progress.ts';
import { printJson, table, pct, num } from './output.ts';

export const PRESET_DIR = join(PACKAGE_ROOT, 'presets');
export const DEFAULT_DB = 'runs/dramatis.db';

export function presetNames(): string[] {
  return readdirSync(PRESET_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/** A preset name or a path to a spec file. */
export function resolveSpecPath(ref: string): string {
  const preset = join(PRESET_DIR, `${ref}.yaml`);
  if (existsSync(preset)) return preset;
  if (existsSync(ref)) return resolve(ref);
  throw new Error(`no preset or spec file "${ref}"; presets: ${presetNames().join(', ')}`);
}

const interval = (ci: [number, number]) => `[${pct(ci[0])}, ${pct(ci[1])}]`;

export function printResult(r: ExperimentResult): void {
  if (r.kind === 'profile') return printProfile(r);
  if (r.kind === 'infer') return printInfer(r);
  if (r.kind === 'audit') return printAudit(r);
  console.log(`\n${r.name}: share of answers judged "${r.target}" (model ${r.model}, 95% Wilson intervals)`);
  console.log(table(
    r.conditions.map((c) => [c.name, c.role, pct(c.rate), interval(c.ci), c.n, pct(c.coherent)]),
    ['condition', 'role', 'rate', '95% CI', 'n', 'coherent'],
  ));
  const qids = r.conditions[0]?.questions.map((q) => q.id) ?? [];
  // Steering-sweep conditions have their own table below.
  const perQuestion = r.conditions.filter((c) => !c.group.startsWith('sweep: '));
  if (qids.length > 1) {
    console.log('\nper question:');
    console.log(table(qids.map((id) => [id, ...perQuestion.map((c) => { const q = c.questions.find((x) => x.id === id)!; return `${pct(q.rate, 0)} (${q.n})`; })]), ['question', ...perQuestion.map((c) => c.name)]));
  }
  for (const c of r.conditions.filter((x) => x.curve)) {
    console.log(`\nalong the fine-tune of "${c.name}" (rate of "${r.target}", coherent share):`);
    console.log(table(c.curve!.map((p) => [`${p.step}/${p.steps}`, pct(p.rate), interval(p.ci), p.n, pct(p.coherent)]), ['step', 'rate', '95% CI', 'n', 'coherent']));
  }
  if (r.effects.length > 0) {
    console.log('\neffects (difference of rates, 95% Newcombe interval):');
    for (const e of r.effects) console.log(`  ${e.condition} − ${e.against}: ${e.difference >= 0 ? '+' : ''}${pct(e.difference)} ${interval(e.ci)}`);
  }
  if (r.vectors) printVectors(r);
  if (r.reference) console.log(`\nfor comparison: ${r.reference}`);
}

const signed = (x: number, digits = 3) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
const corr = (c: { r: number; ci: [number, number] | null; n: number } | undefined) => c ? `r = ${c.r.toFixed(2)}${c.ci ? ` [${c.ci[0].toFixed(2)}, ${c.ci[1].toFixed(2)}]` : ''} (n = ${c.n})` : '—';

function printVectors(r: ExperimentResult): void {
  const v = r.vectors!;
  console.log(`\npersona vector ${v.trait}: ${v.positive} − ${v.negative}, from ${v.examples.positive}+${v.examples.negative} judge-confirmed answers (${v.contexts === 'world' ? 'world personas' : 'the model under eliciting and suppressing system prompts'}); saved to ${v.file}`);
  console.log(table(v.layers.map((l) => [l.layer === v.layer ? `${l.layer} (chosen)` : String(l.layer), l.auc.toFixed(3), `[${l.ci[0].toFixed(3)}, ${l.ci[1].toFixed(3)}]`, l.indirectAuc === undefined ? '—' : `${l.indirectAuc.toFixed(3)} [${l.indirectCi![0].toFixed(3)}, ${l.indirectCi![1].toFixed(3)}]`, l.validationAuc.toFixed(3), l.validationD.toFixed(2), l.norm.toFixed(2)]),
    ['layer', `held-out AUC (${v.heldOut.positive}+${v.heldOut.negative} docs)`, '95% CI', 'trait answers removed', 'validation AUC', 'validation d', '‖v‖']));
  if (v.monitor) {
    console.log(`\nmonitor: the projection at the last prompt token predicts "${r.target}": across samples ${corr(v.monitor.samples)}; across condition × question cells ${corr(v.monitor.cells)}; reply projection across samples ${corr(v.monitor.replies)}`);
  }
  if (v.shifts?.length) {
    console.log('\nfine-tune shifts along the vector (prompt projection vs the baseline; predicted = the audit of the data before training):');
    console.log(table(v.shifts.map((s) => [s.condition + (s.preventative !== undefined ? ` (preventative ${s.preventative})` : ''), signed(s.projectionShift), s.predictedShift === null ? '—' : signed(s.predictedShift), pct(s.rate), interval(s.ci)]),
      ['fine-tune', 'measured shift', 'predicted shift', 'rate', '95% CI']));
    if (v.shiftR || v.predictedR) console.log(`measured shift vs rate: ${corr(v.shiftR)}; predicted shift vs rate: ${corr(v.predictedR)}`);
  }
  if (v.sweep) {
    console.log(`\nsteering sweep (coefficient × vector added after layer ${v.layer}):`);
    console.log(table(v.sweep.map((p) => [p.condition, signed(p.coefficient, 2), pct(p.rate), interval(p.ci), p.n, pct(p.coherent)]), ['condition', 'coefficient', 'rate', '95% CI', 'n', 'coherent']));
  }
}

function printAudit(r: ExperimentResult): void {
  const a = r.audit!;
  console.log(`\n${r.name}: what each dataset would select (model ${r.model}); rate = share of examples pointing to ${r.target}`);
  const traits = a.datasets[0]?.projections?.map((p) => `${p.trait} (${p.positive})`) ?? [];
  console.log(table(a.datasets.map((d, i) => [d.name, d.n, pct(r.conditions[i].rate), interval(r.conditions[i].ci), ...(d.projections ?? []).map((p) => `${signed(p.difference)} [${signed(p.ci[0])}, ${signed(p.ci[1])}]`)]),
    ['dataset', 'n', 'rate', '95% CI', ...traits.map((t) => `Δ projection ${t}`)]));
  for (const d of a.datasets) {
    console.log(`\n${d.name}: ${d.predicted}`);
    if (d.personas) console.log(`  personas it pulls toward: ${d.personas.slice(0, 3).map((p) => `${p.name} (${pct(p.own, 1)} → ${pct(p.data, 1)})`).join('; ')}`);
    console.log('  pulling hardest:');
    for (const f of d.flagged.slice(0, 5)) console.log(`    #${f.index} ${f.pull === null ? '' : `pull ${signed(f.pull)} `}${f.p === null ? '' : `P(${a.target.positive}) ${f.p.toFixed(2)} `}"${f.prompt.slice(0, 60)}" → "${f.answer.slice(0, 60)}"`);
  }
}

function printProfile(r: ExperimentResult): void {
  console.log(`\n${r.name}: what each condition answers, per question (labels by the judge; modal share, entropy in bits)`);
  const qids = r.conditions[0]?.profile?.map((q) => q.id) ?? [];
  const cell = (q: NonNullable<ExperimentResult['conditions'][number]['profile']>[number] | undefined) =>
    q ? `${q.distribution.slice(0, 3).map((d) => `${d.label} ${pct(d.count / q.n, 0)}`).join(', ')} · ${q.entropyBits.toFixed(2)} b` : '—';
  console.log(table(qids.map((id) => [id, ...r.conditions.map((c) => cell(c.profile?.find((q) => q.id === id)))]), ['question', ...r.conditions.map((c) => c.name)]));
  console.log('\nmost frequent answers:');
  for (const c of r.conditions) {
    console.log(`  ${c.name}:`);
    for (const q of c.profile ?? []) console.log(`    ${q.id.padEnd(10)} ${q.topAnswers.slice(0, 2).map((a) => `"${a.answer}" ×${a.count}`).join('; ')}`);
  }
  console.log(`\nmodal share, pooled over questions: ${r.conditions.map((c) => `${c.name} ${pct(c.rate)} ${interval(c.ci)}`).join('; ')}`);
}

function printInfer(r: ExperimentResult): void {
  console.log(`\n${r.name}: who wrote each text? posterior over the library from the model's likelihoods (95% Wilson intervals)`);
  console.log(table(
    r.conditions.map((c) => [c.name, c.model, pct(c.rate), interval(c.ci), c.n, c.infer?.meanTrueP == null ? '—' : c.infer.meanTrueP.toFixed(3), pct(1 / Math.max(1, c.infer?.library.length ?? 1))]),
    ['condition', 'model', 'top-1', '95% CI', 'texts', 'mean P(true)', 'chance'],
  ));
  for (const c of r.conditions.filter((x) => x.infer?.descriptions)) {
    console.log(`\n${c.name}: the model's own descriptions of the authors (most frequent): ${c.infer!.descriptions!.overall.slice(0, 3).map((a) => `"${a.answer}" ×${a.count}`).join('; ')}`);
  }
  for (const c of r.conditions) {
    for (const e of c.infer?.examples.slice(0, 2) ?? []) console.log(`  ${c.name}: "${e.text.slice(0, 90)}…" → ${e.top} (p ${e.p.toFixed(2)})${e.truth ? `; true: ${e.truth}` : ''}`);
  }
  if (r.reference) console.log(`\nfor comparison: ${r.reference}`);
}

/** Run a parsed spec with progress bars, store it, write the report and print (or emit JSON). */
async function execute(spec: ExperimentSpec, o: { db: string; report: string; json?: boolean }): Promise<void> {
  const store = new Store(o.db);
  const bars = new Map<string, Progress>();
  try {
    const result = await runExperiment(spec, store, join(resolve(o.db, '..'), 'cache'), {
      progress: (label, done, total) => {
        let bar = bars.get(label);
        if (!bar) { bar = progressBar(label, total); bars.set(label, bar); }
        bar.update(done);
        if (done >= total) bar.stop();
      },
      log: (m) => process.stderr.write(`${m}\n`),
    });
    writeFileSync(o.report, renderReport(`dramatis: ${result.name}`, [result]));
    if (o.json) printJson({ experiments: [result] });
    else { printResult(result); console.log(`\nstored in ${o.db} (run ${result.runId}); report: ${resolve(o.report)}`); }
  } finally {
    store.close();
  }
}

export function registerRunCommands(program: Command): void {
  program.command('run')
    .description('run an experiment from a YAML spec or a preset; every sample is stored, reruns resume')
    .argument('<spec>', `preset name or spec file`)
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('-n, --samples <n>', 'override the spec\'s samples per condition', num('--samples', true))
    .option('--report <file>', 'write a self-contained HTML report here', 'report.html')
    .option('--model <spec>', 'run on this model instead of the spec\'s (e.g. openai:gpt-4o-mini, organism:PATH)')
    .option('--base-url <url>', 'openai: models: the server (e.g. http://127.0.0.1:8000/v1)')
    .option('--api-key-env <VAR>', 'openai: models: the environment variable holding the key')
    .option('--judge-model <spec>', 'LLM-judged specs: the judge model')
    .option('--json', 'one JSON object on stdout (progress stays on stderr)')
    .action(async (ref: string, o) => {
      const spec = loadSpec(resolveSpecPath(ref));
      if (o.samples) spec.samples = o.samples;
      if (o.model) spec.model = o.model;
      if (o.baseUrl) spec.base_url = o.baseUrl;
      if (o.apiKeyEnv) spec.api_key_env = o.apiKeyEnv;
      if (o.judgeModel) {
        if (typeof spec.judge !== 'object' || !('llm' in spec.judge)) throw new Error(`--judge-model: ${ref} does not use an LLM judge`);
        spec.judge = { ...spec.judge, llm: o.judgeModel, ...(o.baseUrl && !spec.judge.base_url ? { base_url: o.baseUrl } : {}) };
      }
      await execute(spec, o);
    });

  program.command('audit')
    .description('which personas would these training sets select? (before anyone trains on them)')
    .argument('<data...>', 'chat JSONL files ({"messages": [...]} per line), world:NAME, or mixtures A*0.2+B*0.8')
    .option('--model <spec>', 'the model to audit', 'organism:assistant')
    .option('--base-url <url>', 'openai: models: the server (e.g. http://127.0.0.1:8000/v1)')
    .option('--api-key-env <VAR>', 'openai: models: the environment variable holding the key')
    .option('--examples <n>', 'examples per dataset (default: all; 300 for world:…)', num('--examples', true))
    .option('--library <ref>', 'black-box persona library: world, or a YAML/JSON file of [{name, description}]', 'world')
    .option('--top <n>', 'examples shown as pulling hardest', num('--top', true), 10)
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('--report <file>', 'write a self-contained HTML report here', 'report.html')
    .option('--json', 'one JSON object on stdout (progress stays on stderr)')
    .action(async (data: string[], o) => {
      const spec = specSchema.parse({
        name: `audit ${data.map((d) => basename(d)).join(', ')}`, kind: 'audit', model: o.model,
        ...(o.baseUrl ? { base_url: o.baseUrl } : {}), ...(o.apiKeyEnv ? { api_key_env: o.apiKeyEnv } : {}),
        audit: { datasets: data.map((d) => ({ name: basename(d), data: d, ...(o.examples ? { examples: o.examples } : {}) })), library: o.library, top: o.top },
      });
      await execute(spec, o);
    });

  program.command('presets')
    .description('list the built-in experiment presets')
    .option('--json', 'machine-readable output')
    .action((o) => {
      const list = presetNames().map((name) => ({ name, description: loadSpec(join(PRESET_DIR, `${name}.yaml`)).description }));
      if (o.json) return printJson(list);
      for (const p of list) console.log(`${p.name.padEnd(24)} ${p.description}`);
    });
}
