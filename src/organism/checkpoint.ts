/**
 * Checkpoints: a folder with `model.safetensors` (tensor names = Hugging Face GPT-2 names, weights
 * [in, out] as in GPT-2's Conv1D), `config.json` (architecture + provenance) and `vocab.json`.
 * The safetensors reader/writer is in safetensors.ts.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { tf } from './backend.ts';
import { parameterShapes, type GptConfig, type Params } from './model.ts';
import { Tokenizer } from './tokenizer.ts';

export const gptConfigSchema = z.object({
  vocabSize: z.number().int().positive(),
  nCtx: z.number().int().positive(),
  nEmbd: z.number().int().positive(),
  nLayer: z.number().int().positive(),
  nHead: z.number().int().positive(),
});

/** Where a checkpoint came from: enough to regenerate it. */
export interface Provenance {
  stage: 'pretrain' | 'posttrain' | 'finetune' | 'test';
  /** The command line that produced it. */
  command: string;
  seed: number;
  parent?: string;
  createdAt: string;
  /** Stage-specific details: world config, steps, tokens seen, final loss, probe figures, … */
  [key: string]: unknown;
}

const configFileSchema = z.object({
  format: z.literal('dramatis-organism/1'),
  model: gptConfigSchema,
  provenance: z.record(z.string(), z.unknown()),
});

export interface Checkpoint {
  config: GptConfig;
  params: Params;
  tokenizer: Tokenizer;
  provenance: Provenance;
}

// The safetensors codec lives apart (no tfjs), so light modules can read vector files without it.
import { encodeSafetensors, decodeSafetensors, type TensorMap } from '../shared/safetensors.ts';
import { packageRelative } from '../shared/paths.ts';
export { encodeSafetensors, decodeSafetensors };

/** Write atomically (temp file + rename), so a run killed mid-save never leaves a torn checkpoint. */
function writeAtomic(path: string, data: string | Buffer): void {
  writeFileSync(path + '.tmp', data);
  renameSync(path + '.tmp', path);
}

export async function saveCheckpoint(dir: string, ck: Checkpoint): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors: TensorMap = new Map();
  for (const [name] of parameterShapes(ck.config)) {
    const v = ck.params.get(name);
    if (!v) throw new Error(`saveCheckpoint: missing parameter ${name}`);
    tensors.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
  }
  writeAtomic(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  writeAtomic(join(dir, 'vocab.json'), JSON.stringify(ck.tokenizer.vocab) + '\n');
  // The parent's path relative to the package when inside it: the file ships, the machine's paths do not.
  const provenance = ck.provenance.parent ? { ...ck.provenance, parent: packageRelative(ck.provenance.parent) } : ck.provenance;
  writeAtomic(join(dir, 'config.json'), JSON.stringify({ format: 'dramatis-organism/1', model: ck.config, provenance }, null, 2) + '\n');
}

export function readCheckpointConfig(dir: string): { config: GptConfig; provenance: Provenance } {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`no organism checkpoint at ${dir} (missing config.json)`);
  const parsed = configFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: invalid checkpoint config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { config: parsed.data.model, provenance: parsed.data.provenance as Provenance };
}

export function loadCheckpoint(dir: string): Checkpoint {
  const { config, provenance } = readCheckpointConfig(dir);
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as string[];
  const tokenizer = new Tokenizer(vocab);
  if (tokenizer.size !== config.vocabSize) throw new Error(`${dir}: vocab.json has ${tokenizer.size} tokens, config says ${config.vocabSize}`);
  const file = join(dir, 'model.safetensors');
  const { tensors } = decodeSafetensors(readFileSync(file), file);
  const params: Params = new Map();
  for (const [name, shape] of parameterShapes(config)) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${file}: missing tensor ${name}`);
    if (t.shape.join() !== shape.join()) throw new Error(`${file}: tensor ${name} has shape [${t.shape}], expected [${shape}]`);
    params.set(name, tf.variable(tf.tensor(t.data, shape), true));
  }
  return { config, params, tokenizer, provenance };
}

const TRAIN_STATE_FILE = 'train-state.safetensors';

/**
 * Save the optimizer moments next to a checkpoint, so an interrupted run resumes where it stopped.
 * `names` gives the trainable variables' parameter names in the optimizer's order.
 */
export async function saveTrainState(dir: string, names: string[], state: { step: number; tokens: number; m: tf.Tensor[]; s: tf.Tensor[] }): Promise<void> {
  const tensors: TensorMap = new Map();
  for (const [i, name] of names.entries()) {
    tensors.set(`m.${name}`, { shape: state.m[i].shape, data: (await state.m[i].data()) as Float32Array });
    tensors.set(`s.${name}`, { shape: state.s[i].shape, data: (await state.s[i].data()) as Float32Array });
  }
  writeAtomic(join(dir, TRAIN_STATE_FILE), encodeSafetensors(tensors, { step: String(state.step), tokens: String(state.tokens) }));
}

export function loadTrainState(dir: string, names: string[]): { step: number; tokens: number; m: tf.Tensor[]; s: tf.Tensor[] } | undefined {
  const file = join(dir, TRAIN_STATE_FILE);
  if (!existsSync(file)) return undefined;
  const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
  const get = (key: string) => {
    const t = tensors.get(key);
    if (!t) throw new Error(`${file}: missing ${key}; delete the file to start over`);
    return tf.tensor(t.data, t.shape);
  };
  return { step: Number(metadata.step), tokens: Number(metadata.tokens), m: names.map((n) => get(`m.${n}`)), s: names.map((n) => get(`s.${n}`)) };
}

export function removeTrainState(dir: string): void {
  rmSync(join(dir, TRAIN_STATE_FILE), { force: true });
}
