/**
 * Any OpenAI-compatible server as a backend (`openai:MODEL`): vLLM, llama.cpp server, Ollama, hosted
 * APIs, and `dramatis serve`. Built on the official `openai` SDK (its own retries off); every request
 * goes through the remote wrapper (remote.ts: retries with back-off on 408/409/429/5xx, timeouts and lost
 * connections, honouring Retry-After; a concurrency limit; a disk cache keyed by the request). This class
 * adds the protocol: chat, raw completion, fine-tuning through files and jobs, and the scoring of a given
 * text through /v1/completions with echo + logprobs or vLLM's prompt_logprobs. With `lora`, a vLLM server
 * is asked to load a LoRA adapter at run time, and the model is that adapter over the served base.
 * Under the live loop guard (`cutWhen`) a chat request is streamed instead, and aborted once the guard
 * says the answer loops.
 */
import OpenAI, { toFile } from 'openai';
import { requestSeed, servedFingerprint } from '../shared/keys.ts';
import type {
  Capabilities,
  ChatMessage,
  ChatModel,
  CompletionModel,
  FinetunableModel,
  FinetuneRequest,
  Generation,
  Progress,
  SamplingOptions,
  ScoringModel,
  Snapshot,
} from './model.ts';
import { keepAliveFetch } from './keep-alive-fetch.ts';
import { InvalidResponse, RemoteRequests, retryAfterMs, type RetryAdvice } from './remote.ts';
import { z } from 'zod';

export interface OpenAIBackendOptions {
  model: string;
  baseUrl: string;
  apiKey?: string;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Per request, in ms (default 120 000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** First back-off wait and its cap, in ms (default 500 and 8,000). */
  backoffMs?: { initial: number; max: number };
  /** The longest Retry-After obeyed, in ms (default 60,000). */
  retryAfterMaxMs?: number;
  /** A request's whole budget, all attempts and waits, in ms (default: none). */
  deadlineMs?: number;
  /** Folder for the response cache; none when undefined. */
  cacheDir?: string;
  /**
   * A LoRA adapter for vLLM to load at run time (POST /v1/load_lora_adapter; the server needs --enable-lora
   * and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True): its name, which requests then send as `model`, and its path
   * on the server's disk.
   */
  lora?: { name: string; path: string };
}

export class OpenAIModel implements ChatModel, CompletionModel, ScoringModel, FinetunableModel {
  readonly capabilities: Capabilities = { chat: true, complete: true, echo: false, score: true, activations: false, steering: false, finetune: true };
  readonly id: string;
  /** A served model is known by its name and server; its weights are not visible from here. */
  readonly fingerprint: string;
  snapshots?: Snapshot[];
  /** Many rows per call: the concurrency limit, not the caller's batches, decides what is in flight. */
  readonly rowsPerCall = 1024;
  /** The live loop guard (`cutWhen`) is checked as each chat answer streams in (see guardedChat). */
  readonly cuts = true;
  private client: OpenAI;
  /**
   * For streamed requests: the SDK's default fetch. keepAliveFetch reads a response whole before it
   * resolves, so through it a stream would arrive only once the server had finished it.
   */
  private streamClient: OpenAI;
  private remote: RemoteRequests;
  /** The name requests send as `model`: the adapter's, when there is one. */
  private readonly served: string;
  /** The model as errors name it: `MODEL`, or `MODEL+lora(NAME)`. */
  private readonly label: string;
  /** The adapter's load on the server, started by the first request that needs it (undefined again after a failure). */
  private loraLoad?: Promise<void>;

  constructor(private o: OpenAIBackendOptions) {
    this.served = o.lora?.name ?? o.model;
    this.label = o.lora ? `${o.model}+lora(${o.lora.name})` : o.model;
    this.id = `openai:${this.label}`;
    // The adapter's path is part of what the model is: one name may be loaded with other weights another time.
    this.fingerprint = servedFingerprint(o.baseUrl, o.lora ? `${o.model}+lora:${o.lora.name}:${o.lora.path}` : o.model);
    const client = {
      baseURL: o.baseUrl,
      apiKey: o.apiKey ?? 'none',
      timeout: o.timeoutMs ?? 120_000,
      // Retries are the remote wrapper's, the same for every remote backend.
      maxRetries: 0,
    };
    this.client = new OpenAI({ ...client, fetch: keepAliveFetch() });
    this.streamClient = new OpenAI(client);
    this.remote = new RemoteRequests({
      concurrency: o.concurrency,
      cacheDir: o.cacheDir,
      maxRetries: o.maxRetries ?? 5,
      backoffMs: o.backoffMs,
      retryAfterMaxMs: o.retryAfterMaxMs,
      deadlineMs: o.deadlineMs,
      waitingFor: `${o.baseUrl} (model ${this.label}; each attempt times out after ${(o.timeoutMs ?? 120_000) / 1000} s)`,
      retryable: (e) => (e instanceof AdapterCallFailed ? adapterRetryable(e) : openaiRetryable(e)),
    });
  }

