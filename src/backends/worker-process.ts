/**
 * The Python model worker (worker/, PyTorch + transformers + peft) as a child process on loopback:
 * found, started, waited for, and stopped with this process. One worker per model file and device,
 * however many conditions use it (fine-tuned adapters live inside it, served by name).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { PACKAGE_ROOT } from '../shared/paths.ts';

/** What the worker says once it listens (its first stdout line). */
export interface WorkerHello {
  event: 'listening';
  host: string;
  port: number;
  model: string;
  device: string;
  n_layers: number;
  d_model: number;
  vocab_size: number;
}

export interface StartedWorker {
  url: string;
  hello: WorkerHello;
  /** The last lines it wrote to stderr (for errors). */
  stderrTail(): string;
  /** Calls `listener` with each JSON event the worker logs (e.g. `finetune_step`) until the returned function is called. */
  onEvent(listener: (e: { event: string } & Record<string, unknown>) => void): () => void;
  stop(): void;
}

export const WORKER_VENV = join(PACKAGE_ROOT, 'worker', '.venv');
const SETUP_HINT =
  'run `npx dramatis worker setup` (it makes worker/.venv with PyTorch 2.13.0, transformers and peft), or set DRAMATIS_WORKER_PYTHON to a Python that has the worker installed';

/** The interpreter the worker runs with unless told otherwise: $DRAMATIS_WORKER_PYTHON, or the project's own venv. */
export const defaultWorkerPython = (): string => process.env.DRAMATIS_WORKER_PYTHON ?? join(WORKER_VENV, 'bin', 'python');

/** The interpreter to run the worker with (the option, else the default), or a message saying what to run. */
export function workerPython(given?: string): string {
  const python = given ?? defaultWorkerPython();
  if (!existsSync(python)) throw new Error(`the hf: backend needs its Python worker, and there is no Python at ${python}: ${SETUP_HINT}`);
  return python;
}

/** That the worker's packages import (`python -m dramatis_worker check`): a clear message, not a traceback later. */
export function checkWorker(python: string): string {
  const r = spawnSync(python, ['-m', 'dramatis_worker', 'check'], { encoding: 'utf8', env: workerEnv(), timeout: 120_000 });
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`the hf: backend's Python worker does not run under ${python} (${why}): ${SETUP_HINT}`);
  }
  return r.stdout.trim();
}

/** No model hub is ever asked: everything the worker loads is a local file. */
function workerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', PYTHONUNBUFFERED: '1', PYTHONPATH: join(PACKAGE_ROOT, 'worker') };
}

/** How to start a worker: the model, the interpreter, the device and precision, where it caches, its threads. */
export interface WorkerOptions {
  modelPath: string;
  python?: string;
  device?: string;
  dtype?: string;
  cacheDir: string;
  threads?: number;
}

const running = new Map<string, Promise<StartedWorker>>();

/** A worker serving `modelPath`, started once per process and stopped when the process exits. */
export function startWorker(o: WorkerOptions): Promise<StartedWorker> {
  const modelPath = resolve(o.modelPath);
  const key = JSON.stringify([modelPath, o.python, o.device, o.dtype, o.threads]);
  let found = running.get(key);
  if (!found) {
    found = spawnWorker({ ...o, modelPath });
    running.set(key, found);
    found.catch(() => running.delete(key));
  }
  return found;
}

async function spawnWorker(o: WorkerOptions): Promise<StartedWorker> {
  const python = workerPython(o.python);
  checkWorker(python);
  const args = ['-m', 'dramatis_worker', 'serve', '--model', o.modelPath, '--host', '127.0.0.1', '--port', '0', '--cache', resolve(o.cacheDir, 'worker')];
  if (o.device) args.push('--device', o.device);
  if (o.dtype) args.push('--dtype', o.dtype);
  // One core left to the rest of the machine: PyTorch's CPU kernels slow down by an order of magnitude
  // when their threads compete with another busy process (seen here: a 31-token prefill 4 s with 2
  // threads on 2 busy cores, 0.17 s with 1).
  args.push('--threads', String(o.threads ?? Math.max(1, availableParallelism() - 1)));
  // stdin stays open: the worker exits when it closes, so it never outlives this process.
  const child: ChildProcess = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env: workerEnv() });
  const tail: string[] = [];
  const listeners = new Set<(e: { event: string } & Record<string, unknown>) => void>();
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      tail.push(line);
      // The worker logs JSON lines (worker/PROTOCOL.md); anything else (a traceback) is only kept for errors.
      if (listeners.size && line.startsWith('{'))
        try {
          const e = JSON.parse(line) as { event: string } & Record<string, unknown>;
          for (const l of listeners) l(e);
        } catch {
          /* not an event */
        }
    }
    if (tail.length > 40) tail.splice(0, tail.length - 40);
    if (process.env.DRAMATIS_WORKER_LOG) process.stderr.write(chunk);
  });
  const stop = () => {
    if (child.exitCode === null && !child.killed) child.kill('SIGTERM');
  };
  process.once('exit', stop);
  const hello = await new Promise<WorkerHello>((resolveHello, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    const onData = (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      try {
        const h = JSON.parse(out.slice(0, nl)) as WorkerHello;
        if (h.event !== 'listening' || !h.port) throw new Error(`unexpected first line ${out.slice(0, nl)}`);
        resolveHello(h);
      } catch (e) {
        reject(new Error(`the Python worker for ${o.modelPath} said ${JSON.stringify(out.slice(0, 200))}, not that it listens: ${(e as Error).message}`));
      }
    };
    child.stdout!.on('data', onData);
    child.once('error', (e) => reject(new Error(`could not start the Python worker (${python}): ${e.message}`)));
    child.once('exit', (code) =>
      reject(new Error(`the Python worker for ${o.modelPath} exited (code ${code}) before it listened: ${tail.slice(-5).join(' | ') || 'no output'}`)),
    );
  });
  child.stdout!.resume();
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return {
    url: `http://${hello.host}:${hello.port}`,
    hello,
    stderrTail: () => tail.slice(-8).join('\n'),
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    stop,
  };
}
