/**
 * The training loop, nanoGPT-style: AdamW (decoupled weight decay on matrices only), linear warm-up then
 * cosine decay, global-norm gradient clipping, and a seeded data order. Used by all three stages
 * (pretrain, posttrain, finetune); what differs is the row source and which parameters train.
 *
 * AdamW is our own (kernels/adamw.ts: one fused kernel per parameter on wasm, tf ops elsewhere)
 * because tfjs's Adam has neither decoupled weight decay nor a settable schedule.
 */
import { tf } from './backend.ts';
import type { GptConfig, Params } from './model.ts';
import type { Row } from './batches.ts';
import { StepGradients, type PlainSteering } from './gradients.ts';
import { adamwStep } from './kernels/adamw.ts';

export interface TrainOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  /** Fraction of steps (or absolute count if ≥ 1) spent warming up. */
  warmup?: number;
  /** Final learning rate as a fraction of the peak. */
  minLrFraction?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  gradClip?: number;
  /** Low-rank adaptation instead of full updates: rank and which weights. */
  lora?: { rank: number; alpha?: number; seed?: number };
  /** Persona-only: train nothing but a vector added to this token's embedding row. */
  personaToken?: number;
  /** Rows per micro-batch: a step's rows are sorted by length and padded in groups this size (default 4). */
  microBatch?: number;
  /** Threads computing gradients (default 1); > 1 spawns worker threads (full-parameter training only). */
  threads?: number;
  /** Continue a run from saved optimizer state (the data source must be a function of the step). */
  resume?: OptimizerState;
  /** Called every `checkpointEvery` steps with the state needed to resume. */
  checkpointEvery?: number;
  onCheckpoint?: (state: OptimizerState) => Promise<void>;
  /** After these steps (1-based counts), `onSnapshot` gets the parameters the model then has (adapters applied). */
  snapshotAt?: number[];
  onSnapshot?: (step: number, params: Params) => Promise<void>;
  /**
   * Preventative steering: add coefficient × vector to the residual stream after `layer` in every
   * training forward pass (not at inference), so the optimiser need not move the weights along it.
   */
  steering?: PlainSteering[];
  /** Called after every step. Return `false` to stop early. */
  onStep?: (s: StepInfo) => void | boolean | Promise<void | boolean>;
}

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
}

/** AdamW moments (in trainable-variable order) and the number of steps already taken. */
export interface OptimizerState {
  step: number;
  tokens: number;
  m: tf.Tensor[];
  s: tf.Tensor[];
}

export interface TrainResult {
  steps: number;
  tokens: number;
  finalLoss: number;
  seconds: number;
}

/** Learning rate at `step` (0-based): linear warm-up, then cosine decay to minLrFraction·peak. */
export function learningRateAt(step: number, o: Pick<TrainOptions, 'steps' | 'learningRate' | 'warmup' | 'minLrFraction'>): number {
  const warm = o.warmup === undefined ? Math.round(0.05 * o.steps) : o.warmup >= 1 ? o.warmup : Math.round(o.warmup * o.steps);
  const minLr = o.learningRate * (o.minLrFraction ?? 0.1);
  if (step < warm) return (o.learningRate * (step + 1)) / warm;
  const progress = o.steps - warm <= 1 ? 1 : (step - warm) / (o.steps - warm - 1);
  return minLr + 0.5 * (o.learningRate - minLr) * (1 + Math.cos(Math.PI * Math.min(1, progress)));
}

const LORA_TARGETS = /attn\.c_attn\.weight$|attn\.c_proj\.weight$|mlp\.c_fc\.weight$|mlp\.c_proj\.weight$/;

/**
 * A parameter-efficient update: a few trainable variables, the parameters the model sees while they
 * train, and how they fold into the weights at the end.
 */
interface Adapter {
  trainable: tf.Variable[];
  effective(params: Params): Params;
  merge(params: Params): void;
}

/** LoRA (Hu et al. 2021) on the attention and MLP matrices: A random, B zero, so training starts at the base model. */
function loraAdapter(params: Params, rank: number, alpha: number, seed: number): Adapter {
  const pairs: { name: string; a: tf.Variable; b: tf.Variable; scale: number }[] = [];
  let k = 0;
  for (const [name, w] of params) {
    if (!LORA_TARGETS.test(name)) continue;
    const [nIn, nOut] = w.shape;
    pairs.push({
      name,
      scale: alpha / rank,
      a: tf.variable(tf.randomNormal([nIn, rank], 0, 1 / Math.sqrt(nIn), 'float32', seed * 7919 + k++), true),
      b: tf.variable(tf.zeros([rank, nOut]), true),
    });
  }
  const delta = (p: (typeof pairs)[number]) => tf.matMul(p.a, p.b).mul(p.scale);
  return {
    trainable: pairs.flatMap((p) => [p.a, p.b]),
    effective(ps) {
      const eff: Params = new Map(ps);
      for (const p of pairs) eff.set(p.name, ps.get(p.name)!.add(delta(p)) as tf.Variable);
      return eff;
    },
    merge(ps) {
      tf.tidy(() => {
        for (const p of pairs) ps.get(p.name)!.assign(ps.get(p.name)!.add(delta(p)));
      });
    },
  };
}

/**
 * Persona-only: train one vector added to a single token's embedding row (the `<assistant>` role
 * token): the smallest intervention that can move "who is speaking". The embedding is tied, so the
 * vector also shifts that token's output logit, in training and after the merge alike.
 */