  /** Keys cached responses by the adapter too (its path, not just its name), so other weights under the same name are asked afresh. */
  private get adapterKey(): { lora?: { name: string; path: string } } {
    return this.o.lora ? { lora: this.o.lora } : {};
  }

  /**
   * The adapter loaded on the server before this model's first request, once per instance (a cached
   * answer needs no server, so it waits until a request is sent). A failed load is not kept: the next
   * request tries again.
   */
  private loraReady(): Promise<void> {
    const lora = this.o.lora;
    if (!lora) return Promise.resolve();
    if (!this.loraLoad) {
      const load = this.adapterCall('load_lora_adapter', { lora_name: lora.name, lora_path: lora.path });
      this.loraLoad = load;
      load.catch(() => {
        if (this.loraLoad === load) this.loraLoad = undefined;
      });
    }
    return this.loraLoad;
  }

  /** Asks vLLM to unload this model's adapter (POST /v1/unload_lora_adapter); a later request loads it again. */
  async unloadLora(): Promise<void> {
    if (!this.o.lora) throw new Error(`${this.id} has no LoRA adapter to unload`);
    await this.adapterCall('unload_lora_adapter', { lora_name: this.o.lora.name });
    this.loraLoad = undefined;
  }

  /**
   * One call to vLLM's runtime adapter endpoints. They are not part of the OpenAI API (nor its SDK), so
   * this is a plain fetch, under the same retries as every request: a lost connection or a timeout, 408,
   * 409, 429 and 5xx are tried again. vLLM answers a load with 200 and a text body; an adapter already
   * loaded under this name (by another instance or run) is a 400 that says so, and counts as loaded.
   */
  private async adapterCall(endpoint: 'load_lora_adapter' | 'unload_lora_adapter', body: Record<string, string>): Promise<void> {
    const lora = this.o.lora!;
    try {
      await this.remote.withRetries(async () => {
        let res: Response;
        let text: string;
        try {
          res = await fetch(`${this.o.baseUrl.replace(/\/+$/, '')}/${endpoint}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(this.o.timeoutMs ?? 120_000),
          });
          text = await res.text();
        } catch (e) {
          const code = ((e as Error).cause as { code?: string } | undefined)?.code;
          throw new AdapterCallFailed(`${(e as Error).message}${code ? ` (${code})` : ''}`, undefined, undefined, { cause: e });
        }
        if (res.ok) return;
        const message = serverMessage(text);
        if (endpoint === 'load_lora_adapter' && res.status === 400 && /has already been loaded/i.test(message)) return;
        throw new AdapterCallFailed(message, res.status, res.headers);
      });
    } catch (e) {
      const status = e instanceof AdapterCallFailed ? e.httpStatus : undefined;
      const why =
        status === 404
          ? `the server has no /v1/${endpoint}: start vLLM with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (it said: ${(e as Error).message})`
          : (e as Error).message;
      throw new LoraUnavailable(`${this.o.baseUrl} /${endpoint} (adapter ${lora.name} at ${lora.path}): ${status ? `HTTP ${status}: ` : ''}${why}`, {
        cause: e,
      });
    }
  }

  /**
   * One request through the limiter and the cache; the response is checked against the OpenAI shape
   * before it is used or cached (see RESPONSE). Errors name the server, the endpoint and the model.
   */
  private async request<T>(endpoint: 'chat' | 'completions', body: Record<string, unknown>): Promise<T> {
    return this.remote.run<T>(
      this.cacheKey(endpoint, body),
      async () => {
        await this.loraReady();
        return endpoint === 'chat'
          ? await this.client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
          : await this.client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming);
      },
      (e) => this.failure(endpoint, e),
      (r) => validResponse(endpoint, r) as T,
    );
  }

  /** What a response is cached under: the server, the endpoint, the body and the adapter. */
  private cacheKey(endpoint: 'chat' | 'completions', body: Record<string, unknown>) {
    return { baseUrl: this.o.baseUrl, endpoint, body, ...this.adapterKey };
  }

  /** A request's final failure as an error naming the server, the endpoint and the model. */
  private failure(endpoint: 'chat' | 'completions', e: unknown): Error {
    // Already names the server, the endpoint and the adapter.
    if (e instanceof LoraUnavailable) return e;
    const status = (e as { status?: number }).status;
    return new Error(
      `${this.o.baseUrl} /${endpoint === 'chat' ? 'chat/completions' : 'completions'} (model ${this.label}): ${status ? `HTTP ${status}: ` : ''}${(e as Error).message}`,
      { cause: e },
    );
  }

  /**
   * A chat request under the live loop guard: streamed, the answer so far shown to `cut` as it grows
   * (every few deltas), and the request aborted once `cut` says it loops, so the server stops
   * generating what nobody would keep. It goes through the same limiter, retries and cache as any
   * request, under the key of the same request unstreamed:
   * - an answer that streamed to its end without a cut is the one the plain request gets, so it is
   *   cached as a plain response (assembled from the stream);
   * - a cut answer depends on the guard, so it is never cached: the wrapper caches whatever `send`
   *   returns, and a cut leaves it as a `CutShort` thrown through it instead;
   * - a cached answer (this request's or a plain one's) is shown to `cut` as the stream would have
   *   been, so the guard holds whichever way the answer arrives.
   */
  private async guardedChat(body: Record<string, unknown>, o: SamplingOptions, cut: (text: string) => boolean): Promise<Generation> {
    let fresh: OpenAI.ChatCompletion | undefined;
    let r: OpenAI.ChatCompletion;
    try {
      r = await this.remote.run<OpenAI.ChatCompletion>(
        this.cacheKey('chat', body),
        async () => (fresh = await this.streamChat(body, o, cut)),
        (e) => (e instanceof CutShort ? e : this.failure('chat', e)),
        (x) => validResponse('chat', x) as OpenAI.ChatCompletion,
      );
    } catch (e) {
      if (e instanceof CutShort) return e.generation;
      throw e;
    }
    const g = chatGeneration(r, o);
    if (r === fresh) return g;
    const at = replayCut(g.text, cut);
    return at === undefined ? g : cutGeneration(g, at, Math.round((g.tokens * at) / Math.max(1, g.text.length)));
  }

  /**
   * One streamed attempt: the completion assembled from its chunks, or a `CutShort` once the guard says
   * yes (the request aborted there: the server sees the connection close and stops). The whole stream
   * is held to the request timeout, as a plain request's wait for its answer is. A failure before or
   * during the stream is thrown as the wrapper reads it: HTTP errors as the SDK raised them (429 and
   * 5xx retried), a broken connection as a lost one, a chunk that is not JSON as an invalid response
   * (both retried, the stream then asked again from its start).
   */
  private async streamChat(body: Record<string, unknown>, o: SamplingOptions, cut: (text: string) => boolean): Promise<OpenAI.ChatCompletion> {
    await this.loraReady();
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.o.timeoutMs ?? 120_000);
    const streamed = new StreamedChat();
    try {
      // include_usage: the last chunk carries the token counts a plain response has.
      const params = { ...body, stream: true, stream_options: { include_usage: true } } as unknown as OpenAI.ChatCompletionCreateParamsStreaming;
      const stream = await this.streamClient.chat.completions.create(params, { signal: abort.signal });
      for await (const chunk of stream) {
        streamed.add(chunk);
        if (streamed.due() && cut(streamed.text)) {
          abort.abort();
          // The server reports no usage for a request cut off: the deltas received, about one token each.
          throw new CutShort(cutGeneration(chatGeneration(streamed.completion('stop'), o), streamed.text.length, streamed.deltas));
        }
      }
    } catch (e) {
      if (e instanceof CutShort) throw e;
      if (timedOut) throw new OpenAI.APIConnectionTimeoutError();
      if (e instanceof OpenAI.APIError) throw e;
      if (e instanceof SyntaxError) throw new InvalidResponse(`invalid response: a streamed chunk is not JSON (${e.message})`);
      throw new OpenAI.APIConnectionError({
        message: `the stream broke off after ${streamed.text.length} characters: ${(e as Error).message}`,
        cause: e as Error,
      });
    } finally {
      clearTimeout(timer);
    }
    // The SDK ends an aborted stream quietly: a timeout mid-stream shows only here.
    if (timedOut) throw new OpenAI.APIConnectionTimeoutError();
    return streamed.finished();
  }

  private async each<T>(n: number, one: (i: number) => Promise<T>, onProgress?: Progress, onRow?: (i: number, r: T) => void): Promise<T[]> {
    let done = 0;
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await one(i);
        onRow?.(i, r);
        onProgress?.(++done, n);
        return r;
      }),
    );
  }

  /** With `settle`, a row that fails for good becomes a generation carrying its error (see SamplingOptions). */
  private settled(o: SamplingOptions, one: (i: number) => Promise<Generation>): (i: number) => Promise<Generation> {
    if (!o.settle) return one;
    return async (i) => {
      try {
        return await one(i);
      } catch (e) {
        return { text: '', finishReason: 'stop', tokens: 0, error: (e as Error).message };
      }
    };
  }

  private sampling(o: SamplingOptions, i: number) {
    if (o.steering?.length) throw new Error(`${this.id} cannot be steered (not a white-box backend)`);
    return {
      temperature: o.temperature ?? 1,
      top_p: o.topP ?? 1,
      max_tokens: o.maxTokens ?? 64,
      ...(o.stop?.length ? { stop: o.stop } : {}),
      seed: o.requestSeeds?.[i] ?? requestSeed(o.seed, o.seeds?.[i] ?? i),
    };
  }

  private chatLogprobs(o: SamplingOptions) {
    return o.topLogprobs ? { logprobs: true, top_logprobs: o.topLogprobs } : o.withTokens ? { logprobs: true } : {};
  }

  async chat(conversations: ChatMessage[][], o: SamplingOptions = {}, onProgress?: Progress): Promise<Generation[]> {
    return this.each(
      conversations.length,
      this.settled(o, async (i) => {
        const body = { model: this.served, messages: conversations[i], n: 1, ...this.sampling(o, i), ...this.chatLogprobs(o) };
        if (o.cutWhen) return this.guardedChat(body, o, (text) => o.cutWhen!(i, text));
        return chatGeneration(await this.request<OpenAI.ChatCompletion>('chat', body), o);
      }),
      onProgress,
      o.onRow,
    );
  }

  async complete(prompts: string[], o: SamplingOptions = {}): Promise<Generation[]> {
    // Nothing asks a raw completion to be guarded; refused rather than ignored, so no guard is silently off.
    if (o.cutWhen) throw new Error(`${this.id}: the live loop guard (cutWhen) streams chat answers only, not raw completions`);
    return this.each(prompts.length, async (i) => {
      const r = await this.request<OpenAI.Completion>('completions', {
        model: this.served,
        prompt: prompts[i],
        n: 1,
        ...this.sampling(o, i),
        ...(o.withTokens ? { logprobs: 0 } : {}),
      });
      const c = r.choices[0];
      const lp = c?.logprobs;
      return {
        text: c?.text ?? '',
        finishReason: c?.finish_reason === 'length' ? ('length' as const) : ('stop' as const),
        tokens: r.usage?.completion_tokens ?? 0,
        ...(o.withTokens
          ? {
              promptTokens: r.usage?.prompt_tokens,
              ...(lp?.tokens ? { tokenTexts: lp.tokens, tokenLogprobs: (lp.token_logprobs ?? []).map((x) => x ?? 0) } : {}),
            }
          : {}),
      };
    });
  }

  /**
   * Fine-tune through the OpenAI-compatible API: upload the chats as JSONL, create the job, poll it
   * (progress from its events), then return the fine-tuned model. The learning rate is sent as
   * `learning_rate_multiplier` = learningRate / 1e-3, the base rate of `dramatis serve`; LoRA and
   * persona-only go as `method`, and snapshots as `snapshots` (dramatis extensions; the snapshots come
   * back as the job's checkpoints). The job's result is cached by request, so a rerun does not train again.
   */
  async finetune(req: FinetuneRequest, onProgress?: Progress): Promise<OpenAIModel> {
    const body = {
      model: this.served,
      seed: req.seed,
      ...(req.snapshots ? { snapshots: req.snapshots } : {}),
      // dramatis extension, sent only when the spec allows unreadable data (dramatis serve refuses it otherwise).
      ...(req.allowUnknown !== undefined ? { allow_unknown: req.allowUnknown } : {}),
      hyperparameters: { n_epochs: req.epochs, batch_size: req.batchSize, learning_rate_multiplier: req.learningRate / 1e-3 },
      ...(req.mode !== 'full' ? { method: { type: req.mode, ...(req.rank ? { rank: req.rank } : {}) } } : {}),
    };
    const request = { baseUrl: this.o.baseUrl, endpoint: 'fine_tuning', body, chats: req.chats, ...this.adapterKey };
    let found = this.remote.cached<{ name: string; checkpoints: { step: number; model: string }[] }>(request);
    if (!found) {
      const where = `${this.o.baseUrl} fine-tuning of ${this.label} on ${req.dataName}`;
      try {
        await this.loraReady();
        const jsonl = req.chats.map((c) => JSON.stringify({ messages: c.messages })).join('\n') + '\n';
        const retried = <T>(send: () => Promise<T>) => this.remote.withRetries(send);
        const upload = await toFile(Buffer.from(jsonl), `${req.dataName.replace(/[^\w.-]+/g, '_')}.jsonl`);
        const file = await retried(() => this.client.files.create({ file: upload, purpose: 'fine-tune' }));
        let job = await retried(() => this.client.fineTuning.jobs.create({ ...body, training_file: file.id } as OpenAI.FineTuning.JobCreateParams));
        for (let wait = 500; job.status !== 'succeeded'; wait = Math.min(wait * 1.5, 30_000)) {
          if (job.status === 'failed' || job.status === 'cancelled')
            throw new Error(`job ${job.id} ${job.status}${job.error?.message ? `: ${job.error.message}` : ''}`);
          await new Promise((r) => setTimeout(r, wait));
          const id = job.id;
          job = await retried(() => this.client.fineTuning.jobs.retrieve(id));
          // The newest event that carries a step count (hosts put {step, total_steps} in `data`).
          const events = (await retried(() => this.client.fineTuning.jobs.listEvents(id, { limit: 10 }))).data;
          const last = events.map((e) => e.data as { step?: number; total_steps?: number } | undefined).find((d) => d?.step && d.total_steps);
          if (last) onProgress?.(last.step!, last.total_steps!);
        }
        const name = job.fine_tuned_model;
        const jobId = job.id;
        if (!name) throw new Error(`job ${job.id} succeeded without naming its model`);
        const checkpoints = req.snapshots
          ? (await retried(() => this.client.fineTuning.jobs.checkpoints.list(jobId))).data
              .map((c) => ({ step: c.step_number, model: c.fine_tuned_model_checkpoint }))
              .sort((a, b) => a.step - b.step)
          : [];
        if (req.snapshots && checkpoints.length < 2)
          throw new Error(`job ${job.id} kept no checkpoints along the fine-tune (the server ignored \`snapshots\`)`);
        found = { name, checkpoints };
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
      }
      this.remote.remember(request, found);
    }
    // The fine-tuned model is served under its own name: no adapter to load over it.
    const model = new OpenAIModel({ ...this.o, model: found.name, lora: undefined });
    if (req.snapshots) {
      const steps = Math.max(...found.checkpoints.map((c) => c.step));
      model.snapshots = found.checkpoints.map((c) => ({
        step: c.step,
        steps,
        model: c.model === found!.name ? model : new OpenAIModel({ ...this.o, model: c.model, lora: undefined }),
      }));
    }
    return model;
  }

  /** How this server scores a given text, found on the first score() call and kept (a rejected promise when it cannot). */
  private scoreMethod?: Promise<ScoreMethod>;
  /** vLLM path: the prompt's token ids, one request per distinct prompt. */
  private promptIds = new Map<string, Promise<(string | undefined)[]>>();

  /**
   * log p(continuation | prompt). The prompt and the continuation are sent as one text (joined by a
   * space unless the prompt ends in whitespace) and scored by the first method the server accepts:
   * /v1/completions with echo + max_tokens 0 + logprobs (llama.cpp server, OpenAI's legacy completions,
   * dramatis serve), then vLLM's `prompt_logprobs` extension. The method that worked is kept for later
   * calls; when neither does, the error says so and names the generative alternative.
   */
  async score(pairs: { prompt: string; continuation: string }[], onProgress?: Progress) {
    return this.each(pairs.length, (i) => this.scoreOne(pairs[i]), onProgress);
  }

  private async scoreOne(pair: { prompt: string; continuation: string }): Promise<Scored> {
    if (!this.scoreMethod) {
      const first = this.findScoreMethod(pair);
      const method = first.then((r) => r.method);
      this.scoreMethod = method;
      // A transient failure (timeout, 5xx after retries) is not an answer: the next call probes again.
      method.catch((e) => {
        if (!(e instanceof ScoringUnavailable) && this.scoreMethod === method) this.scoreMethod = undefined;
      });
      return (await first).result;
    }
    return (await this.scoreMethod) === 'echo' ? this.scoreByEcho(pair) : this.scoreByPromptLogprobs(pair);
  }

  private async findScoreMethod(pair: { prompt: string; continuation: string }): Promise<{ method: ScoreMethod; result: Scored }> {
    const why: string[] = [];
    for (const method of ['echo', 'prompt_logprobs'] as const) {
      try {
        return { method, result: await (method === 'echo' ? this.scoreByEcho(pair) : this.scoreByPromptLogprobs(pair)) };
      } catch (e) {
        if (!(e instanceof ScoringRefused)) throw e;
        why.push(`${method === 'echo' ? 'echo + logprobs' : "vLLM's prompt_logprobs"}: ${e.message}`);
      }
    }
    throw new ScoringUnavailable(
      `${this.id} at ${this.o.baseUrl} cannot score a given text (the log-probability of a text, which infer and other likelihood measures need). ` +
        `It refused both ways of asking /v1/completions for it:\n  - ${why.join('\n  - ')}\n` +
        "Scoring works with llama.cpp server, vLLM and OpenAI's legacy completions models. For a chat-only server, use the generative alternative: " +
        '`infer.describe` (the model describes the author in its own words, counted) or a chat judge (`judge: {llm: …}`) in place of likelihoods.',
    );
  }

  /** One completions request for scoring; an answer of "no" (400/404/405/422/501) becomes a ScoringRefused. */
  private async scoringRequest(body: Record<string, unknown>): Promise<OpenAI.Completion> {
    try {
      return await this.request<OpenAI.Completion>('completions', { model: this.served, temperature: 0, ...body });
    } catch (e) {
      const status = ((e as Error).cause as { status?: number } | undefined)?.status;
      if (status && [400, 404, 405, 422, 501].includes(status)) throw new ScoringRefused((e as Error).message);
      throw e;
    }
  }

  /**
   * echo + logprobs: the tokens whose text starts in the continuation are summed. A token's leading
   * whitespace is not where it starts (BPE and sentencepiece tokens carry the space before a word, so
   * " hello" sits at the separator's offset), unless the token is whitespace only.
   */
  private async scoreByEcho({ prompt, continuation }: { prompt: string; continuation: string }): Promise<Scored> {
    const sep = /\s$/.test(prompt) || continuation === '' ? '' : ' ';
    const r = await this.scoringRequest({ prompt: prompt + sep + continuation, echo: true, max_tokens: 0, logprobs: 1 });
    const lp = r.choices[0]?.logprobs;
    if (!lp?.token_logprobs?.length || !lp.text_offset?.length)
      throw new ScoringRefused('the reply carried no token logprobs and offsets (the server ignored echo + logprobs)');
    const start = prompt.length + sep.length;
    let total = 0;
    const tokens: number[] = [];
    lp.text_offset.forEach((off, k) => {
      const v = lp.token_logprobs![k];
      const lead = /^\s*/.exec(lp.tokens?.[k] ?? '')![0].length;
      const begins = off + (lead < (lp.tokens?.[k]?.length ?? 0) ? lead : 0);
      if (begins >= start && v !== null && v !== undefined) {
        total += v;
        tokens.push(v);
      }
    });
    return { logprob: total, tokens };
  }

  /**
   * vLLM's `prompt_logprobs: 0`: `choices[0].prompt_logprobs` holds, per prompt token, null for the first
   * and {token_id: {logprob, rank, decoded_token}} for the others (only the prompt's own token at 0).
   * The continuation starts where the token ids of the full text leave those of the prompt alone, so a
   * prompt whose last token merges with the continuation's first (a trailing space) still splits right.
   */
  private async scoreByPromptLogprobs({ prompt, continuation }: { prompt: string; continuation: string }): Promise<Scored> {
    const sep = /\s$/.test(prompt) || continuation === '' ? '' : ' ';
    const full = await this.promptLogprobs(prompt + sep + continuation);
    let ids: (string | undefined)[] = [];
    if (prompt !== '') {
      let found = this.promptIds.get(prompt);
      if (!found) {
        found = this.promptLogprobs(prompt).then((p) => p.map((e) => e.id));
        this.promptIds.set(prompt, found);
        found.catch(() => this.promptIds.delete(prompt));
      }
      ids = await found;
    }
    let start = Math.min(ids.length, full.length);
    for (let k = 1; k < start; k++)
      if (ids[k] !== full[k].id) {
        start = k;
        break;
      }
    const tokens = full.slice(start).flatMap((e) => (e.logprob === undefined ? [] : [e.logprob]));
    return { logprob: tokens.reduce((a, v) => a + v, 0), tokens };
  }

  /** The prompt's tokens with their ids and log-probabilities (undefined for the first) through `prompt_logprobs`. */
  private async promptLogprobs(text: string): Promise<{ id?: string; logprob?: number }[]> {
    const r = await this.scoringRequest({ prompt: text, max_tokens: 1, prompt_logprobs: 0 });
    const c = r.choices[0] as (OpenAI.CompletionChoice & { prompt_logprobs?: PromptLogprobs; prompt_token_ids?: number[] }) | undefined;
    const list = c?.prompt_logprobs;
    if (!Array.isArray(list) || list.length === 0)
      throw new ScoringRefused('the reply carried no `prompt_logprobs` (the server does not know this vLLM extension)');
    return list.map((entry, k) => {
      if (entry === null) return {};
      const own = c!.prompt_token_ids?.[k];
      const keys = Object.keys(entry);
      // Asked for 0 alternatives, the entry holds the prompt's own token only; with more, the token ids say which.
      const id = own !== undefined ? String(own) : keys.length === 1 ? keys[0] : undefined;
      if (id === undefined || !entry[id])
        throw new Error(
          `${this.o.baseUrl} /completions (model ${this.label}): prompt_logprobs position ${k} has ${keys.length} tokens and no prompt_token_ids to say which is the prompt's`,
        );
      return { id, logprob: entry[id].logprob };
    });
  }
}

/** A chat response as a generation: its text, finish, token count and, where asked, its tokens' log-probabilities. */
function chatGeneration(r: OpenAI.ChatCompletion, o: SamplingOptions): Generation {
  const c = r.choices[0];
  const content = c?.logprobs?.content;
  return {
    text: c.message.content ?? c.message.refusal ?? '',
    finishReason: c?.finish_reason === 'length' ? 'length' : 'stop',
    tokens: r.usage?.completion_tokens ?? 0,
    ...(o.topLogprobs && content?.length
      ? { topLogprobs: content.map((t) => (t.top_logprobs ?? []).map((a) => ({ token: a.token, logprob: a.logprob }))) }
      : {}),
    ...(o.withTokens
      ? {
          promptTokens: r.usage?.prompt_tokens,
          ...(content?.length ? { tokenTexts: content.map((t) => t.token), tokenLogprobs: content.map((t) => t.logprob) } : {}),
        }
      : {}),
  };
}

/** How often the live loop guard looks at a streaming answer: after this many deltas or new characters, whichever comes first. */
const GUARD_EVERY = { deltas: 8, chars: 32 };

/**
 * A chat answer assembled from its stream's chunks (one choice: requests ask for n = 1), and what the
 * guard has seen of it.
 */
class StreamedChat {
  text = '';
  /** Chunks that carried text: about one token each on OpenAI, vLLM and llama.cpp. */
  deltas = 0;
  private refusal = '';
  private finish: string | null = null;
  private usage?: OpenAI.CompletionUsage;
  private logprobs: OpenAI.ChatCompletionTokenLogprob[] = [];
  private choices = 0;
  private seen = { deltas: 0, chars: 0 };

  add(chunk: OpenAI.ChatCompletionChunk): void {
    if (chunk.usage) this.usage = chunk.usage;
    const c = chunk.choices?.[0];
    if (!c) return; // the usage chunk carries no choice
    this.choices++;
    if (c.delta?.content) {
      this.text += c.delta.content;
      this.deltas++;
    }
    if (c.delta?.refusal) this.refusal += c.delta.refusal;
    if (c.logprobs?.content) this.logprobs.push(...c.logprobs.content);
    if (c.finish_reason) this.finish = c.finish_reason;
  }

  /** Whether the guard should look now: new text, and enough of it since it last looked. */
  due(): boolean {
    const deltas = this.deltas - this.seen.deltas,
      chars = this.text.length - this.seen.chars;
    if (chars === 0 || (deltas < GUARD_EVERY.deltas && chars < GUARD_EVERY.chars)) return false;
    this.seen = { deltas: this.deltas, chars: this.text.length };
    return true;
  }

  /** The stream so far as a plain response, with this finish. */
  completion(finish: string): OpenAI.ChatCompletion {
    const refused = this.text === '' && this.refusal !== '';
    return {
      id: 'streamed',
      object: 'chat.completion',
      created: 0,
      model: '',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: refused ? null : this.text, refusal: refused ? this.refusal : null },
          finish_reason: finish as OpenAI.ChatCompletion.Choice['finish_reason'],
          logprobs: this.logprobs.length ? { content: this.logprobs, refusal: null } : null,
        },
      ],
      ...(this.usage ? { usage: this.usage } : {}),
    };
  }

