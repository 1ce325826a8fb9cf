/**
 * Persona vectors in and out of dramatis.
 *
 * The persona_vectors repository (the persona-vectors paper's code) keeps a trait's vector as one
 * float32 tensor [L+1, d], saved with torch.save: row 0 is the embedding output, row l the residual
 * stream after block l (Hugging Face's `hidden_states[l]`), and it steers with row l by adding it to
 * the output of block l (its ActivationSteerer hooks block l-1, 0-based). Here that layout lives in
 * safetensors under the key "persona_vector" (PERSONA_VECTORS_KEY); a .pt from the repository
 * converts with `safetensors.torch.save_file({"persona_vector": torch.load(f)}, out)` or goes straight
 * to a llama.cpp control vector with `python -m dramatis_worker.control_vector f.pt out.gguf`.
 *
 * dramatis's own files (persona-vector.ts) hold one tensor per layer, `layer.N`, with the same
 * indexing (layer 0 = embeddings, layer l = after block l, steering adds after block l) and the
 * provenance in the metadata. Converting is therefore a relabelling, rows for layers, and the
 * provenance travels in the stack file's metadata, so dramatis → stack → dramatis gives back the
 * same file contents.
 *
 * One difference in meaning, not in layout: in Hugging Face's GPT-2 and Llama, `hidden_states[L]`
 * (the last row) is taken after the final LayerNorm; dramatis's layer L is the raw residual before
 * it. Rows 0 … L-1 mean the same thing in both.
 *
 * llama.cpp control vectors (GGUF `direction.N`) are written and read by the Python worker
 * (worker/dramatis_worker/control_vector.py): direction.N is added after block N (0-based), i.e. our
 * row N+1, and rows 0 and 1 have no slot there.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../shared/safetensors.ts';
import { loadVector, saveVector, type PersonaVector } from './persona-vector.ts';

/** The tensor name of a [L+1, d] stack in safetensors (persona_vectors' torch tensor, renamed). */
export const PERSONA_VECTORS_KEY = 'persona_vector';
/** metadata.format of a stack this module wrote. */
export const STACK_FORMAT = 'persona_vectors';

export interface LayerStack {
  /** vectors[l]: layer l (0 = embeddings, l = after block l). */
  vectors: Float32Array[];
  metadata: Record<string, string>;
}

function writeAtomic(file: string, data: Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file + '.tmp', data);
  renameSync(file + '.tmp', file);
}

/** Write vectors [L+1][d] as one safetensors tensor "persona_vector" [L+1, d]. */
export function writeLayerStack(file: string, vectors: readonly Float32Array[], metadata: Record<string, string> = {}): void {
  if (vectors.length === 0) throw new Error(`${file}: no layers to write`);
  const d = vectors[0].length;
  const data = new Float32Array(vectors.length * d);
  vectors.forEach((v, l) => {
    if (v.length !== d) throw new Error(`${file}: layer ${l} has ${v.length} channels, layer 0 has ${d}`);
    data.set(v, l * d);
  });
  writeAtomic(file, encodeSafetensors(new Map([[PERSONA_VECTORS_KEY, { shape: [vectors.length, d], data }]]), { format: STACK_FORMAT, ...metadata }));
}

/**
 * Read a [L+1, d] stack: the "persona_vector" tensor, a file whose only tensor is 2-D, or a dramatis
 * vector file (`layer.N` tensors).
 */
export function readLayerStack(file: string): LayerStack {
  const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
  if (tensors.has('layer.0')) {
    const vectors: Float32Array[] = [];
    for (let l = 0; tensors.has(`layer.${l}`); l++) vectors.push(tensors.get(`layer.${l}`)!.data);
    return { vectors, metadata };
  }
  const t = tensors.get(PERSONA_VECTORS_KEY) ?? (tensors.size === 1 ? [...tensors.values()][0] : undefined);
  if (!t) throw new Error(`${file}: no tensor "${PERSONA_VECTORS_KEY}" and no layer.N tensors (has ${[...tensors.keys()].join(', ')})`);
  if (t.shape.length !== 2) throw new Error(`${file}: the vector stack has shape [${t.shape}], expected [layers+1, d]`);
  const [rows, d] = t.shape;
  return { vectors: Array.from({ length: rows }, (_, l) => t.data.slice(l * d, (l + 1) * d)), metadata };
}

