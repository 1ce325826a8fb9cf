/**
 * The organism as a backend: `organism:base`, `organism:assistant` or `organism:PATH`. Fine-tunes run
 * in process and are cached on disk under a key of everything that determines them, so a rerun of an
 * experiment trains nothing twice.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Organism, type TextSample } from '../organism/organism.ts';
import { finetune, type FinetuneOptions } from '../organism/stages.ts';
import { finetuneInWorker } from '../organism/finetune-thread.ts';
import { finetuneKey, requestSeed, weightsFingerprint } from '../shared/keys.ts';
import type {
  Capabilities,
  ChatMessage,
  ChatModel,
  CompletionModel,
  EchoModel,
  FinetunableModel,
  FinetuneRequest,
  Generation,
  Progress,
  SamplingOptions,
  ScoringModel,
  Snapshot,
  SteeringVector,
  ActivationInput,
  ActivationSummary,
  TokenCoverage,
  WhiteBoxModel,
} from './model.ts';

export const ORGANISM_CAPABILITIES: Capabilities = { chat: true, complete: true, echo: true, score: true, activations: true, steering: true, finetune: true };

/**
 * Each row's sampling stream: seeded by the integer a server request would carry for it (see
 * requestSeed), and nothing else, so in-process samples equal those drawn through `dramatis serve`.
 */
export function rowSeeds(o: SamplingOptions, n: number): { seed: number; seeds: number[] } {
  if (o.requestSeeds) {
    if (o.requestSeeds.length !== n) throw new Error(`requestSeeds: ${o.requestSeeds.length} seeds for ${n} rows`);
    return { seed: 0, seeds: o.requestSeeds };
  }
  return { seed: 0, seeds: Array.from({ length: n }, (_, i) => requestSeed(o.seed, o.seeds?.[i] ?? i)) };
}

export class OrganismModel implements ChatModel, CompletionModel, EchoModel, ScoringModel, WhiteBoxModel, FinetunableModel {
  readonly capabilities = ORGANISM_CAPABILITIES;
  /** The live loop guard (`cutWhen`) is checked as each answer grows. */
  readonly cuts = true;
  readonly fingerprint: string;
  snapshots?: Snapshot[];
  training?: { steps: number; tokens: number | null; finalLoss: number | null; unknownShare?: number };
  private constructor(
    readonly id: string,
    readonly organism: Organism,
    private readonly cacheDir: string,
    /** Fine-tune on a worker thread (a server must keep answering while it trains). */
    private readonly trainInWorker = false,
  ) {
    this.fingerprint = weightsFingerprint(readFileSync(join(organism.path, 'model.safetensors')));
  }

  /** `name` is `base`, `assistant` or a checkpoint folder. */
  static async load(name: string, cacheDir: string, o: { trainInWorker?: boolean } = {}): Promise<OrganismModel> {
    return new OrganismModel(`organism:${name}`, await Organism.load(name), cacheDir, o.trainInWorker);
  }

  async chat(conversations: ChatMessage[][], o: SamplingOptions = {}, onProgress?: Progress): Promise<Generation[]> {
    this.checkSteering(o.steering);
    if (o.settle) {
      // A prompt longer than the context fails for good: with `settle` it fails its own row (named by the
      // caller, stored apart), not the batch, as a remote backend's request that fails for good does.
      const nCtx = this.organism.config.nCtx;
      const lengths = conversations.map((c) => this.organism.tokenizer.encodeChat(c, { generationPrompt: true }).ids.length);
      const fit = lengths.map((n, i) => (n < nCtx ? i : -1)).filter((i) => i >= 0);
      if (fit.length < conversations.length) {
        const out: Generation[] = lengths.map((n) => ({
          text: '',
          finishReason: 'length',
          tokens: 0,
          error: `prompt of ${n} tokens leaves no room in the context of ${nCtx}`,
        }));
        // Each answered row keeps the seed it would have had in the whole batch.
        const { seeds } = rowSeeds(o, conversations.length);
        const answered = fit.length
          ? await this.chat(
              fit.map((i) => conversations[i]),
              {
                ...o,
                seeds: undefined,
                requestSeeds: fit.map((i) => seeds[i]),
                settle: false,
                onRow: undefined,
                cutWhen: o.cutWhen && ((k: number, text: string) => o.cutWhen!(fit[k], text)),
              },
              onProgress,
            )
          : [];
        fit.forEach((i, k) => (out[i] = answered[k]));
        out.forEach((g, i) => o.onRow?.(i, g));
        return out;
      }
    }
    const samples = await this.organism.chat(conversations, { ...o, ...rowSeeds(o, conversations.length), onProgress });
    return samples.map((s, i) => ({
      ...generation(s, o),
      ...(o.withTokens ? { promptTokens: this.organism.tokenizer.encodeChat(conversations[i], { generationPrompt: true }).ids.length } : {}),
    }));
  }

  async complete(prompts: string[], o: SamplingOptions = {}): Promise<Generation[]> {
    this.checkSteering(o.steering);
    const samples = await this.organism.complete(prompts, { ...o, ...rowSeeds(o, prompts.length) });
    return samples.map((s, i) => ({ ...generation(s, o), ...(o.withTokens ? { promptTokens: this.organism.tokenizer.encode(prompts[i]).ids.length } : {}) }));
  }

