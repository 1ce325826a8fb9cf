/**
 * `dramatis run SPEC_OR_PRESET` and `dramatis presets`.
 */
import type { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../shared/paths.ts';
import { loadSpec, specOf, type ExperimentSpec } from '../experiments/spec.ts';
import { Store } from '../experiments/store.ts';
import { formatResult, runExperiment, type ExperimentResult } from '../experiments/runner.ts';
import { progressBars } from './progress.ts';
import { printJson, num } from './output.ts';

export const PRESET_DIR = join(PACKAGE_ROOT, 'presets');
export const DEFAULT_DB = 'runs/dramatis.db';

export function presetNames(): string[] {
  return readdirSync(PRESET_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A preset name or a path to a spec file. */
export function resolveSpecPath(ref: string): string {
  const preset = join(PRESET_DIR, `${ref}.yaml`);
  if (existsSync(preset)) return preset;
  if (existsSync(ref)) return resolve(ref);
  throw new Error(`no preset or spec file "${ref}"; presets: ${presetNames().join(', ')}`);
}

/** What `dramatis run` prints for a result: its kind's printer. */
export function printResult(r: ExperimentResult): void {
  console.log(formatResult(r));
}

/** Where a run's report goes unless `--report` says: beside the database, named after the run. */
export function defaultReportPath(db: string, runName: string): string {
  return join(dirname(resolve(db)), 'reports', `${runName.replace(/[^\w.-]+/g, '_')}.html`);
}

/** The viewer's report of these runs, as one self-contained file. */
export async function writeReport(db: string, runIds: string[], file: string): Promise<void> {
  const [{ ViewStore }, { renderViewReport }] = await Promise.all([import('../view/queries.ts'), import('../view/report.ts')]);
  const view = new ViewStore(resolve(db));
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, await renderViewReport(view, runIds));
  } finally {
    view.close();
  }
}

/** Run a parsed spec with progress bars, store it, write the report and print (or emit JSON). */
async function execute(spec: ExperimentSpec, o: { db: string; report?: string; json?: boolean }): Promise<void> {
  const store = new Store(o.db);
  try {
    const result = await runExperiment(spec, store, join(resolve(o.db, '..'), 'cache'), {
      progress: progressBars(),
      log: (m) => process.stderr.write(`${m}\n`),
    });
    store.close();
    const report = o.report ?? defaultReportPath(o.db, result.name);
    await writeReport(o.db, [result.runId], report);
    if (result.failed?.length) {
      const n = result.failed.reduce((a, f) => a + f.count, 0);
      process.stderr.write(
        `warning: ${n} samples failed for good and are left out of every figure (${result.failed.map((f) => `${f.unit}: ${f.count}, e.g. ${f.error}`).join('; ')}); rerun to retry only them\n`,
      );
      process.exitCode = 1;
    }
    if (o.json) printJson({ experiments: [result] });
    else {
      printResult(result);
      console.log(`\nstored in ${o.db} (run ${result.runId}); report: ${resolve(report)}`);
    }
  } finally {
    if (store.db.open) store.close();
  }
}

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('run an experiment from a YAML spec or a preset; every sample is stored, reruns resume')
    .argument('<spec>', `preset name or spec file`)
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('-n, --samples <n>', "answers per condition: a total, dealt round robin over the questions (overrides the spec's samples and the question file's samples_per_paraphrase)", num('--samples', true))
    .option('--report <file>', 'write the self-contained HTML report here (default: reports/NAME.html beside the database)')
    .option('--model <spec>', "run on this model instead of the spec's (e.g. openai:gpt-4o-mini, organism:PATH)")
    .option('--base-url <url>', 'openai: models: the server (e.g. http://127.0.0.1:8000/v1)')
    .option('--api-key-env <VAR>', 'openai: models: the environment variable holding the key')
    .option('--judge-model <spec>', 'LLM-judged specs: the judge model')
    .option('--request-timeout <s>', 'openai: models: seconds one attempt of a request may take (default 120)', num('--request-timeout'))
    .option('--max-retries <n>', 'openai: models: retries after the first attempt (default 5)', num('--max-retries', true))
    .option('--deadline <s>', 'openai: models: seconds a request may take in all, its retries and waits included', num('--deadline'))
    .option('--json', 'one JSON object on stdout (progress stays on stderr)')
    .action(async (ref: string, o) => {
      const spec = loadSpec(resolveSpecPath(ref));
      if (o.samples) spec.samples = o.samples;
      if (o.model) spec.model = o.model;
      if (o.baseUrl) spec.base_url = o.baseUrl;
      if (o.apiKeyEnv) spec.api_key_env = o.apiKeyEnv;
      const limits = {
        ...(o.requestTimeout !== undefined ? { timeout_s: o.requestTimeout } : {}),
        ...(o.maxRetries !== undefined ? { max_retries: o.maxRetries } : {}),
        ...(o.deadline !== undefined ? { deadline_s: o.deadline } : {}),
      };
      if (Object.keys(limits).length) spec.model = { ...(typeof spec.model === 'string' ? { id: spec.model } : spec.model), ...limits };
      if (o.judgeModel) {
        if (typeof spec.judge !== 'object' || !('llm' in spec.judge)) throw new Error(`--judge-model: ${ref} does not use an LLM judge`);
        spec.judge = { ...spec.judge, llm: o.judgeModel, ...(o.baseUrl && !spec.judge.base_url ? { base_url: o.baseUrl } : {}) };
      }
      await execute(spec, o);
    });

  program
    .command('audit')
    .description('which personas would these training sets select? (before anyone trains on them)')
    .argument('<data...>', 'chat JSONL files ({"messages": [...]} per line), world:NAME, or mixtures A*0.2+B*0.8')
    .option('--model <spec>', 'the model to audit', 'organism:assistant')
    .option('--base-url <url>', 'openai: models: the server (e.g. http://127.0.0.1:8000/v1)')
    .option('--api-key-env <VAR>', 'openai: models: the environment variable holding the key')
    .option('--examples <n>', 'examples per dataset (default: all; 300 for world:…)', num('--examples', true))
    .option('--library <ref>', 'black-box persona library: world, or a YAML/JSON file of [{name, description}]', 'world')
    .option('--top <n>', 'examples shown as pulling hardest', num('--top', true), 10)
    .option('--allow-unknown', 'audit data whose answer tokens are mostly unknown to the model (audit.allow_unknown: the result is marked meaningless)')
    .option('--db <file>', 'results database', DEFAULT_DB)
    .option('--report <file>', 'write the self-contained HTML report here (default: reports/NAME.html beside the database)')
    .option('--json', 'one JSON object on stdout (progress stays on stderr)')
    .action(async (data: string[], o) => {
      const spec = specOf({
        name: `audit ${data.map((d) => basename(d)).join(', ')}`,
        kind: 'audit',
        model: o.model,
        ...(o.baseUrl ? { base_url: o.baseUrl } : {}),
        ...(o.apiKeyEnv ? { api_key_env: o.apiKeyEnv } : {}),
        audit: {
          datasets: data.map((d) => ({ name: basename(d), data: d, ...(o.examples ? { examples: o.examples } : {}) })),
          library: o.library,
          top: o.top,
          ...(o.allowUnknown ? { allow_unknown: true } : {}),
        },
      });
      await execute(spec, o);
    });

  program
    .command('presets')
    .description('list the built-in experiment presets')
    .option('--json', 'machine-readable output')
    .action((o) => {
      const list = presetNames().map((name) => ({ name, description: loadSpec(join(PRESET_DIR, `${name}.yaml`)).description }));
      if (o.json) return printJson(list);
      for (const p of list) console.log(`${p.name.padEnd(24)} ${p.description}`);
    });
}
