/**
 * One interface for every model dramatis measures (in the spirit of the Vercel AI SDK's providers):
 * the in-process organism today, OpenAI-compatible servers next. Experiments see only this.
 */

import { createHash } from 'node:crypto';

/**
 * The integer seed of one sample: the engine gives each sample a run seed and a key of its own, a
 * server takes one integer per request. Every backend derives it the same way, so a sample drawn in
 * process and one drawn through `dramatis serve` are the same.
 */
export function requestSeed(seed: number | undefined, rowSeed: number | string | undefined): number {
  const h = createHash('sha256').update(`${seed ?? 0}:${rowSeed ?? 0}`).digest();
  return h.readUInt32BE(0) & 0x7fffffff;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** Single-token stop strings. */
  stop?: string[];
  seed?: number;
  /** Per-request seeds, so each sample is reproducible on its own (see the organism's sampler). */
  seeds?: (number | string)[];
  /** Also return the k most probable tokens at each generated position (judges read them). */
  topLogprobs?: number;
  /** White-box backends (capabilities.steering): add coefficient × vector to the residual stream after `layer`. */
  steering?: SteeringVector[];
}

export interface SteeringVector {
  /** 0 = the embeddings, L = after the last block. */
  layer: number;
  vector: number[];
  coefficient: number;
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  tokens: number;
  /** With `topLogprobs`: the most probable tokens at each position; absent when the server gave none. */
  topLogprobs?: { token: string; logprob: number }[][];
}

/** What a white-box model reads its residual stream on: a chat (its last reply averaged) or a raw text. */
export type ActivationInput = { messages: ChatMessage[] } | { text: string };

/** Per layer (0 = embeddings … L): the mean residual over the reply (or text) and the one at the last prompt token. */
export interface ActivationSummary {
  mean: Float32Array[];
  at: Float32Array[];
}

export interface Capabilities {
  chat: boolean;
  complete: boolean;
  /** Exact log-probability of a given continuation. */
  score: boolean;
  activations: boolean;
  steering: boolean;
  finetune: boolean;
}

export type Progress = (done: number, total: number) => void;

/** full: every weight; lora: low-rank updates; persona: one vector on the assistant role token's embedding. */
export type FinetuneMode = 'full' | 'lora' | 'persona';

export interface FinetuneRequest {
  /** Name of the data, for messages and the cache key. */
  dataName: string;
  chats: { messages: ChatMessage[] }[];
  mode: FinetuneMode;
  learningRate: number;
  epochs: number;
  batchSize: number;
  rank?: number;
  seed: number;
  /** Also keep the model at this many evenly spaced points along the fine-tune (see `Model.snapshots`). */
  snapshots?: number;
  /** White-box backends: preventative steering, added during training only. */
  steering?: SteeringVector[];
}

/** A model part-way through the fine-tune that produced another: after `step` of `steps` optimizer steps. */
export interface Snapshot {
  step: number;
  steps: number;
  model: Model;
}

export interface Model {
  /** The spec it was loaded from, e.g. `organism:assistant`. */
  readonly id: string;
  /**
   * What the model is, not what it is called: for a checkpoint, a hash of its weights. Stored samples
   * and cached fine-tunes are keyed by it, so a retrained model never reuses a stale result.
   */
  readonly fingerprint: string;
  readonly capabilities: Capabilities;
  chat(conversations: ChatMessage[][], o?: SamplingOptions, onProgress?: Progress): Promise<Generation[]>;
  complete(prompts: string[], o?: SamplingOptions, onProgress?: Progress): Promise<Generation[]>;
  score(pairs: { prompt: string; continuation: string }[], onProgress?: Progress): Promise<{ logprob: number; tokens: number[] }[]>;
  /** For a fine-tuned model made with `snapshots`: the models along its fine-tune, in order, ending with itself. */
  readonly snapshots?: Snapshot[];
  /** White-box backends (capabilities.activations): residual summaries per layer, optionally while steered. */
  activations?(inputs: ActivationInput[], o?: { steering?: SteeringVector[] }, onProgress?: Progress): Promise<ActivationSummary[]>;
  /** Residual stream width and number of layers (white-box backends). */
  readonly dimensions?: { nEmbd: number; nLayer: number };
  /** A new model: this one fine-tuned on the request's chats. */
  finetune?(req: FinetuneRequest, onProgress?: Progress): Promise<Model>;
}