function rowAdapter(params: Params, tokenId: number): Adapter {
  const [V, d] = params.get('wte.weight')!.shape;
  const v = tf.variable(tf.zeros([1, d]), true);
  const oneHot = tf.keep(
    tf
      .oneHot(tf.tensor1d([tokenId], 'int32'), V)
      .transpose()
      .toFloat(),
  ); // [V, 1]
  const delta = () => tf.matMul(oneHot, v);
  return {
    trainable: [v],
    effective(ps) {
      return new Map(ps).set('wte.weight', ps.get('wte.weight')!.add(delta()) as tf.Variable);
    },
    merge(ps) {
      tf.tidy(() => ps.get('wte.weight')!.assign(ps.get('wte.weight')!.add(delta())));
      oneHot.dispose();
    },
  };
}

/**
 * Train `params` in place on batches drawn from `nextRows` (called once per step with the batch size).
 * With LoRA, the low-rank update is merged into the weights at the end.
 */
export async function train(
  config: GptConfig,
  params: Params,
  nextRows: (step: number, batchSize: number) => Row[],
  opts: TrainOptions,
  padId: number,
): Promise<TrainResult> {
  const beta1 = opts.beta1 ?? 0.9,
    beta2 = opts.beta2 ?? 0.95,
    eps = 1e-8;
  const wd = opts.weightDecay ?? 0.1,
    clip = opts.gradClip ?? 1.0;
  if (opts.lora && opts.personaToken !== undefined) throw new Error('train: choose LoRA or persona-only, not both');
  const adapter = opts.lora
    ? loraAdapter(params, opts.lora.rank, opts.lora.alpha ?? opts.lora.rank * 2, opts.lora.seed ?? 0)
    : opts.personaToken !== undefined
      ? rowAdapter(params, opts.personaToken)
      : undefined;
  const trainable: tf.Variable[] = adapter ? adapter.trainable : [...params.values()];
  if (opts.resume && opts.resume.m.length !== trainable.length)
    throw new Error(`resume: optimizer state holds ${opts.resume.m.length} moments for ${trainable.length} variables`);
  const m = trainable.map((v, i) => tf.variable(opts.resume ? opts.resume.m[i] : tf.zerosLike(v), false));
  const s = trainable.map((v, i) => tf.variable(opts.resume ? opts.resume.s[i] : tf.zerosLike(v), false));
  // Decay matrices only: biases, LayerNorm gains and (as in nanoGPT) nothing 1-D.
  const decays = trainable.map((v) => v.shape.length >= 2);
  const effective = adapter ? () => adapter.effective(params) : () => params;
  const gradients = await StepGradients.create({
    config,
    params,
    effective,
    trainable,
    padId,
    microBatch: opts.microBatch ?? 4,
    threads: opts.threads ?? 1,
    steering: opts.steering,
  });
  const start = performance.now();
  let tokens = opts.resume?.tokens ?? 0,
    lastLoss = NaN,
    step = opts.resume?.step ?? 0;
  const tokensAtStart = tokens;
  try {
    for (; step < opts.steps; step++) {
      const lr = learningRateAt(step, opts);
      const { loss, realTokens, grads: gradList } = await gradients.compute(nextRows(step, opts.batchSize));
      const gradNorm = tf.tidy(() => tf.sqrt(tf.addN(gradList.map((g) => tf.sum(tf.square(g)))))) as tf.Scalar;
      const norm = (await gradNorm.data())[0];
      const scale = norm > clip ? clip / norm : 1;
      const t = step + 1;
      const bc1 = 1 - beta1 ** t,
        bc2 = 1 - beta2 ** t;
      tf.tidy(() => {
        trainable.forEach((v, i) => {
          // One fused pass per parameter on wasm (kernels/adamw.ts), the same float ops as adamwRef.
          const [vi, mi, si] = adamwStep(v, gradList[i], m[i], s[i], { scale, beta1, beta2, bc1, bc2, eps, wd: decays[i] ? wd : 0, lr });
          m[i].assign(mi);
          s[i].assign(si);
          v.assign(vi);
        });
      });
      gradNorm.dispose();
      tf.dispose(gradList);
      tokens += realTokens;
      lastLoss = loss;
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step}: loss ${loss}`);
      const elapsed = (performance.now() - start) / 1000;
      const cont = await opts.onStep?.({
        step,
        steps: opts.steps,
        loss,
        lr,
        gradNorm: norm,
        tokens,
        tokensPerSecond: (tokens - tokensAtStart) / elapsed,
        elapsedSeconds: elapsed,
      });
      if (opts.onCheckpoint && opts.checkpointEvery && (step + 1) % opts.checkpointEvery === 0 && step + 1 < opts.steps) {
        await opts.onCheckpoint({ step: step + 1, tokens, m, s });
      }
      if (opts.onSnapshot && opts.snapshotAt?.includes(step + 1)) {
        const eff = effective();
        try {
          await opts.onSnapshot(step + 1, eff);
        } finally {
          for (const [name, v] of eff) if (v !== params.get(name)) v.dispose();
        }
      }
      if (cont === false) {
        step++;
        break;
      }
    }
  } finally {
    await gradients.close();
  }
  if (adapter) {
    adapter.merge(params);
    tf.dispose(adapter.trainable);
  }
  tf.dispose([...m, ...s]);
  return { steps: step, tokens, finalLoss: lastLoss, seconds: (performance.now() - start) / 1000 };
}
