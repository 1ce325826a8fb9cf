/**
 * The fine-tuning half of `dramatis serve`: `/v1/files` takes the training JSONL, `/v1/fine_tuning/jobs`
 * runs fine-tunes in the background, one at a time, through the served model's own `finetune`
 * capability (the organism trains in process, caching by request), and registers each result as a new
 * model (`ft:BASE:SUFFIX:JOBID`) that the chat and completion routes then serve.
 *
 * Hyperparameters: `n_epochs`, `batch_size`, and `learning_rate_multiplier` times the organism's base
 * fine-tuning rate (1e-3), as on hosted APIs. dramatis's own extensions, ignored elsewhere: `method`
 * `{type: "lora", rank}` or `{type: "persona"}`, and `seed`.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { z } from 'zod';
import { hasCapability, type Model } from '../backends/model.ts';
import { DEFAULT_FINETUNE } from '../organism/stages.ts';
import { readChatJsonl } from '../shared/chat.ts';
import { ApiError } from './errors.ts';
import type { ModelTable } from './model-table.ts';

interface StoredFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  path: string;
}

interface Job {
  id: string;
  object: 'fine_tuning.job';
  model: string;
  created_at: number;
  finished_at: number | null;
  fine_tuned_model: string | null;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  training_file: string;
  hyperparameters: { n_epochs: number; batch_size: number; learning_rate_multiplier: number };
  trained_tokens: number | null;
  error: { code: string; message: string; param: string | null } | null;
  seed: number;
  method: { type: 'supervised' | 'lora' | 'persona'; rank?: number };
  events: { id: string; object: 'fine_tuning.job.event'; created_at: number; level: 'info' | 'error'; message: string; data?: unknown }[];
  snapshots: number;
  checkpoints: {
    id: string;
    object: 'fine_tuning.job.checkpoint';
    created_at: number;
    fine_tuned_model_checkpoint: string;
    step_number: number;
    metrics: Record<string, number>;
    fine_tuning_job_id: string;
  }[];
}

const jobSchema = z
  .object({
    model: z.string(),
    training_file: z.string(),
    suffix: z.string().max(40).nullish(),
    seed: z.number().int().nullish(),
    hyperparameters: z
      .object({
        n_epochs: z.union([z.number().positive().max(100), z.literal('auto')]).nullish(),
        batch_size: z.union([z.number().int().positive().max(4096), z.literal('auto')]).nullish(),
        learning_rate_multiplier: z.union([z.number().positive().max(100), z.literal('auto')]).nullish(),
      })
      .passthrough()
      .nullish(),
    method: z
      .object({ type: z.enum(['supervised', 'lora', 'persona']), rank: z.number().int().min(1).max(64).optional() })
      .passthrough()
      .nullish(),
    /** dramatis extension: keep this many evenly spaced checkpoints (listed at /checkpoints, served as models). */
    snapshots: z.number().int().min(1).max(20).nullish(),
  })
  .passthrough();

const now = () => Math.floor(Date.now() / 1000);

/** A file as clients see it: without where the server keeps it. */
function publicFile(f: StoredFile): Omit<StoredFile, 'path'> {
  const { path: _where, ...shown } = f;
  return shown;
}

/** Record an event in a job's log (what /events lists, newest first). */
function addEvent(job: Job, message: string, level: 'info' | 'error' = 'info', data?: unknown): void {
  job.events.push({ id: `ftevent-${job.events.length}`, object: 'fine_tuning.job.event', created_at: now(), level, message, data });
}

/** A served model by id (loaded once by the server). */
export type ModelOf = (modelId: string) => Promise<Model>;

