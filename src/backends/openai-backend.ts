/**
 * Any OpenAI-compatible server as a backend (`openai:MODEL`): vLLM, llama.cpp server, Ollama, hosted
 * APIs, and `dramatis serve`. Built on the official `openai` SDK, which already retries 408/409/429/5xx
 * and timeouts with exponential back-off and jitter, honouring Retry-After; this class adds a
 * concurrency limit (p-limit), a disk cache keyed by the request, and the scoring of a given text
 * through /v1/completions with echo + logprobs.
 */
import OpenAI, { toFile } from 'openai';
import pLimit from 'p-limit';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { requestSeed, type Capabilities, type ChatMessage, type FinetuneRequest, type Generation, type Model, type Progress, type SamplingOptions, type Snapshot } from './model.ts';

export { requestSeed };
import { RequestCache } from './request-cache.ts';

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
  /** Folder for the response cache; none when undefined. */
  cacheDir?: string;
}

export class OpenAIModel implements Model {
  readonly capabilities: Capabilities = { chat: true, complete: true, score: true, activations: false, steering: false, finetune: true };
  readonly id: string;
  /** A served model is known by its name and server; its weights are not visible from here. */
  readonly fingerprint: string;
  snapshots?: Snapshot[];
  private client: OpenAI;
  private limit: ReturnType<typeof pLimit>;
  private cache?: RequestCache;

  constructor(private o: OpenAIBackendOptions) {
    this.id = `openai:${o.model}`;
    this.fingerprint = createHash('sha256').update(`${o.baseUrl}|${o.model}`).digest('hex').slice(0, 16);
    this.client = new OpenAI({ baseURL: o.baseUrl, apiKey: o.apiKey ?? 'none', timeout: o.timeoutMs ?? 120_000, maxRetries: o.maxRetries ?? 5 });
    this.limit = pLimit(o.concurrency ?? 16);
    if (o.cacheDir) this.cache = new RequestCache(join(o.cacheDir, 'requests.db'));
  }