/** The metadata keys of a dramatis vector file, kept in a stack under these names. */
const PROVENANCE_KEYS = ['model', 'fingerprint', 'trait', 'positive', 'negative', 'contexts', 'layer', 'layers', 'examples', 'held_out'] as const;

/** A dramatis vector file → the persona_vectors layout, the provenance in the metadata (`dramatis.*`). */
export function exportPersonaVector(dramatisFile: string, outFile: string): LayerStack {
  const raw = decodeSafetensors(readFileSync(dramatisFile), dramatisFile).metadata;
  const v = loadVector(dramatisFile);
  const metadata: Record<string, string> = { source_format: raw.format };
  for (const k of PROVENANCE_KEYS) if (raw[k] !== undefined) metadata[`dramatis.${k}`] = raw[k];
  writeLayerStack(outFile, v.vectors, metadata);
  return { vectors: v.vectors, metadata: { format: STACK_FORMAT, ...metadata } };
}

/** What a stack does not say about itself (everything, for one from persona_vectors). */
export interface StackInfo {
  trait?: PersonaVector['trait'];
  positive?: string;
  negative?: string;
  /** The layer to steer or monitor at by default (dramatis files record one; persona_vectors does not). */
  layer?: number;
  model?: string;
  fingerprint?: string;
  contexts?: PersonaVector['contexts'];
}

/**
 * A [L+1, d] stack as a PersonaVector: the provenance from the metadata when the stack came from
 * dramatis, `info` for the rest (and over it). A vector from elsewhere has no separation figures
 * (`layers` is empty) and no example counts.
 */
export function personaVectorFromStack(stack: LayerStack, info: StackInfo = {}, where = '<stack>'): PersonaVector {
  const m = stack.metadata;
  // A stack this module wrote keeps dramatis's keys as `dramatis.*`; a dramatis file read as a stack has them bare.
  const get = (k: string): string | undefined => m[`dramatis.${k}`] ?? (m.format === 'dramatis-persona-vector' ? m[k] : undefined);
  const parsed = <T>(k: string, otherwise: T): T => {
    const s = get(k);
    return s === undefined ? otherwise : (JSON.parse(s) as T);
  };
  const trait = info.trait ?? (get('trait') as PersonaVector['trait'] | undefined);
  const positive = info.positive ?? get('positive');
  const negative = info.negative ?? get('negative');
  const layer = info.layer ?? (get('layer') !== undefined ? Number(get('layer')) : undefined);
  const missing = Object.entries({ trait, positive, negative, layer })
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length) throw new Error(`${where}: the stack does not say its ${missing.join(', ')}; give ${missing.length > 1 ? 'them' : 'it'}`);
  const L = stack.vectors.length - 1;
  if (!Number.isInteger(layer) || layer! < 0 || layer! > L) throw new Error(`${where}: layer ${layer} is outside 0..${L}`);
  return {
    trait: trait!,
    positive: positive!,
    negative: negative!,
    model: info.model ?? get('model') ?? m.model ?? 'unknown',
    fingerprint: info.fingerprint ?? get('fingerprint') ?? '',
    contexts: info.contexts ?? (get('contexts') as PersonaVector['contexts'] | undefined) ?? 'system-prompts',
    layer: layer!,
    vectors: stack.vectors,
    layers: parsed('layers', []),
    examples: parsed('examples', { positive: 0, negative: 0 }),
    heldOut: parsed('held_out', { positive: 0, negative: 0 }),
  };
}

/** A [L+1, d] stack file → a dramatis vector file (usable as a steering or monitoring vector). */
export function importPersonaVector(stackFile: string, outFile: string, info: StackInfo = {}): PersonaVector {
  const v = personaVectorFromStack(readLayerStack(stackFile), info, stackFile);
  saveVector(outFile, v);
  return v;
}
