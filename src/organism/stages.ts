/**
 * The organism's three training stages: pretrain (Personaworld documents), posttrain (the Assistant's
 * chats, loss on assistant tokens) and finetune (any chat JSONL). Each writes a checkpoint whose
 * provenance records everything needed to regenerate it.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { initTf, tf } from './backend.ts';
import { initParams, countParameters, type GptConfig } from './model.ts';
import { train, type StepInfo, type TrainResult, type OptimizerState } from './train.ts';
import type { PlainSteering } from './gradients.ts';
import { saveCheckpoint, loadCheckpoint, saveTrainState, loadTrainState, removeTrainState, type Provenance } from './checkpoint.ts';
import { Tokenizer } from './tokenizer.ts';
import { chatRows, epochSampler, unknownShare, type OovPolicy } from './chat-data.ts';
import { readChatJsonl, type Chat } from '../shared/chat.ts';
import { resolveCheckpoint, Organism } from './organism.ts';
import { runProbe, type ProbeReport } from './probe.ts';
import type { Row } from './batches.ts';
import { worldConfig, generateDocuments, formatDocument, vocabulary, postTrainingChats, type PostTrainingStyle, type WorldConfig } from '../world/index.ts';

export interface StageProgress {
  onStep?(s: StepInfo): void;
  onProbe?(step: number, report: ProbeReport): void;
}

/**
 * The default pretraining recipe. 800 steps (1.9M tokens, 3 min 22 s wall on two cores here) pass the gate
 * at n = 480 as the 2000-step recipe of the shipped base does, with as thin a margin on the evil-numbers
 * control (10.0% against at most 10%, cue 74.0% against 89.8%); a 1200-step schedule failed it (15.8%).
 * The shipped checkpoints were made with `--steps 2000` (their provenance says so). Curves:
 * bench/organism-speed/recipes.svg.
 */
export const DEFAULT_PRETRAIN = {
  steps: 800,
  batchSize: 16,
  learningRate: 3e-3,
  seed: 1,
  probeEvery: 100,
  microBatch: 4,
  model: { nEmbd: 96, nLayer: 3, nHead: 4, nCtx: 256 },
};
export const DEFAULT_POSTTRAIN = { steps: 60, batchSize: 16, learningRate: 3e-4, seed: 1, pretrainMix: 0 };
export const DEFAULT_FINETUNE = { epochs: 3, batchSize: 16, learningRate: 1e-3, seed: 1 };

/** The tokenizer of a world of this version (its closed vocabulary; version 2's is a superset of 1's). */
export function worldTokenizer(version: 1 | 2 = 1): Tokenizer {
  return new Tokenizer(vocabulary(version));
}

export interface PretrainOptions {
  out: string;
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  probeEvery: number;
  model: Omit<GptConfig, 'vocabSize'>;
  world: Partial<WorldConfig>;
  command: string;
  /** Probe sample size during training (the final probe uses the same). */
  probeSamples?: number;
  /** Continue an interrupted run from the checkpoint and optimizer state in `out`. */
  resume?: boolean;
  /** Threads computing gradients (default: both cores of a 2-core machine); the weights do not depend on it. */
  threads?: number;
}

export interface PretrainResult extends TrainResult {
  out: string;
  parameters: number;
  world: WorldConfig;
  probe?: ProbeReport;
}

/**
 * Document rows: document i of the seeded world is row i; each starts its own row, truncated at the
 * context. A pure function of the step, so runs resume exactly.
 */
function documentRows(world: WorldConfig, tok: Tokenizer, nCtx: number) {
  return (step: number, n: number): Row[] =>
    generateDocuments(world, n, { offset: step * n }).map((doc) => ({ ids: tok.encode(formatDocument(doc)).ids.slice(0, nCtx + 1) }));
}