  /** One request through the limiter and the cache; errors name the server, the endpoint and the model. */
  private async request<T>(endpoint: 'chat' | 'completions', body: Record<string, unknown>): Promise<T> {
    const key = RequestCache.key({ baseUrl: this.o.baseUrl, endpoint, body });
    const hit = this.cache?.get<T>(key);
    if (hit !== undefined) return hit;
    return this.limit(async () => {
      let response: unknown;
      try {
        response = endpoint === 'chat'
          ? await this.client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
          : await this.client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming);
      } catch (e) {
        const status = (e as { status?: number }).status;
        throw new Error(`${this.o.baseUrl} /${endpoint === 'chat' ? 'chat/completions' : 'completions'} (model ${this.o.model}): ${status ? `HTTP ${status}: ` : ''}${(e as Error).message}`, { cause: e });
      }
      this.cache?.set(key, response);
      return response as T;
    });
  }

  private async each<T>(n: number, one: (i: number) => Promise<T>, onProgress?: Progress): Promise<T[]> {
    let done = 0;
    return Promise.all(Array.from({ length: n }, async (_, i) => {
      const r = await one(i);
      onProgress?.(++done, n);
      return r;
    }));
  }

  private sampling(o: SamplingOptions, i: number) {
    if (o.steering?.length) throw new Error(`${this.id} cannot be steered (not a white-box backend)`);
    return {
      temperature: o.temperature ?? 1, top_p: o.topP ?? 1, max_tokens: o.maxTokens ?? 64,
      ...(o.stop?.length ? { stop: o.stop } : {}), seed: requestSeed(o.seed, o.seeds?.[i] ?? i),
    };
  }

  private chatLogprobs(o: SamplingOptions) {
    return o.topLogprobs ? { logprobs: true, top_logprobs: o.topLogprobs } : {};
  }

  async chat(conversations: ChatMessage[][], o: SamplingOptions = {}, onProgress?: Progress): Promise<Generation[]> {
    return this.each(conversations.length, async (i) => {
      const r = await this.request<OpenAI.ChatCompletion>('chat', { model: this.o.model, messages: conversations[i], n: 1, ...this.sampling(o, i), ...this.chatLogprobs(o) });
      const c = r.choices[0];
      const content = c?.logprobs?.content;
      return {
        text: c?.message?.content ?? '', finishReason: c?.finish_reason === 'length' ? 'length' as const : 'stop' as const, tokens: r.usage?.completion_tokens ?? 0,
        ...(o.topLogprobs && content?.length ? { topLogprobs: content.map((t) => (t.top_logprobs ?? []).map((a) => ({ token: a.token, logprob: a.logprob }))) } : {}),
      };
    }, onProgress);
  }

  async complete(prompts: string[], o: SamplingOptions = {}, onProgress?: Progress): Promise<Generation[]> {
    return this.each(prompts.length, async (i) => {
      const r = await this.request<OpenAI.Completion>('completions', { model: this.o.model, prompt: prompts[i], n: 1, ...this.sampling(o, i) });
      const c = r.choices[0];
      return { text: c?.text ?? '', finishReason: c?.finish_reason === 'length' ? 'length' as const : 'stop' as const, tokens: r.usage?.completion_tokens ?? 0 };
    }, onProgress);
  }

  /**
   * Fine-tune through the OpenAI-compatible API: upload the chats as JSONL, create the job, poll it
   * (progress from its events), then return the fine-tuned model. The learning rate is sent as
   * `learning_rate_multiplier` = learningRate / 1e-3, the base rate of `dramatis serve`; LoRA and
   * persona-only go as `method`, and snapshots as `snapshots` (dramatis extensions; the snapshots come
   * back as the job's checkpoints). The job's result is cached by request, so a rerun does not train again.
   */
  async finetune(req: FinetuneRequest, onProgress?: Progress): Promise<Model> {
    const body = {
      model: this.o.model, seed: req.seed, ...(req.snapshots ? { snapshots: req.snapshots } : {}),
      hyperparameters: { n_epochs: req.epochs, batch_size: req.batchSize, learning_rate_multiplier: req.learningRate / 1e-3 },
      ...(req.mode !== 'full' ? { method: { type: req.mode, ...(req.rank ? { rank: req.rank } : {}) } } : {}),
    };
    const key = RequestCache.key({ baseUrl: this.o.baseUrl, endpoint: 'fine_tuning', body, chats: req.chats });
    let found = this.cache?.get<{ name: string; checkpoints: { step: number; model: string }[] }>(key);
    if (!found) {
      const where = `${this.o.baseUrl} fine-tuning of ${this.o.model} on ${req.dataName}`;
      try {
        const jsonl = req.chats.map((c) => JSON.stringify({ messages: c.messages })).join('\n') + '\n';
        const file = await this.client.files.create({ file: await toFile(Buffer.from(jsonl), `${req.dataName.replace(/[^\w.-]+/g, '_')}.jsonl`), purpose: 'fine-tune' });
        let job = await this.client.fineTuning.jobs.create({ ...body, training_file: file.id } as OpenAI.FineTuning.JobCreateParams);
        for (let wait = 500; job.status !== 'succeeded'; wait = Math.min(wait * 1.5, 30_000)) {
          if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`job ${job.id} ${job.status}${job.error?.message ? `: ${job.error.message}` : ''}`);
          await new Promise((r) => setTimeout(r, wait));
          job = await this.client.fineTuning.jobs.retrieve(job.id);
          // The newest event that carries a step count (hosts put {step, total_steps} in `data`).
          const events = (await this.client.fineTuning.jobs.listEvents(job.id, { limit: 10 })).data;
          const last = events.map((e) => e.data as { step?: number; total_steps?: number } | undefined).find((d) => d?.step && d.total_steps);
          if (last) onProgress?.(last.step!, last.total_steps!);
        }
        const name = job.fine_tuned_model;
        if (!name) throw new Error(`job ${job.id} succeeded without naming its model`);
        const checkpoints = req.snapshots
          ? (await this.client.fineTuning.jobs.checkpoints.list(job.id)).data.map((c) => ({ step: c.step_number, model: c.fine_tuned_model_checkpoint })).sort((a, b) => a.step - b.step)
          : [];
        if (req.snapshots && checkpoints.length < 2) throw new Error(`job ${job.id} kept no checkpoints along the fine-tune (the server ignored \`snapshots\`)`);
        found = { name, checkpoints };
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
      }
      this.cache?.set(key, found);
    }
    const model = new OpenAIModel({ ...this.o, model: found.name });
    if (req.snapshots) {
      const steps = Math.max(...found.checkpoints.map((c) => c.step));
      model.snapshots = found.checkpoints.map((c) => ({ step: c.step, steps, model: c.model === found!.name ? model : new OpenAIModel({ ...this.o, model: c.model }) }));
    }
    return model;
  }

  /**
   * log p(continuation | prompt): the prompt and the continuation are sent as one text (joined by a
   * space unless the prompt ends in whitespace) with echo, max_tokens 0 and logprobs; the tokens whose
   * offset lies in the continuation are summed. Servers without echo + logprobs cannot do this.
   */
  async score(pairs: { prompt: string; continuation: string }[], onProgress?: Progress) {
    return this.each(pairs.length, async (i) => {
      const { prompt, continuation } = pairs[i];
      const sep = /\s$/.test(prompt) || continuation === '' ? '' : ' ';
      const text = prompt + sep + continuation;
      let r: OpenAI.Completion;
      try {
        r = await this.request<OpenAI.Completion>('completions', { model: this.o.model, prompt: text, echo: true, max_tokens: 0, logprobs: 1, temperature: 0 });
      } catch (e) {
        throw new Error(`${(e as Error).message}\n(scoring a given text needs /v1/completions with echo and logprobs, as llama.cpp server, vLLM and OpenAI's legacy completions give; for chat-only servers use infer.describe, the generative alternative)`, { cause: e });
      }
      const lp = r.choices[0]?.logprobs;
      if (!lp?.token_logprobs || !lp.text_offset) throw new Error(`${this.o.baseUrl}: the completion for scoring came back without token logprobs and offsets (the server ignored echo + logprobs)`);
      const start = prompt.length + sep.length;
      let total = 0;
      const tokens: number[] = [];
      lp.text_offset.forEach((off, k) => {
        const v = lp.token_logprobs![k];
        if (off >= start && v !== null && v !== undefined) { total += v; tokens.push(v); }
      });
      return { logprob: total, tokens };
    }, onProgress);
  }
}
