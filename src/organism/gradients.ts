/**
 * One training step's gradient, computed in length-sorted micro-batches and, optionally, spread over
 * worker threads (data parallelism).
 *
 * Why micro-batches: rows are whole documents of very different lengths and a batch is padded to its
 * longest row, so a third of a default pretraining batch is padding. Sorting the step's rows by length
 * and cutting them into micro-batches, each padded only to its own longest row, removes most of it. The
 * step still sees the same rows, so the gradient is the same sum (unlike bucketing across steps, which
 * changes which documents share a step).
 *
 * Why threads: tfjs-backend-wasm runs XNNPACK without a thread pool in Node, so one process uses one
 * core. Each worker thread runs its own tfjs-wasm instance and computes the gradients of the
 * micro-batches it is given; the main thread computes the rest. No library does this for tfjs-wasm in
 * Node, hence this module.
 *
 * Determinism: every micro-batch's gradient is summed in the plan's order whichever thread computed it,
 * and a micro-batch's gradient is bitwise the same on any thread (same wasm code, same inputs), so the
 * trained weights do not depend on the number of threads.
 */
import { Worker } from 'node:worker_threads';
import { tf } from './backend.ts';
import { forward, maskedCrossEntropy, type GptConfig, type Params, type Steering } from './model.ts';
import { makeBatch, disposeBatch, type Row } from './batches.ts';

/** The rows of one micro-batch, padded together. */
export type MicroBatch = Row[];

/**
 * Sort rows by length (longest first, stable) and cut them into micro-batches of `size` rows, so each
 * is padded only to its own longest row.
 */
export function planMicroBatches(rows: readonly Row[], size: number): MicroBatch[] {
  const sorted = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.ids.length - a.r.ids.length || a.i - b.i)
    .map((x) => x.r);
  const out: MicroBatch[] = [];
  for (let k = 0; k < sorted.length; k += Math.max(1, size)) out.push(sorted.slice(k, k + Math.max(1, size)));
  return out;
}

/** Relative cost of a micro-batch: matrix products scale with B·T, attention with B·T². */
function cost(mb: MicroBatch, nCtx: number): number {
  const T = Math.min(nCtx, Math.max(...mb.map((r) => r.ids.length - 1)));
  return mb.length * T * (1 + T / 512);
}

/** Assign micro-batches to `shards` threads, longest first to the least-loaded (LPT). Shard 0 is the main thread. */
export function assignShards(plan: readonly MicroBatch[], shards: number, nCtx: number): number[] {
  const load = new Array(shards).fill(0);
  const owner = new Array(plan.length).fill(0);
  const order = plan.map((mb, i) => ({ i, c: cost(mb, nCtx) })).sort((a, b) => b.c - a.c || a.i - b.i);
  for (const { i, c } of order) {
    // Ties go to a worker: the main thread also prepares batches and runs the optimizer.
    let best = shards - 1;
    for (let s = shards - 1; s >= 0; s--) if (load[s] < load[best]) best = s;
    owner[i] = best;
    load[best] += c;
  }
  return owner;
}

/** The weighted loss normaliser of the cross-entropy: max(Σ target weights, 1). */
function weightSum(mb: MicroBatch): number {
  let w = 0;
  for (const r of mb) {
    const n = r.ids.length - 1;
    if (r.targetWeights) for (let t = 0; t < n; t++) w += r.targetWeights[t];
    else w += n;
  }
  return w;
}

/** One micro-batch's result: un-normalised (loss and gradients scaled by max(W, 1)), so they add up. */
export interface MicroResult {
  lossSum: number;
  weight: number;
  realTokens: number;
  grads: tf.Tensor[];
}

/**
 * Loss and gradients of one micro-batch with respect to `trainable`, scaled by the micro-batch's own
 * normaliser so that results add up to the whole step's sum. `effective` maps the parameters to those
 * the model sees (adapters add their update there).
 */
export function microBatchGradient(
  config: GptConfig,
  effective: () => Params,
  trainable: tf.Variable[],
  mb: MicroBatch,
  padId: number,
  steering?: Steering[],
): MicroResult {
  const batch = makeBatch(mb, config.nCtx, padId);
  const w = weightSum(mb);
  const scale = Math.max(w, 1);
  const { value, grads } = tf.variableGrads(() => {
    const { logits } = forward(config, effective(), batch.inputs, { steering });
    return maskedCrossEntropy(logits, batch.targets, batch.weights);
  }, trainable);
  const lossSum = value.dataSync()[0] * scale;
  const scaled = trainable.map((v) => {
    const g = grads[v.name];
    const s = g.mul(scale);
    g.dispose();
    return s;
  });
  value.dispose();
  const realTokens = batch.realTokens;
  disposeBatch(batch);
  return { lossSum, weight: w, realTokens, grads: scaled };
}

/** Flatten tensors into one Float32Array (parameter order), e.g. to post to a worker. */
export function flatten(ts: readonly tf.Tensor[]): Float32Array {
  const n = ts.reduce((a, t) => a + t.size, 0);
  const out = new Float32Array(n);
  let off = 0;
  for (const t of ts) {
    out.set(t.dataSync() as Float32Array, off);
    off += t.size;
  }
  return out;
}

/** Split a flat Float32Array back into tensors of the given shapes. */
export function unflatten(flat: Float32Array, shapes: readonly number[][]): tf.Tensor[] {
  let off = 0;
  return shapes.map((s) => {
    const n = s.reduce((a, b) => a * b, 1);
    const t = tf.tensor(flat.subarray(off, off + n), s, 'float32');
    off += n;
    return t;
  });
}

/** What a worker sends back for each micro-batch it was given. */
export interface RemoteResult {
  index: number;
  lossSum: number;
  weight: number;
  realTokens: number;
  grads: Float32Array;
}

