/**
 * The model interfaces every backend implements, one per capability (as the Vercel AI SDK's provider
 * spec does): chat, scoring, white-box activations and steering, fine-tuning. Experiments see only these.
 */

/**
 * The integer seed of one sample: the engine gives each sample a run seed and a key of its own, a
 * server takes one integer per request. Every backend derives it the same way (shared/keys.ts), so a
 * sample drawn in process and one drawn through `dramatis serve` are the same.
 */
export { requestSeed } from '../shared/keys.ts';

import type { ChatMessage } from '../shared/chat.ts';
export type { ChatMessage };

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** Stop strings: the text ends before the first one that appears (any length; matched on the decoded text). */
  stop?: string[];
  seed?: number;
  /** Per-request seeds, so each sample is reproducible on its own (see the organism's sampler). */
  seeds?: (number | string)[];
  /**
   * The integer seed each row's request carries, already derived (what `requestSeed(seed, seeds[i])`
   * gives): `dramatis serve` passes the seeds its clients sent, so a served model samples as asked.
   */
  requestSeeds?: number[];
  /** Also return each generated token with its log-probability, and the prompt's length in tokens. */
  withTokens?: boolean;
  /**
   * Remote backends: a row whose request fails for good (retries spent) comes back as a generation with
   * `error` instead of failing the whole batch, so the rows that were answered are kept.
   */
  settle?: boolean;
  /** Called as each row completes (remote backends answer out of order), before the whole call returns. */
  onRow?: (index: number, generation: Generation) => void;
  /**
   * Called with each new piece of a row's answer as it is drawn, where the backend can (gguf:): the
   * pieces of a row join to a prefix of its final text (text that could still become a stop string is
   * held back until it cannot). A backend that cannot stream never calls it; `dramatis serve` then
   * sends the answer once it is drawn.
   */
  onText?: (index: number, delta: string) => void;
  /**
   * The live loop guard: checked on a row's answer so far, every few tokens, where the backend can
   * (the organism, gguf:, openai:, hf:, which say so with `Model.cuts`); when it says yes the row ends there with
   * finishReason `cut`. A model without `cuts` is never asked (the engine refuses the spec instead).
   */
  cutWhen?: (index: number, text: string) => boolean;
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
  /** `cut`: ended early by `cutWhen` (the live loop guard), not a finish of its own. */
  finishReason: 'stop' | 'length' | 'cut';
  tokens: number;
  /** With `topLogprobs`: the most probable tokens at each position; absent when the server gave none. */
  topLogprobs?: { token: string; logprob: number }[][];
  /** With `withTokens`, where the backend knows them: the generated tokens and each one's log-probability. */
  tokenTexts?: string[];
  tokenLogprobs?: number[];
  /** With `withTokens`: the prompt's length in tokens. */
  promptTokens?: number;
  /** With `settle`: why this row has no answer (it is not one: `text` is empty). */
  error?: string;
}

/** What a white-box model reads its residual stream on: a chat (its last reply averaged) or a raw text. */
export type ActivationInput = { messages: ChatMessage[] } | { text: string };

/** Per layer (0 = embeddings … L): the mean residual over the reply (or text) and the one at the last prompt token. */
export interface ActivationSummary {
  mean: Float32Array[];
  at: Float32Array[];
}

/** What a backend can do; a kind asks for what it needs (`requireCapability`). */
export interface Capabilities {
  chat: boolean;
  /** Continue a raw text (no chat template). */
  complete: boolean;
  /** Each token of a given text with its log-probability (what /v1/completions `echo` returns). */
  echo: boolean;
  /** Exact log-probability of a given continuation. */
  score: boolean;
  /** Residual-stream summaries (white-box). */
  activations: boolean;
  /** Vectors added to the residual stream while sampling (white-box). */
  steering: boolean;
  finetune: boolean;
}

/** Progress of a long step; a fine-tune also reports its metrics (e.g. `train_loss`) at each step. */
export type Progress = (done: number, total: number, metrics?: Record<string, number>) => void;

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
  /** Stops the fine-tune where it is, where the backend can (the promise then rejects). */
  signal?: AbortSignal;
  /** The caller accepts data the model mostly cannot read (the spec's `finetune.allow_unknown`; a served fine-tune is told so). */
  allowUnknown?: boolean | number;
}

/**
 * How much of some texts a model's tokenizer keeps, read as message content. Only a closed-vocabulary
 * model (the organism's word-level tokenizer) loses anything; byte-level tokenizers keep every text.
 */
export interface TokenCoverage {
  /** Tokens the texts make. */
  tokens: number;
  /** Of those, tokens the model cannot represent (the organism's `<unk>`): the text they stood for is lost. */
  unknown: number;
  /** Each lost word and how often it occurred. */
  unknownWords: Record<string, number>;
  /** Special-token strings in the texts (e.g. `<END>`), read as ordinary text, never as control tokens. */
  escaped: number;
}

/** A model part-way through the fine-tune that produced another: after `step` of `steps` optimizer steps. */
export interface Snapshot {
  step: number;
  steps: number;
  model: Model;
}