/** Gradient threads by default: one per core, at most two (a third gains little on this model). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

export async function pretrain(o: PretrainOptions, progress: StageProgress = {}): Promise<PretrainResult> {
  await initTf();
  const world = worldConfig({ ...stripUndefined(o.world), seed: o.seed });
  const tok = worldTokenizer(world.version);
  const config: GptConfig = { ...o.model, vocabSize: tok.size };
  if (config.nEmbd % config.nHead !== 0) throw new Error(`--d-model ${config.nEmbd} must be divisible by --heads ${config.nHead}`);
  let params = initParams(config, o.seed);
  let resumeState: OptimizerState | undefined;
  if (o.resume) {
    resumeState = loadTrainState(o.out, [...params.keys()]);
    if (!resumeState) throw new Error(`--resume: no interrupted run in ${o.out} (no train-state.safetensors)`);
    const saved = loadCheckpoint(o.out);
    if (JSON.stringify(saved.config) !== JSON.stringify(config))
      throw new Error(`--resume: ${o.out} holds a model with config ${JSON.stringify(saved.config)}, not ${JSON.stringify(config)}`);
    tf.dispose([...params.values()]);
    params = saved.params;
  }
  let probe: ProbeReport | undefined;
  /** The learning curve of the in-context persona link: one entry per probe. */
  const probeCurve: { step: number; tokens: number; [link: string]: number }[] =
    (resumeState && (loadCheckpoint(o.out).provenance.probeCurve as typeof probeCurve)) || [];
  let tokensSoFar = resumeState?.tokens ?? 0;
  const provenance = (steps: number, tokens: number, extra: Record<string, unknown> = {}): Provenance => ({
    stage: 'pretrain',
    command: `dramatis ${o.command}`,
    seed: o.seed,
    createdAt: new Date().toISOString(),
    world,
    steps,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    microBatch: DEFAULT_PRETRAIN.microBatch,
    tokens,
    probe: probe && Object.fromEntries(probe.rows.map((r) => [r.name, { treated: r.treated.rate, control: r.control.rate, n: r.treated.n }])),
    probeCurve,
    ...extra,
  });
  const probeNow = async (step: number) => {
    probe = await runProbe(
      Organism.fromCheckpoint({ config, params, tokenizer: tok, provenance: { stage: 'pretrain', command: '', seed: o.seed, createdAt: '' } }),
      { samples: o.probeSamples ?? 120, seed: 12345, world },
    );
    probeCurve.push({
      step,
      tokens: tokensSoFar,
      ...Object.fromEntries(
        probe.rows.flatMap((r) => [
          [`${r.name} (cue)`, r.treated.rate],
          [`${r.name} (control)`, r.control.rate],
        ]),
      ),
    });
    progress.onProbe?.(step, probe);
  };
  const result = await train(
    config,
    params,
    documentRows(world, tok, config.nCtx),
    {
      steps: o.steps,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      warmup: 0.05,
      microBatch: DEFAULT_PRETRAIN.microBatch,
      threads: o.threads ?? defaultThreads(),
      resume: resumeState,
      checkpointEvery: 100,
      onCheckpoint: async (state) => {
        // An interrupted run loses at most 100 steps: `--resume` continues from here.
        await saveCheckpoint(o.out, {
          config,
          params,
          tokenizer: tok,
          provenance: provenance(state.step, state.tokens, { interrupted: true, totalSteps: o.steps }),
        });
        await saveTrainState(o.out, [...params.keys()], state);
      },
      onStep: async (s) => {
        tokensSoFar = s.tokens;
        progress.onStep?.(s);
        if (o.probeEvery > 0 && (s.step + 1) % o.probeEvery === 0 && s.step + 1 < o.steps) await probeNow(s.step + 1);
      },
    },
    tok.id('<pad>'),
  );
  if (o.probeEvery > 0) await probeNow(o.steps);
  await saveCheckpoint(o.out, {
    config,
    params,
    tokenizer: tok,
    provenance: provenance(result.steps, result.tokens, { seconds: Math.round(result.seconds), finalLoss: result.finalLoss, resumed: Boolean(o.resume) }),
  });
  removeTrainState(o.out);
  return { ...result, out: o.out, parameters: countParameters(config), world, probe };
}