/** Messages between the main thread and a gradient worker. */
export type ToWorker = { id: number; params: Float32Array; microBatches: { index: number; rows: MicroBatch }[]; steering?: PlainSteering[] };
/** Steering as a worker message can carry it (plain numbers, no tensors). */
export type PlainSteering = { layer: number; vector: number[]; coefficient: number };
export type FromWorker = { id: number; results: RemoteResult[] } | { id: number; error: string } | { ready: true } | { fatal: string };

/** A gradient worker thread holding its own copy of the model (full-parameter training only). */
class GradientWorker {
  private worker: Worker;
  private pending = new Map<number, { resolve: (r: RemoteResult[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  readonly ready: Promise<void>;
  private failed?: Error;

  constructor(config: GptConfig, shapes: [string, number[]][], padId: number) {
    // The worker runs TypeScript like the rest of dramatis: register tsx inside it, then load the module.
    const tsx = import.meta.resolve('tsx/esm/api');
    const script = new URL('./gradient-worker.ts', import.meta.url).href;
    this.worker = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`, {
      eval: true,
      workerData: { config, shapes, padId },
    });
    let markReady!: () => void, markFailed!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      markReady = res;
      markFailed = rej;
    });
    this.ready.catch(() => {});
    const fail = (e: Error) => {
      this.failed = e;
      markFailed(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('message', (m: FromWorker) => {
      if ('ready' in m) return markReady();
      if ('fatal' in m) return fail(new Error(`gradient worker: ${m.fatal}`));
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(new Error(`gradient worker: ${m.error}`));
      else p.resolve(m.results);
    });
    this.worker.on('error', (e) => fail(new Error(`gradient worker crashed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (this.pending.size || code !== 0) fail(new Error(`gradient worker exited with code ${code}`));
    });
  }

  compute(params: Float32Array, microBatches: ToWorker['microBatches'], steering?: PlainSteering[]): Promise<RemoteResult[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, params, microBatches, steering } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.pending.clear();
    await this.worker.terminate();
  }
}

/** Sum of a step's micro-batch results, normalised: the gradient of the step's mean loss. */
export interface StepGradient {
  loss: number;
  realTokens: number;
  grads: tf.Tensor[];
}

/**
 * Computes step gradients over `threads` threads (the main thread plus threads − 1 workers). With
 * `threads` = 1 everything runs here; adapters (LoRA, persona-only) always run here.
 */
export class StepGradients {
  private workers: GradientWorker[] = [];
  private shapes: number[][];

  private constructor(
    private config: GptConfig,
    private effective: () => Params,
    private trainable: tf.Variable[],
    private padId: number,
    private microBatch: number,
    private steering?: PlainSteering[],
  ) {
    this.shapes = trainable.map((v) => v.shape);
  }

  static async create(o: {
    config: GptConfig;
    params: Params;
    effective: () => Params;
    trainable: tf.Variable[];
    padId: number;
    microBatch: number;
    threads: number;
    steering?: PlainSteering[];
  }): Promise<StepGradients> {
    const sg = new StepGradients(o.config, o.effective, o.trainable, o.padId, o.microBatch, o.steering);
    const fullParams = o.trainable.length === o.params.size && [...o.params.values()].every((v, i) => v === o.trainable[i]);
    if (o.threads > 1 && !fullParams) throw new Error('training threads > 1 need full-parameter training (not LoRA or persona-only)');
    if (o.threads > 1) {
      const shapes = [...o.params].map(([n, v]) => [n, v.shape] as [string, number[]]);
      sg.workers = Array.from({ length: o.threads - 1 }, () => new GradientWorker(o.config, shapes, o.padId));
      try {
        await Promise.all(sg.workers.map((w) => w.ready));
      } catch (e) {
        await sg.close();
        throw e;
      }
    }
    return sg;
  }

  async compute(rows: readonly Row[]): Promise<StepGradient> {
    const plan = planMicroBatches(rows, this.microBatch);
    const owner = assignShards(plan, this.workers.length + 1, this.config.nCtx);
    let remote: Promise<RemoteResult[]>[] = [];
    if (this.workers.length) {
      const params = flatten(this.trainable);
      remote = this.workers.map((w, k) => {
        const mine = plan.map((rows, index) => ({ index, rows })).filter(({ index }) => owner[index] === k + 1);
        return mine.length ? w.compute(params, mine, this.steering) : Promise.resolve([]);
      });
    }
    const results: (MicroResult | undefined)[] = new Array(plan.length);
    try {
      plan.forEach((mb, i) => {
        if (owner[i] === 0) results[i] = microBatchGradient(this.config, this.effective, this.trainable, mb, this.padId, this.steering);
      });
      for (const r of (await Promise.all(remote)).flat()) {
        results[r.index] = { lossSum: r.lossSum, weight: r.weight, realTokens: r.realTokens, grads: unflatten(r.grads, this.shapes) };
      }
    } catch (e) {
      for (const r of results) if (r) tf.dispose(r.grads);
      throw e;
    }
    // Sum in plan order, whichever thread computed each part (see the module comment).
    const done = results as MicroResult[];
    const weight = done.reduce((a, r) => a + r.weight, 0);
    const norm = 1 / Math.max(weight, 1);
    const grads = this.trainable.map((_, j) =>
      tf.tidy(() => {
        let acc = done[0].grads[j];
        for (let i = 1; i < done.length; i++) acc = acc.add(done[i].grads[j]);
        return acc.mul(norm);
      }),
    );
    const loss = done.reduce((a, r) => a + r.lossSum, 0) * norm;
    const realTokens = done.reduce((a, r) => a + r.realTokens, 0);
    for (const r of done) tf.dispose(r.grads);
    return { loss, realTokens, grads };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers = [];
  }
}