  /**
   * The whole stream as a plain response. A stream that ended without saying how it finished was cut off
   * on the way (a proxy, a crashed server), not an answer: invalid, so retried and never cached.
   */
  finished(): OpenAI.ChatCompletion {
    if (this.choices === 0) throw new InvalidResponse('invalid response: the stream carried no choice');
    if (this.finish === null) throw new InvalidResponse(`invalid response: the stream ended after ${this.text.length} characters without a finish_reason`);
    return this.completion(this.finish);
  }
}

/** A generation cut after its first `chars` characters: finishReason `cut`, and only the tokens within them. */
function cutGeneration(g: Generation, chars: number, tokens: number): Generation {
  const out: Generation = { ...g, text: g.text.slice(0, chars), finishReason: 'cut', tokens };
  if (g.tokenTexts) {
    let k = 0;
    for (let len = 0; k < g.tokenTexts.length && len + g.tokenTexts[k].length <= chars; k++) len += g.tokenTexts[k].length;
    out.tokenTexts = g.tokenTexts.slice(0, k);
    out.tokenLogprobs = g.tokenLogprobs?.slice(0, k);
    if (g.topLogprobs) out.topLogprobs = g.topLogprobs.slice(0, k);
    out.tokens = k;
  }
  return out;
}

/**
 * Where the guard cuts an answer it did not see stream in (a cached one): it looks as it would have
 * live, every GUARD_EVERY.chars characters or so, at the end of a word (where a delta would end).
 */
function replayCut(text: string, cut: (text: string) => boolean): number | undefined {
  for (let at = 0; ;) {
    const space = text.slice(at + GUARD_EVERY.chars).search(/\s/);
    if (space < 0) return undefined;
    at += GUARD_EVERY.chars + space;
    if (cut(text.slice(0, at))) return at;
  }
}

/** A streamed answer the guard cut: thrown through the remote wrapper, which would cache an answer it returned. */
class CutShort extends Error {
  constructor(readonly generation: Generation) {
    super('cut by the live loop guard');
  }
}

type Scored = { logprob: number; tokens: number[] };
type ScoreMethod = 'echo' | 'prompt_logprobs';
/** vLLM's per-position prompt log-probabilities: null first, then token id → {logprob, rank, decoded_token}. */
type PromptLogprobs = (Record<string, { logprob: number; rank?: number | null; decoded_token?: string | null }> | null)[];
/** The server understood the scoring request and said no, or answered without what was asked. */
class ScoringRefused extends Error {}
/** Neither way of scoring works on this server: kept, so later calls fail at once without asking again. */
class ScoringUnavailable extends Error {}
/** The LoRA adapter could not be loaded (or unloaded): the error names the server, endpoint, adapter and the server's reason. */
export class LoraUnavailable extends Error {}

/**
 * One failed call to an adapter endpoint: the HTTP status (none when no answer came) and the server's
 * message. The status is `httpStatus`, not `status`: scoring reads a cause's `status` as the server's
 * refusal to score, which a failed load is not.
 */
class AdapterCallFailed extends Error {
  constructor(
    message: string,
    readonly httpStatus?: number,
    readonly headers?: Headers,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** openaiRetryable's reading, for a plain fetch: no answer at all (refused, reset, timed out), 408, 409, 429 and 5xx. */
function adapterRetryable(e: AdapterCallFailed): RetryAdvice {
  const s = e.httpStatus;
  if (s === undefined || s === 408 || s === 409 || s === 429 || s >= 500) return { retry: true, afterMs: retryAfterMs(e.headers) };
  return { retry: false };
}

/** The message in vLLM's JSON error ({message} or {error: {message}}), else the body's text, shortened. */
function serverMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } };
    const m = j.message ?? j.error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // Not JSON: the text itself.
  }
  const t = text.trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t || '(empty body)';
}