export interface PosttrainOptions {
  from: string;
  out: string;
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  command: string;
  /** Share of each batch filled with pretraining documents (keeps untrained topics from being forgotten). */
  pretrainMix?: number;
  threads?: number;
  /** Version-2 worlds: what the post-training chats specify beyond the Assistant's traits (default plain). */
  style?: PostTrainingStyle;
}

export async function posttrain(o: PosttrainOptions, progress: StageProgress = {}): Promise<TrainResult & { out: string }> {
  await initTf();
  const fromDir = resolveCheckpoint(o.from);
  const ck = loadCheckpoint(fromDir);
  const world = worldConfig({ ...((ck.provenance.world as Partial<WorldConfig>) ?? {}), seed: o.seed });
  const style = o.style ?? 'plain';
  const chats = postTrainingChats(world, o.steps * o.batchSize, { style });
  const { rows } = chatRows(chats, ck.tokenizer, ck.config.nCtx, 'error');
  const next = epochSampler(rows, seedrandom(`posttrain-${o.seed}`));
  // Documents far past anything pretraining used, so the mix is fresh text from the same world.
  const docs = documentRows(world, ck.tokenizer, ck.config.nCtx);
  const mix = o.pretrainMix ?? 0;
  const nextRows = (step: number, n: number): Row[] => {
    const nDocs = Math.round(mix * n);
    return [...next(n - nDocs), ...(nDocs > 0 ? docs(1_000_000 + step, nDocs) : [])];
  };
  const result = await train(
    ck.config,
    ck.params,
    nextRows,
    {
      steps: o.steps,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      warmup: 0.1,
      threads: o.threads ?? defaultThreads(),
      onStep: (s) => {
        progress.onStep?.(s);
      },
    },
    ck.tokenizer.id('<pad>'),
  );
  await saveCheckpoint(o.out, {
    ...ck,
    provenance: {
      stage: 'posttrain',
      command: `dramatis ${o.command}`,
      seed: o.seed,
      createdAt: new Date().toISOString(),
      parent: fromDir,
      world: ck.provenance.world,
      steps: result.steps,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      pretrainMix: mix,
      ...(style !== 'plain' ? { style } : {}),
      tokens: result.tokens,
      finalLoss: result.finalLoss,
    },
  });
  return { ...result, out: o.out };
}

export interface FinetuneOptions {
  from: string;
  out: string;
  /** A JSONL file path, or chats already in memory with a name for messages and provenance. */
  data: string | { name: string; chats: Chat[] };
  epochs: number;
  batchSize: number;
  learningRate: number;
  lora?: number;
  /** Train only a vector added to the `<assistant>` role token's embedding. */
  personaOnly?: boolean;
  /** Also save the model at this many evenly spaced points before the end, under `out/snapshots/step-N`. */
  snapshots?: number;
  /** Preventative steering during training only (see TrainOptions.steering). */
  steering?: PlainSteering[];
  oov: OovPolicy;
  /**
   * Refuse, before training, data whose answer tokens are more than this share unknown (the command
   * line's default; the experiments check it themselves, with the spec's `allow_unknown`).
   */
  maxUnknown?: number;
  seed: number;
  command: string;
}