/**
 * A loaded model: what it is, what it can do, and the methods of those capabilities. Each capability
 * has its own interface below; a backend implements only what it can.
 */
export interface Model {
  /** The spec it was loaded from, e.g. `organism:assistant`. */
  readonly id: string;
  /**
   * What the model is, not what it is called: for a checkpoint, a hash of its weights. Stored samples
   * and cached fine-tunes are keyed by it, so a retrained model never reuses a stale result.
   */
  readonly fingerprint: string;
  readonly capabilities: Capabilities;
  /** For a fine-tuned model made with `snapshots`: the models along its fine-tune, in order, ending with itself. */
  readonly snapshots?: Snapshot[];
  /** How many rows one call should carry: remote backends take many and keep their requests in flight (default 64). */
  readonly rowsPerCall?: number;
  /** It checks `SamplingOptions.cutWhen` while it samples (the live loop guard can stop its answers early). */
  readonly cuts?: boolean;
  /**
   * For a fine-tuned model: how its fine-tune went (steps, tokens trained on, final loss), where known;
   * `unknownShare`: the share of the data's answer tokens its tokenizer could not represent (see tokenCoverage).
   */
  readonly training?: { steps: number; tokens: number | null; finalLoss: number | null; unknownShare?: number };
  /**
   * Where the model's tokenizer can lose text (a closed vocabulary): how much of these texts, read as
   * message content, it keeps. Absent: it loses nothing.
   */
  tokenCoverage?(texts: string[]): TokenCoverage;
  chat?(conversations: ChatMessage[][], o?: SamplingOptions, onProgress?: Progress): Promise<Generation[]>;
  score?(pairs: { prompt: string; continuation: string }[], onProgress?: Progress): Promise<{ logprob: number; tokens: number[] }[]>;
  complete?(prompts: string[], o?: SamplingOptions): Promise<Generation[]>;
  echo?(texts: string[]): Promise<{ tokens: string[]; logprobs: (number | null)[] }[]>;
  activations?(inputs: ActivationInput[], o?: { steering?: SteeringVector[] }, onProgress?: Progress): Promise<ActivationSummary[]>;
  finetune?(req: FinetuneRequest, onProgress?: Progress): Promise<Model>;
}

/** Samples replies to conversations (steering in the options needs `capabilities.steering`). */
export interface ChatModel extends Model {
  chat(conversations: ChatMessage[][], o?: SamplingOptions, onProgress?: Progress): Promise<Generation[]>;
}

/** Gives the exact log-probability of a continuation after a prompt. */
export interface ScoringModel extends Model {
  score(pairs: { prompt: string; continuation: string }[], onProgress?: Progress): Promise<{ logprob: number; tokens: number[] }[]>;
}

/** Continues raw texts. */
export interface CompletionModel extends Model {
  complete(prompts: string[], o?: SamplingOptions): Promise<Generation[]>;
}

/** Gives each token of a text with log p(token | the tokens before it); the first has none. */
export interface EchoModel extends Model {
  echo(texts: string[]): Promise<{ tokens: string[]; logprobs: (number | null)[] }[]>;
}

/** White-box: residual summaries per layer, optionally while steered. */
export interface WhiteBoxModel extends Model {
  activations(inputs: ActivationInput[], o?: { steering?: SteeringVector[] }, onProgress?: Progress): Promise<ActivationSummary[]>;
}

/** Can be fine-tuned into a new model. */
export interface FinetunableModel extends Model {
  finetune(req: FinetuneRequest, onProgress?: Progress): Promise<Model>;
}

interface CapabilityModels {
  chat: ChatModel;
  complete: CompletionModel;
  echo: EchoModel;
  score: ScoringModel;
  activations: WhiteBoxModel;
  steering: ChatModel;
  finetune: FinetunableModel;
}
export type Capability = keyof CapabilityModels;

const METHOD: Record<Capability, keyof Model> = {
  chat: 'chat',
  complete: 'complete',
  echo: 'echo',
  score: 'score',
  activations: 'activations',
  steering: 'chat',
  finetune: 'finetune',
};
const DOES: Record<Capability, string> = {
  chat: 'chat',
  complete: 'continue raw text',
  echo: 'give the log-probability of each token of a text',
  score: 'score a given text (log-probabilities)',
  activations: 'give activations (white-box)',
  steering: 'be steered (white-box)',
  finetune: 'be fine-tuned',
};

export function hasCapability<C extends Capability>(model: Model, c: C): model is CapabilityModels[C] {
  return model.capabilities[c] && typeof model[METHOD[c]] === 'function';
}

/** The model as the capability's interface, or an error naming the model, the missing capability and what needed it. */
export function requireCapability<C extends Capability>(model: Model, c: C, purpose: string): CapabilityModels[C] {
  if (!hasCapability(model, c)) throw new Error(`model ${model.id} cannot ${DOES[c]} (capability "${c}"), which ${purpose} needs`);
  return model;
}
