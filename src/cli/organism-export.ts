/**
 * `dramatis organism export --from assistant --format hf|gguf --out PATH`: the organism as a Hugging
 * Face GPT-2 folder (src/organism/export-hf.ts), or as a llama.cpp GGUF, which the Python worker
 * converts from that folder (worker/dramatis_worker/export_gguf.py; the folder goes to a temporary
 * directory first). What is exact and what approximates is said in those two files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { exportHuggingFace } from '../organism/export-hf.ts';
import { resolveCheckpoint } from '../organism/organism.ts';
import { workerPython } from '../backends/worker-process.ts';
import { PACKAGE_ROOT } from '../shared/paths.ts';
import { printJson } from './output.ts';

export type ExportFormat = 'hf' | 'gguf';

export interface ExportResult {
  format: ExportFormat;
  from: string;
  out: string;
  files: string[];
}

/** Run `python -m dramatis_worker.export_gguf HF_DIR OUT` (offline, the worker on PYTHONPATH). */
export function convertToGguf(hfDir: string, out: string, python = workerPython()): void {
  const r = spawnSync(python, ['-m', 'dramatis_worker.export_gguf', hfDir, out], {
    encoding: 'utf8',
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', PYTHONPATH: join(PACKAGE_ROOT, 'worker') },
    timeout: 600_000,
  });
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-5).join('\n  ');
    throw new Error(`GGUF conversion failed (${python} -m dramatis_worker.export_gguf, exit ${r.status}):\n  ${why}`);
  }
}

/** Export a checkpoint (a built-in name or a folder). */
export async function exportOrganism(o: { from: string; format: ExportFormat; out: string; python?: string }): Promise<ExportResult> {
  const dir = resolveCheckpoint(o.from);
  const out = resolve(o.out);
  if (o.format === 'hf') return { format: 'hf', from: dir, out, files: await exportHuggingFace(dir, out) };
  if (o.format !== 'gguf') throw new Error(`--format ${o.format as string}: expected hf or gguf`);
  let python: string; // before any work: a missing Python says how to get one
  try {
    python = workerPython(o.python);
  } catch (e) {
    throw new Error(`--format gguf runs the Python worker: ${(e as Error).message.replace(/^the hf: backend needs its Python worker, and /, '')}`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'dramatis-export-'));
  try {
    await exportHuggingFace(dir, tmp);
    convertToGguf(tmp, out, python);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { format: 'gguf', from: dir, out, files: [out] };
}

/** Adds `export` to the `dramatis organism` command. */
export function registerOrganismExport(org: Command): void {
  org
    .command('export')
    .description('write a checkpoint as a Hugging Face GPT-2 folder (hf) or a llama.cpp GGUF (gguf, needs the Python worker)')
    .option('--from <model>', 'checkpoint (name or folder)', 'assistant')
    .requiredOption('--format <format>', 'hf or gguf')
    .requiredOption('--out <path>', 'the folder (hf) or file (gguf) to write')
    .option('--python <path>', 'the Python with the worker installed (default: $DRAMATIS_WORKER_PYTHON or worker/.venv)')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      if (o.format !== 'hf' && o.format !== 'gguf') throw new Error(`--format ${o.format}: expected hf or gguf`);
      const r = await exportOrganism({ from: o.from, format: o.format, out: o.out, python: o.python });
      if (o.json) return printJson(r);
      const size = r.files.reduce((n, f) => n + statSync(f).size, 0);
      console.log(`${r.from} → ${r.out} (${r.format}, ${r.files.length} file${r.files.length === 1 ? '' : 's'}, ${(size / 1e6).toFixed(1)} MB)`);
    });
}