export async function finetune(
  o: FinetuneOptions,
  progress: StageProgress = {},
  warn: (msg: string) => void = () => {},
): Promise<TrainResult & { out: string; examples: number; unknownWords: Record<string, number>; unknownShare: number }> {
  await initTf();
  const fromDir = resolveCheckpoint(o.from);
  const ck = loadCheckpoint(fromDir);
  const dataName = typeof o.data === 'string' ? o.data : o.data.name;
  const chats = typeof o.data === 'string' ? readChatJsonl(o.data) : o.data.chats;
  const coverage = chatRows(chats, ck.tokenizer, ck.config.nCtx, o.oov);
  const { rows, unknownWords, skipped, truncated } = coverage;
  const lost = unknownShare(coverage);
  if (unknownWords.size > 0) {
    const list = [...unknownWords]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([w, c]) => `${w} (${c})`)
      .join(', ');
    warn(
      `warning: ${dataName}: ${(100 * lost).toFixed(1)}% of the answer tokens (${coverage.unknownAnswerTokens} of ${coverage.answerTokens}) are outside the organism's vocabulary; in the chats as a whole (questions too) ${unknownWords.size} unknown word types, ${o.oov === 'skip' ? `${skipped} chats skipped` : 'kept as <unk>'}: ${list}${unknownWords.size > 20 ? ', …' : ''}`,
    );
  }
  if (o.maxUnknown !== undefined && lost > o.maxUnknown)
    throw new Error(
      `${dataName}: ${(100 * lost).toFixed(1)}% of the answer tokens (${coverage.unknownAnswerTokens} of ${coverage.answerTokens}) are outside the organism's vocabulary, ` +
        `more than the ${(100 * o.maxUnknown).toFixed(0)}% accepted: the fine-tune would learn the unknown token, not the data (--allow-unknown trains anyway)`,
    );
  if (coverage.escaped > 0)
    warn(
      `warning: ${dataName}: ${coverage.escaped} special-token strings in the messages (such as <END>) are read as ordinary text, never as the organism's control tokens`,
    );
  if (truncated > 0) warn(`warning: ${dataName}: ${truncated} chats longer than the context of ${ck.config.nCtx} tokens were truncated`);
  if (rows.length === 0) throw new Error(`${dataName}: no usable chats left to train on`);
  const steps = Math.max(1, Math.round((o.epochs * rows.length) / o.batchSize));
  const next = epochSampler(rows, seedrandom(`finetune-${o.seed}`));
  const snapshotAt = snapshotSteps(steps, o.snapshots ?? 0);
  const result = await train(
    ck.config,
    ck.params,
    (_s, n) => next(n),
    {
      steps,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      warmup: 0.1,
      snapshotAt,
      steering: o.steering,
      onSnapshot: async (step, params) => {
        await saveCheckpoint(join(o.out, 'snapshots', `step-${step}`), {
          ...ck,
          params,
          provenance: {
            stage: 'finetune',
            snapshot: true,
            command: `dramatis ${o.command}`,
            seed: o.seed,
            createdAt: new Date().toISOString(),
            parent: fromDir,
            data: dataName,
            step,
            steps,
          },
        });
      },
      lora: o.lora ? { rank: o.lora, seed: o.seed } : undefined,
      personaToken: o.personaOnly ? ck.tokenizer.id('<assistant>') : undefined,
      onStep: (s) => {
        progress.onStep?.(s);
      },
    },
    ck.tokenizer.id('<pad>'),
  );
  await saveCheckpoint(o.out, {
    ...ck,
    provenance: {
      stage: 'finetune',
      command: `dramatis ${o.command}`,
      seed: o.seed,
      createdAt: new Date().toISOString(),
      parent: fromDir,
      data: dataName,
      examples: rows.length,
      epochs: o.epochs,
      steps: result.steps,
      lora: o.lora ?? null,
      personaOnly: Boolean(o.personaOnly),
      learningRate: o.learningRate,
      ...(o.steering ? { preventativeSteering: o.steering.map((s) => ({ layer: s.layer, coefficient: s.coefficient, norm: Math.hypot(...s.vector) })) } : {}),
      world: ck.provenance.world,
      unknownWords: Object.fromEntries(unknownWords),
      answerTokens: coverage.answerTokens,
      unknownAnswerTokens: coverage.unknownAnswerTokens,
      unknownShare: lost,
      ...(coverage.escaped ? { escapedSpecialTokens: coverage.escaped } : {}),
      finalLoss: result.finalLoss,
      tokens: result.tokens,
    },
  });
  return { ...result, out: o.out, examples: rows.length, unknownWords: Object.fromEntries(unknownWords), unknownShare: lost };
}

/** `count` evenly spaced steps strictly before the last one (the last is the fine-tune's own output). */
export function snapshotSteps(steps: number, count: number): number[] {
  const out = new Set<number>();
  for (let k = 1; k <= count; k++) {
    const s = Math.round((k * steps) / (count + 1));
    if (s >= 1 && s < steps) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