export function addFinetuneRoutes(app: Hono, o: { models: ModelTable; dataDir: string; modelOf: ModelOf }): void {
  const files = new Map<string, StoredFile>();
  const jobs = new Map<string, Job>();
  /** Cancelling a running job stops its training (backends that can, e.g. the organism on its worker thread). */
  const stops = new Map<string, AbortController>();
  let queue = Promise.resolve();
  mkdirSync(o.dataDir, { recursive: true });

  app.post('/v1/files', async (c) => {
    const form = await c.req.parseBody().catch(() => {
      throw new ApiError(400, 'expected a multipart form with `file` and `purpose`');
    });
    const file = form.file;
    if (!(file instanceof File)) throw new ApiError(400, 'file: missing (multipart field `file`)', 'invalid_request_error', 'file');
    const id = `file-${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    const path = join(o.dataDir, `${id}.jsonl`);
    writeFileSync(path, Buffer.from(await file.arrayBuffer()));
    // Validate now, so a malformed line is reported with its number when the file is uploaded.
    try {
      readChatJsonl(path);
    } catch (e) {
      // A rejected upload is not kept.
      rmSync(path, { force: true });
      throw new ApiError(400, `${file.name}: ${(e as Error).message.replace(path, file.name)}`, 'invalid_request_error', 'file');
    }
    const f: StoredFile = { id, object: 'file', bytes: file.size, created_at: now(), filename: file.name, purpose: String(form.purpose ?? 'fine-tune'), path };
    files.set(id, f);
    return c.json(publicFile(f));
  });

  app.get('/v1/files/:id', (c) => {
    const f = files.get(c.req.param('id'));
    if (!f) throw new ApiError(404, `no file ${c.req.param('id')}`, 'invalid_request_error', 'file_id');
    return c.json(publicFile(f));
  });

  const shown = (j: Job) => {
    const { events: _e, seed: _s, checkpoints: _c, snapshots: _n, ...rest } = j;
    return rest;
  };

  app.post('/v1/fine_tuning/jobs', async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new ApiError(400, 'the request body is not valid JSON');
    }
    const parsed = jobSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new ApiError(400, `${i.path.join('.')}: ${i.message}`, 'invalid_request_error', i.path.join('.') || null);
    }
    const req = parsed.data;
    if (!o.models.has(req.model)) throw new ApiError(404, `The model \`${req.model}\` does not exist`, 'invalid_request_error', 'model', 'model_not_found');
    const base = await o.modelOf(req.model);
    if (!hasCapability(base, 'finetune'))
      throw new ApiError(400, `the model ${base.id} cannot be fine-tuned: it lacks the "finetune" capability`, 'invalid_request_error', 'model');
    const file = files.get(req.training_file);
    if (!file) throw new ApiError(404, `no file ${req.training_file}`, 'invalid_request_error', 'training_file');
    const hp = req.hyperparameters ?? {};
    const job: Job = {
      id: `ftjob-${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      object: 'fine_tuning.job',
      model: req.model,
      created_at: now(),
      finished_at: null,
      fine_tuned_model: null,
      status: 'queued',
      training_file: file.id,
      hyperparameters: {
        n_epochs: typeof hp.n_epochs === 'number' ? hp.n_epochs : DEFAULT_FINETUNE.epochs,
        batch_size: typeof hp.batch_size === 'number' ? hp.batch_size : DEFAULT_FINETUNE.batchSize,
        learning_rate_multiplier: typeof hp.learning_rate_multiplier === 'number' ? hp.learning_rate_multiplier : 1,
      },
      trained_tokens: null,
      error: null,
      seed: req.seed ?? DEFAULT_FINETUNE.seed,
      method: { type: req.method?.type ?? 'supervised', ...(req.method?.rank ? { rank: req.method.rank } : {}) },
      events: [],
      snapshots: req.snapshots ?? 0,
      checkpoints: [],
    };
    const event = (message: string, level: 'info' | 'error' = 'info', data?: unknown) => addEvent(job, message, level, data);
    event('job queued');
    jobs.set(job.id, job);
    const stop = new AbortController();
    stops.set(job.id, stop);
    const suffix = req.suffix ?? 'dramatis';
    const checkpoint = (step: number, model: string, metrics: Record<string, number>): Job['checkpoints'][number] => ({
      id: `ftckpt-${job.id.slice(6, 14)}-${step}`,
      object: 'fine_tuning.job.checkpoint',
      created_at: now(),
      fine_tuned_model_checkpoint: model,
      step_number: step,
      metrics,
      fine_tuning_job_id: job.id,
    });
    queue = queue.then(async () => {
      if (job.status === 'cancelled') return;
      job.status = 'running';
      event('fine-tuning started');
      try {
        const tuned = await base.finetune(
          {
            dataName: file.filename,
            chats: readChatJsonl(file.path),
            mode: job.method.type === 'supervised' ? 'full' : job.method.type,
            rank: job.method.rank,
            epochs: job.hyperparameters.n_epochs,
            batchSize: job.hyperparameters.batch_size,
            learningRate: DEFAULT_FINETUNE.learningRate * job.hyperparameters.learning_rate_multiplier,
            seed: job.seed,
            snapshots: job.snapshots || undefined,
            signal: stop.signal,
          },
          (step, steps, metrics) => {
            if (step % 10 === 0 || step === steps)
              event(`step ${step}/${steps}${metrics?.train_loss === undefined ? '' : `: training loss ${metrics.train_loss.toFixed(4)}`}`, 'info', {
                step,
                total_steps: steps,
                ...(metrics?.train_loss === undefined ? {} : { train_loss: metrics.train_loss }),
              });
          },
        );
        // Cancelled while it trained: the training ran to its end in this process, but nothing is served.
        if ((job.status as Job['status']) === 'cancelled') {
          event('cancelled: the fine-tuned model is not served');
          return;
        }
        const name = `ft:${req.model}:${suffix}:${job.id.slice(6, 14)}`;
        o.models.set(name, async () => tuned);
        // Snapshots along the fine-tune, as the checkpoints hosted APIs list (the final model is the job's own).
        const steps = tuned.training?.steps ?? tuned.snapshots?.at(-1)?.steps ?? 0;
        for (const snap of tuned.snapshots ?? []) {
          if (snap.model === tuned) continue;
          const ckName = `${name}:ckpt-step-${snap.step}`;
          o.models.set(ckName, async () => snap.model);
          job.checkpoints.push(checkpoint(snap.step, ckName, {}));
        }
        job.checkpoints.push(checkpoint(steps, name, tuned.training?.finalLoss == null ? {} : { train_loss: tuned.training.finalLoss }));
        job.fine_tuned_model = name;
        job.trained_tokens = tuned.training?.tokens ?? null;
        job.status = 'succeeded';
        event(`fine-tuned model ${name} is ready`);
      } catch (e) {
        if ((job.status as Job['status']) === 'cancelled') return;
        job.status = 'failed';
        job.error = { code: 'training_failed', message: (e as Error).message, param: null };
        event(`failed: ${(e as Error).message}`, 'error');
      } finally {
        job.finished_at = now();
      }
    });
    return c.json(shown(job));
  });

  app.get('/v1/fine_tuning/jobs', (c) => c.json({ object: 'list', data: [...jobs.values()].reverse().map(shown), has_more: false }));
  app.get('/v1/fine_tuning/jobs/:id', (c) => {
    const j = jobs.get(c.req.param('id'));
    if (!j) throw new ApiError(404, `no fine-tuning job ${c.req.param('id')}`, 'invalid_request_error', 'fine_tuning_job_id');
    return c.json(shown(j));
  });
  app.post('/v1/fine_tuning/jobs/:id/cancel', (c) => {
    const j = jobs.get(c.req.param('id'));
    if (!j) throw new ApiError(404, `no fine-tuning job ${c.req.param('id')}`, 'invalid_request_error', 'fine_tuning_job_id');
    if (j.status === 'queued' || j.status === 'running') {
      stops.get(j.id)?.abort();
      j.status = 'cancelled';
      j.finished_at = now();
      addEvent(j, 'job cancelled');
    }
    return c.json(shown(j));
  });

  app.get('/v1/fine_tuning/jobs/:id/checkpoints', (c) => {
    const j = jobs.get(c.req.param('id'));
    if (!j) throw new ApiError(404, `no fine-tuning job ${c.req.param('id')}`, 'invalid_request_error', 'fine_tuning_job_id');
    return c.json({ object: 'list', data: [...j.checkpoints].reverse(), has_more: false, first_id: null, last_id: null });
  });
  app.get('/v1/fine_tuning/jobs/:id/events', (c) => {
    const j = jobs.get(c.req.param('id'));
    if (!j) throw new ApiError(404, `no fine-tuning job ${c.req.param('id')}`, 'invalid_request_error', 'fine_tuning_job_id');
    return c.json({ object: 'list', data: [...j.events].reverse(), has_more: false });
  });
}