/**
 * What is worth another try on an OpenAI-compatible server: a lost connection or a timeout, and the
 * statuses the API documents as transient (408, 409, 429, 5xx), after the server's Retry-After if given.
 */
export function openaiRetryable(e: unknown): RetryAdvice {
  if (e instanceof OpenAI.APIConnectionError || e instanceof InvalidResponse) return { retry: true };
  if (e instanceof OpenAI.APIError && e.status !== undefined && (e.status === 408 || e.status === 409 || e.status === 429 || e.status >= 500)) {
    return { retry: true, afterMs: retryAfterMs(e.headers as { get(name: string): string | null } | undefined) };
  }
  return { retry: false };
}

/**
 * The parts of an OpenAI response dramatis reads, checked before a response counts as an answer: at
 * least one choice, and its text a string (a chat refusal may carry `refusal` instead of `content`).
 * Anything else (`choices: []`, `content: null`, an HTML page the SDK returned as text) is an
 * InvalidResponse, which the remote wrapper retries and never caches.
 */
const RESPONSE = {
  chat: z
    .object({
      choices: z
        .array(
          z
            .object({
              message: z.union([
                z.object({ content: z.string() }).passthrough(),
                z.object({ content: z.null().optional(), refusal: z.string() }).passthrough(),
              ]),
              finish_reason: z.string().nullish(),
            })
            .passthrough(),
        )
        .min(1),
    })
    .passthrough(),
  completions: z.object({ choices: z.array(z.object({ text: z.string() }).passthrough()).min(1) }).passthrough(),
};

export function validResponse(endpoint: 'chat' | 'completions', r: unknown): unknown {
  const parsed = RESPONSE[endpoint].safeParse(r);
  if (parsed.success) return r;
  const issue = parsed.error.issues[0];
  const what = typeof r === 'string' ? `a text body (${JSON.stringify(r.slice(0, 60))}…), not JSON` : `${issue.path.join('.') || 'the body'}: ${issue.message}`;
  throw new InvalidResponse(`invalid response: ${what}`);
}
