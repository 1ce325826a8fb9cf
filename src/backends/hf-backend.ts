/**
 * A Hugging Face model, white-box (`hf:PATH`): a local transformers folder (safetensors) or a GGUF
 * file (transformers dequantizes it), run by the Python worker (worker/, PyTorch + transformers +
 * peft) that this backend starts on loopback, or reaches by URL (the same worker on a GPU node).
 * Everything goes through the worker's documented protocol (worker/PROTOCOL.md): batched chat and
 * completion with per-row seeds, exact scoring, residual-stream summaries at every layer, additive
 * steering per request, and LoRA fine-tunes whose adapters the worker keeps and serves by name.
 * Under the live loop guard (`cutWhen`) a batch is streamed: the worker reports each row's text every
 * few tokens, and the rows the guard flags are cut (POST /dramatis/cut) while the others go on.
 */
import { createHash, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type {
  ActivationInput,
  ActivationSummary,
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
  SteeringVector,
  WhiteBoxModel,
} from './model.ts';
import { requestSeed } from '../shared/keys.ts';
import { startWorker, type StartedWorker } from './worker-process.ts';
import { Agent, fetch as undiciFetch } from 'undici';

const LONG_REQUESTS = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

/** How often the live loop guard looks at a row: every this many generated tokens (as the organism and gguf: do). */
const GUARD_EVERY = 8;

/** A row as the guard cut it: its first `tokens` tokens, whose text the worker reported (the worker's own cut says the same). */
function cutWire(g: WireGeneration, c: { tokens: number; text: string }): WireGeneration {
  const n = c.tokens;
  return {
    ...g,
    text: c.text,
    finish_reason: 'cut',
    tokens: n,
    ...(g.token_ids ? { token_ids: g.token_ids.slice(0, n) } : {}),
    ...(g.token_texts ? { token_texts: g.token_texts.slice(0, n) } : {}),
    ...(g.token_logprobs ? { token_logprobs: g.token_logprobs.slice(0, n) } : {}),
    ...(g.top_logprobs ? { top_logprobs: g.top_logprobs.slice(0, n) } : {}),
  };
}

export interface HfOptions {
  /** A running worker to use instead of starting one (e.g. http://gpu-node:8765). */
  url?: string;
  python?: string;
  device?: 'cpu' | 'cuda' | 'auto';
  dtype?: 'float32' | 'bfloat16' | 'float16';
  threads?: number;
  /** Rows per request to the worker (default 16): progress is reported per request. */
  rowsPerRequest?: number;
}

interface Health {
  ok: boolean;
  model: string;
  device: string;
  n_layers: number;
  d_model: number;
  vocab_size: number;
  fingerprint: string;
  adapters: string[];
}

/** The worker, as this backend talks to it: JSON over HTTP, errors naming the endpoint and the worker's message. */
class WorkerClient {
  constructor(
    readonly url: string,
    readonly started?: StartedWorker,
  ) {}

  async get<T>(path: string): Promise<T> {
    return this.send<T>(path, undefined);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>(path, body);
  }

  /**
   * A streamed request (newline-delimited JSON): each event line goes to `onLine` as it arrives, and
   * the last line, `{"event": "done", ...}`, is the answer. `onLine` throwing ends the request (the
   * worker stops when the connection goes).
   */
  async postLines<T>(path: string, body: unknown, onLine: (line: { event: string } & Record<string, unknown>) => void): Promise<T> {
    const abort = new AbortController();
    const res = await this.open(path, body, abort.signal);
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('application/x-ndjson')) return this.answer<T>(path, res, await res.text());
    const decoder = new TextDecoder();
    let pending = '';
    let last: ({ event: string } & Record<string, unknown>) | undefined;
    const take = (raw: string) => {
      if (!raw.trim()) return;
      let line: { event: string } & Record<string, unknown>;
      try {
        line = JSON.parse(raw);
      } catch {
        throw new Error(`the worker at ${this.url} streamed ${path} a line that is not JSON: ${JSON.stringify(raw.slice(0, 120))}`);
      }
      if (line.event === 'done' || line.event === 'error') last = line;
      else onLine(line);
    };
    // An error of the reading is the connection's; one of a line (or of onLine) is thrown as it is, after
    // the request is aborted, so the worker stops drawing.
    let failed: { error: unknown } | undefined;
    try {
      read: for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const raw = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          try {
            take(raw);
          } catch (error) {
            failed = { error };
            break read;
          }
        }
      }
    } catch (e) {
      throw this.unanswered(path, e as Error);
    } finally {
      if (failed) abort.abort();
    }
    if (failed) throw failed.error;
    take(pending + decoder.decode());
    if (last?.event === 'error') {
      const message = (last as { error?: { message?: string } }).error?.message ?? JSON.stringify(last).slice(0, 200);
      throw new Error(`the worker at ${this.url} failed ${path} on the way (HTTP ${String(last.status ?? 500)}): ${message}`);
    }
    if (!last) throw new Error(`the worker at ${this.url} ended its stream of ${path} without an answer`);
    return last as T;
  }

  private async open(path: string, body: unknown, signal?: AbortSignal): Promise<Awaited<ReturnType<typeof undiciFetch>>> {
    try {
      return await undiciFetch(this.url + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        // A fine-tune is one long request (the worker answers /health meanwhile): undici's own header
        // and body timeouts (5 minutes) would cut it, so they are off and one overall limit stands.
        dispatcher: LONG_REQUESTS,
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(12 * 3600_000)]) : AbortSignal.timeout(12 * 3600_000),
      });
    } catch (e) {
      throw this.unanswered(path, e as Error);
    }
  }

  private unanswered(path: string, e: Error): Error {
    const tail = this.started?.stderrTail();
    return new Error(`the worker at ${this.url} did not answer ${path}: ${e.message}${tail ? `\nits last words:\n${tail}` : ''}`, { cause: e });
  }

  private async send<T>(path: string, body: unknown): Promise<T> {
    const res = await this.open(path, body);
    return this.answer<T>(path, res, await res.text());
  }

  private answer<T>(path: string, res: Awaited<ReturnType<typeof undiciFetch>>, text: string): T {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`the worker at ${this.url} answered ${path} with HTTP ${res.status} and a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
    }
    if (!res.ok) {
      const message = (parsed as { error?: { message?: string } }).error?.message ?? text.slice(0, 200);
      throw new Error(`the worker at ${this.url} refused ${path} (HTTP ${res.status}): ${message}`);
    }
    return parsed as T;
  }
}

interface WireGeneration {
  text: string;
  finish_reason: 'stop' | 'length' | 'cut';
  tokens: number;
  prompt_tokens?: number;
  token_ids?: number[];
  token_texts?: string[];
  token_logprobs?: number[];
  top_logprobs?: { token: string; logprob: number }[][];
}

export class HfModel implements ChatModel, CompletionModel, EchoModel, ScoringModel, WhiteBoxModel, FinetunableModel {
  readonly capabilities: Capabilities = { chat: true, complete: true, echo: true, score: true, activations: true, steering: true, finetune: true };
  readonly rowsPerCall = 64;
  /** The live loop guard (`cutWhen`) is checked on each row every GUARD_EVERY tokens (a streamed request, see guarded). */
  readonly cuts = true;
  training?: { steps: number; tokens: number | null; finalLoss: number | null };

  private constructor(
    readonly id: string,
    readonly fingerprint: string,
    private readonly worker: WorkerClient,
    readonly health: Health,
    /** The adapter this model is (undefined: the base model, adapters off). */
    readonly adapter: string | undefined,
    private readonly o: HfOptions,
  ) {}

  static async load(pathArg: string, o: HfOptions, c: { cacheDir: string; ref: string }): Promise<HfModel> {
    let worker: WorkerClient;
    if (o.url) worker = new WorkerClient(o.url.replace(/\/+$/, ''));
    else {
      const started = await startWorker({
        modelPath: resolve(pathArg),
        python: o.python,
        device: o.device,
        dtype: o.dtype,
        cacheDir: c.cacheDir,
        threads: o.threads,
      });
      worker = new WorkerClient(started.url, started);
    }
    const health = await worker.get<Health>('/health');
    return new HfModel(c.ref, health.fingerprint.slice(0, 16), worker, health, undefined, o);
  }

  get layers(): number {
    return this.health.n_layers;
  }

  get width(): number {
    return this.health.d_model;
  }

  private get modelName(): string {
    return this.adapter ?? this.health.model;
  }

  private checkSteering(steering: SteeringVector[] | undefined): void {
    for (const s of steering ?? []) {
      if (s.vector.length !== this.width) throw new Error(`steering vector of length ${s.vector.length}; ${this.id} has a residual stream of ${this.width}`);
      if (s.layer < 0 || s.layer > this.layers) throw new Error(`steering layer ${s.layer}; ${this.id} has layers 0 (embeddings) to ${this.layers}`);
    }
  }

  /** Rows in requests of `rowsPerRequest`, one at a time (the worker runs one request at a time on the model anyway). */
  private async inRequests<I, O>(
    items: I[],
    send: (chunk: I[], offset: number) => Promise<O[]>,
    onProgress?: Progress,
    per = this.o.rowsPerRequest ?? 16,
  ): Promise<O[]> {
    const out: O[] = [];
    for (let k = 0; k < items.length; k += per) {
      out.push(...(await send(items.slice(k, k + per), k)));
      onProgress?.(Math.min(items.length, k + per), items.length);
    }
    return out;
  }

  private sampling(o: SamplingOptions, offset: number, n: number) {
    this.checkSteering(o.steering);
    return {
      model: this.modelName,
      temperature: o.temperature ?? 1,
      top_p: o.topP ?? 1,
      max_tokens: o.maxTokens ?? 64,
      ...(o.stop?.length ? { stop: o.stop } : {}),
      seeds: Array.from({ length: n }, (_, i) => o.requestSeeds?.[offset + i] ?? requestSeed(o.seed, o.seeds?.[offset + i] ?? offset + i)),
      ...(o.topLogprobs ? { top_logprobs: o.topLogprobs } : {}),
      ...(o.withTokens ? { with_tokens: true } : {}),
      ...(o.steering?.length ? { steering: o.steering } : {}),
    };
  }

  private generations(rows: WireGeneration[], o: SamplingOptions, offset: number): Generation[] {
    return rows.map((g, i) => {
      const out: Generation = {
        text: g.text,
        finishReason: g.finish_reason,
        tokens: g.tokens,
        ...(o.topLogprobs && g.top_logprobs ? { topLogprobs: g.top_logprobs } : {}),
        ...(o.withTokens ? { promptTokens: g.prompt_tokens, tokenTexts: g.token_texts, tokenLogprobs: g.token_logprobs } : {}),
      };
      o.onRow?.(offset + i, out);
      return out;
    });
  }

  /** With `settle`, a request that fails marks its rows failed and the others go on. */
  private async settled(o: SamplingOptions, n: number, send: () => Promise<Generation[]>): Promise<Generation[]> {
    if (!o.settle) return send();
    try {
      return await send();
    } catch (e) {
      return Array.from({ length: n }, () => ({ text: '', finishReason: 'stop' as const, tokens: 0, error: (e as Error).message }));
    }
  }

  async chat(conversations: ChatMessage[][], o: SamplingOptions = {}, onProgress?: Progress): Promise<Generation[]> {
    return this.inRequests(
      conversations,
      (chunk, offset) =>
        this.settled(o, chunk.length, async () =>
          this.generations(await this.sample('/dramatis/chat', { conversations: chunk, ...this.sampling(o, offset, chunk.length) }, o, offset), o, offset),
        ),
      onProgress,
    );
  }

  async complete(prompts: string[], o: SamplingOptions = {}): Promise<Generation[]> {
    return this.inRequests(prompts, (chunk, offset) =>
      this.settled(o, chunk.length, async () =>
        this.generations(await this.sample('/dramatis/complete', { prompts: chunk, ...this.sampling(o, offset, chunk.length) }, o, offset), o, offset),
      ),
    );
  }

  /** One batched sampling request: plain, or streamed under the live loop guard. */
  private async sample(path: string, body: Record<string, unknown>, o: SamplingOptions, offset: number): Promise<WireGeneration[]> {
    if (!o.cutWhen) return (await this.worker.post<{ generations: WireGeneration[] }>(path, body)).generations;
    return this.guarded(path, body, (row, text) => o.cutWhen!(offset + row, text));
  }

  /**
   * The live loop guard on a batch: the worker streams each running row's text every GUARD_EVERY
   * tokens; the first report the guard flags is where that row ends (finish `cut`, its first n tokens),
   * and the worker is told to stop drawing it while the batch goes on. The cut is kept here too, so it
   * lands at the same token however late the worker hears of it: the stored sample is the same prefix
   * of the row's unguarded sample (same seed) on every run.
   */
  private async guarded(path: string, body: Record<string, unknown>, cutWhen: (row: number, text: string) => boolean): Promise<WireGeneration[]> {
    const requestId = randomUUID();
    const cuts = new Map<number, { tokens: number; text: string }>();
    const told: Promise<unknown>[] = [];
    const r = await this.worker.postLines<{ generations: WireGeneration[] }>(path, { ...body, progress_every: GUARD_EVERY, request_id: requestId }, (line) => {
      if (line.event !== 'progress') return;
      const { row, tokens, text } = line as unknown as { row: number; tokens: number; text: string };
      if (cuts.has(row) || !cutWhen(row, text)) return;
      cuts.set(row, { tokens, text });
      // Only saves the worker's time (the cut stands here either way), so a failure to say it is no failure.
      told.push(this.worker.post('/dramatis/cut', { request_id: requestId, rows: [{ row, tokens }] }).catch(() => undefined));
    });
    await Promise.all(told);
    return r.generations.map((g, i) => {
      const c = cuts.get(i);
      return c ? cutWire(g, c) : g;
    });
  }

  async score(pairs: { prompt: string; continuation: string }[], onProgress?: Progress): Promise<{ logprob: number; tokens: number[] }[]> {
    return this.inRequests(
      pairs,
      async (chunk) =>
        (await this.worker.post<{ scores: { logprob: number; tokens: number[] }[] }>('/dramatis/score', { model: this.modelName, pairs: chunk })).scores,
      onProgress,
      32,
    );
  }

  /** log p(the last assistant message's content | the conversation before it), through the model's chat template. */
  async scoreChats(conversations: ChatMessage[][], onProgress?: Progress): Promise<{ logprob: number; tokens: number[] }[]> {
    return this.inRequests(
      conversations,
      async (chunk) =>
        (await this.worker.post<{ scores: { logprob: number; tokens: number[] }[] }>('/dramatis/score', { model: this.modelName, conversations: chunk }))
          .scores,
      onProgress,
      32,
    );
  }

  /** Each token of each text with its log-probability, through the worker's OpenAI-compatible /v1/completions (echo, 0 new tokens). */
  async echo(texts: string[]): Promise<{ tokens: string[]; logprobs: (number | null)[] }[]> {
    const out: { tokens: string[]; logprobs: (number | null)[] }[] = [];
    for (const text of texts) {
      const r = await this.worker.post<{ choices: { logprobs: { tokens: string[]; token_logprobs: (number | null)[] } }[] }>('/v1/completions', {
        model: this.modelName,
        prompt: text,
        max_tokens: 0,
        echo: true,
        logprobs: 0,
      });
      const lp = r.choices[0].logprobs;
      out.push({ tokens: lp.tokens, logprobs: lp.token_logprobs });
    }
    return out;
  }

  async activations(inputs: ActivationInput[], o: { steering?: SteeringVector[] } = {}, onProgress?: Progress): Promise<ActivationSummary[]> {
    this.checkSteering(o.steering);
    const L1 = this.layers + 1;
    const d = this.width;
    return this.inRequests(
      inputs,
      async (chunk) => {
        const r = await this.worker.post<{ summaries: { mean: string; at: string }[] }>('/dramatis/activations', {
          model: this.modelName,
          inputs: chunk,
          encoding: 'base64',
          ...(o.steering?.length ? { steering: o.steering } : {}),
        });
        const split = (b64: string) => {
          const buf = Buffer.from(b64, 'base64');
          if (buf.length !== L1 * d * 4)
            throw new Error(`the worker at ${this.worker.url} sent a summary of ${buf.length} bytes; [${L1}, ${d}] float32 is ${L1 * d * 4}`);
          const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
          return Array.from({ length: L1 }, (_, l) => all.slice(l * d, (l + 1) * d));
        };
        return r.summaries.map((s) => ({ mean: split(s.mean), at: split(s.at) }));
      },
      onProgress,
    );
  }

  /**
   * A LoRA fine-tune in the worker (peft). The worker keys the adapter by its base, data and
   * hyperparameters, so asking twice trains once; the adapter is served by name from then on.
   */
  async finetune(req: FinetuneRequest, onProgress?: Progress): Promise<HfModel> {
    if (req.mode !== 'lora') throw new Error(`${this.id} fine-tunes with LoRA only (mode: lora), not "${req.mode}"`);
    if (req.snapshots) throw new Error(`${this.id}: snapshots along a fine-tune are not supported by the hf: worker`);
    this.checkSteering(req.steering);
    // A worker this process started reports each optimizer step on its stderr; one reached by URL only says when it is done.
    const unsubscribe = this.worker.started?.onEvent((e) => {
      if (e.event === 'finetune_step' && typeof e.step === 'number' && typeof e.steps === 'number')
        onProgress?.(e.step, e.steps, typeof e.loss === 'number' ? { train_loss: e.loss } : undefined);
    });
    const r = await this.worker
      .post<{ name: string; key: string; steps: number; tokens: number; final_loss: number | null; seconds: number; cached: boolean }>('/dramatis/finetune', {
        model: this.health.model,
        chats: req.chats,
        learning_rate: req.learningRate,
        epochs: req.epochs,
        batch_size: req.batchSize,
        ...(req.rank ? { rank: req.rank } : {}),
        seed: req.seed,
        ...(req.steering?.length ? { steering: req.steering } : {}),
      })
      .finally(() => unsubscribe?.());
    onProgress?.(r.steps, r.steps, r.final_loss === null ? undefined : { train_loss: r.final_loss });
    const fingerprint = createHash('sha256').update(`${this.fingerprint}|${r.key}`).digest('hex').slice(0, 16);
    const model = new HfModel(`${this.id}+ft(${req.dataName})`, fingerprint, this.worker, this.health, r.name, this.o);
    model.training = { steps: r.steps, tokens: r.tokens, finalLoss: r.final_loss };
    return model;
  }
}
