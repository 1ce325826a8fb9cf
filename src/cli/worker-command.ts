/**
 * `dramatis worker`: the Python model worker behind the hf: backend. `setup` makes its virtual
 * environment (worker/.venv: PyTorch 2.13.0 CPU, transformers, peft, pinned in worker/pyproject.toml),
 * `check` says whether it runs, `serve` runs it in the foreground (e.g. on a GPU node, reached with
 * `model: {id: hf:PATH, url: http://node:PORT}`).
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../shared/paths.ts';
import { WORKER_VENV, checkWorker, workerPython } from '../backends/worker-process.ts';

function run(cmd: string, args: string[]): void {
  process.stderr.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} … failed (${r.error?.message ?? `exit ${r.status}`})`);
}

export function registerWorker(program: Command): void {
  const worker = program.command('worker').description('the Python worker (PyTorch + transformers + peft) behind the hf: backend');
  worker
    .command('setup')
    .description('create worker/.venv and install the worker with its pinned packages (torch 2.13.0 CPU)')
    .option('--python <python>', 'the Python 3.10+ to build the environment from', 'python3')
    .action((o: { python: string }) => {
      const py = join(WORKER_VENV, 'bin', 'python');
      if (!existsSync(py)) run(o.python, ['-m', 'venv', WORKER_VENV]);
      run(py, ['-m', 'pip', 'install', '--quiet', '--upgrade', 'pip']);
      run(py, ['-m', 'pip', 'install', '--quiet', '-e', `${join(PACKAGE_ROOT, 'worker')}[test]`]);
      process.stdout.write(`${checkWorker(py)}\nthe worker is ready: ${py}\n`);
    });
  worker
    .command('check')
    .description('say whether the worker runs, and with which packages')
    .action(() => {
      process.stdout.write(`${checkWorker(workerPython())}\n`);
    });
  worker
    .command('serve')
    .description('run the worker in the foreground (the hf: backend reaches it with `url:`)')
    .requiredOption('--model <path>', 'a Hugging Face folder or a GGUF file')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free one)', '8765')
    .option('--device <device>', 'cpu, cuda or auto', 'auto')
    .option('--cache <dir>', 'where converted models and adapters are kept', 'runs/cache/worker')
    .action((o: { model: string; host: string; port: string; device: string; cache: string }) => {
      const py = workerPython();
      const r = spawnSync(
        py,
        ['-m', 'dramatis_worker', 'serve', '--model', o.model, '--host', o.host, '--port', o.port, '--device', o.device, '--cache', o.cache],
        {
          stdio: 'inherit',
          env: { ...process.env, HF_HUB_OFFLINE: '1', PYTHONPATH: join(PACKAGE_ROOT, 'worker') },
        },
      );
      process.exitCode = r.status ?? 1;
    });
}