  /**
   * The organism's word-level tokenizer knows only Personaworld's words: any other word is `<unk>`, its
   * text lost. How many tokens of these texts (read as message content) that is.
   */
  tokenCoverage(texts: string[]): TokenCoverage {
    return this.organism.tokenizer.coverage(texts);
  }

  echo(texts: string[]): Promise<{ tokens: string[]; logprobs: (number | null)[] }[]> {
    return this.organism.tokenLogprobs(texts);
  }

  private checkSteering(steering: SteeringVector[] | undefined): void {
    const { nEmbd, nLayer } = this.organism.config;
    for (const s of steering ?? []) {
      if (s.vector.length !== nEmbd) throw new Error(`steering vector of length ${s.vector.length}; ${this.id} has a residual stream of ${nEmbd}`);
      if (s.layer > nLayer) throw new Error(`steering layer ${s.layer}; ${this.id} has layers 0 (embeddings) to ${nLayer}`);
    }
  }

  async activations(inputs: ActivationInput[], o: { steering?: SteeringVector[] } = {}, onProgress?: Progress): Promise<ActivationSummary[]> {
    this.checkSteering(o.steering);
    return this.organism.activationSummaries(inputs, { steering: o.steering, onProgress });
  }

  async score(pairs: { prompt: string; continuation: string }[], onProgress?: Progress) {
    return (await this.organism.score(pairs, { onProgress })).map((r) => ({ logprob: r.total, tokens: r.tokens }));
  }

  async finetune(req: FinetuneRequest, onProgress?: Progress): Promise<OrganismModel> {
    const key = finetuneKey({
      from: this.fingerprint,
      mode: req.mode,
      learningRate: req.learningRate,
      epochs: req.epochs,
      batchSize: req.batchSize,
      rank: req.rank,
      seed: req.seed,
      chats: req.chats,
      snapshots: req.snapshots ?? 0,
      steering: req.steering,
    });
    const out = join(this.cacheDir, 'finetunes', key);
    this.checkSteering(req.steering);
    if (!existsSync(join(out, 'config.json'))) {
      mkdirSync(join(this.cacheDir, 'finetunes'), { recursive: true });
      const train = this.trainInWorker
        ? (opts: FinetuneOptions, p: { onStep: (s: { step: number; steps: number; loss: number }) => void }) => finetuneInWorker(opts, p.onStep, req.signal)
        : finetune;
      try {
        await train(
          {
            from: this.organism.path,
            out,
            data: { name: req.dataName, chats: req.chats },
            epochs: req.epochs,
            batchSize: req.batchSize,
            learningRate: req.learningRate,
            lora: req.mode === 'lora' ? (req.rank ?? 4) : undefined,
            personaOnly: req.mode === 'persona',
            oov: 'unk',
            seed: req.seed,
            snapshots: req.snapshots,
            steering: req.steering,
            command: `(experiment fine-tune of ${this.id} on ${req.dataName})`,
          },
          { onStep: (s) => onProgress?.(s.step + 1, s.steps, { train_loss: s.loss }) },
        );
      } catch (e) {
        // A stopped fine-tune leaves no half-written checkpoint to be mistaken for a finished one.
        if (req.signal?.aborted) rmSync(out, { recursive: true, force: true });
        throw e;
      }
    }
    const id = `${this.id}+ft(${req.dataName})`;
    const model = new OrganismModel(id, await Organism.load(out), this.cacheDir, this.trainInWorker);
    const p = model.organism.ck.provenance;
    model.training = {
      steps: Number(p.steps),
      tokens: typeof p.tokens === 'number' ? p.tokens : null,
      finalLoss: typeof p.finalLoss === 'number' ? p.finalLoss : null,
      ...(typeof p.unknownShare === 'number' ? { unknownShare: p.unknownShare } : {}),
    };
    if (req.snapshots) {
      const steps = Number(model.organism.ck.provenance.steps);
      const dir = join(out, 'snapshots');
      const taken = existsSync(dir)
        ? readdirSync(dir)
            .map((d) => Number(d.replace('step-', '')))
            .filter(Number.isFinite)
            .sort((a, b) => a - b)
        : [];
      model.snapshots = [];
      for (const step of taken)
        model.snapshots.push({ step, steps, model: new OrganismModel(`${id}@${step}`, await Organism.load(join(dir, `step-${step}`)), this.cacheDir) });
      model.snapshots.push({ step: steps, steps, model });
    }
    return model;
  }
}

/** An organism sample as a backend's generation (token details only when asked for). */
function generation(s: TextSample, o: SamplingOptions): Generation {
  return {
    text: s.text,
    finishReason: s.finishReason,
    tokens: s.tokens,
    ...(s.topLogprobs ? { topLogprobs: s.topLogprobs } : {}),
    ...(o.withTokens ? { tokenTexts: s.tokenTexts, tokenLogprobs: s.tokenLogprobs } : {}),
  };
}
