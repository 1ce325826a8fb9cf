/**
 * The fine-tuning half of `dramatis serve`: `/v1/files` takes the training JSONL, `/v1/fine_tuning/jobs`
 * runs fine-tunes in the background, one at a time, through the served model's own `finetune`
 * capability (the organism trains on a worker thread, caching by request), and registers each result as
 * a new model (`ft:BASE:SUFFIX:JOBID`) that the chat and completion routes then serve.
 *
 * Hyperparameters (`n_epochs`, `batch_size`, `learning_rate_multiplier` times the organism's base
 * fine-tuning rate, 1e-3) come either the legacy way, top-level `hyperparameters`, or the current way,
 * `method: {type: 'supervised', supervised: {hyperparameters}}`; 'auto' is the organism's default. Both
 * given and disagreeing is a 400, as is a method this server cannot run (dpo, reinforcement). dramatis's
 * own extensions, ignored elsewhere: `method` `{type: "lora", rank}` or `{type: "persona"}`, `snapshots`.
 * A `validation_file` is checked and kept with the job; no backend computes a validation loss during its
 * fine-tune yet, so the job says that (`validation.loss: null` with the reason) rather than invent one.
 *
 * State (files, jobs) lives in a StateDir (state.ts) and is reloaded at start: succeeded jobs' models are
 * served again, and a job that was queued or running when the server stopped is marked failed.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { z } from 'zod';
import { hasCapability, type FinetuneRequest, type Model } from '../backends/model.ts';
import { DEFAULT_FINETUNE } from '../organism/stages.ts';
import { readChatJsonl } from '../shared/chat.ts';
import { ApiError } from './errors.ts';
import { body } from './requests.ts';
import { answerCoverage, checkCoverage } from '../experiments/coverage.ts';
import type { ModelTable } from './model-table.ts';
import type { StateDir } from './state.ts';

interface StoredFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
}

type MethodType = 'supervised' | 'lora' | 'persona';
interface Hyperparameters {
  n_epochs: number;
  batch_size: number;
  learning_rate_multiplier: number;
}

interface JobEvent {
  id: string;
  object: 'fine_tuning.job.event';
  created_at: number;
  level: 'info' | 'error';
  message: string;
  /** 'metrics' events carry `data: {step, total_steps, train_loss}`, as OpenAI's do. */
  type: 'message' | 'metrics';
  data?: unknown;
}

interface Checkpoint {
  id: string;
  object: 'fine_tuning.job.checkpoint';
  created_at: number;
  fine_tuned_model_checkpoint: string;
  step_number: number;
  metrics: Record<string, number>;
  fine_tuning_job_id: string;
}

interface Job {
  id: string;
  object: 'fine_tuning.job';
  model: string;
  created_at: number;
  finished_at: number | null;
  fine_tuned_model: string | null;
  organization_id: string;
  result_files: string[];
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  training_file: string;
  validation_file: string | null;
  /** No backend's fine-tune reports a validation loss yet: said here, never made up. */
  validation: { loss: number | null; note: string } | null;
  hyperparameters: Hyperparameters;
  trained_tokens: number | null;
  error: { code: string; message: string; param: string | null } | null;
  seed: number;
  method: { type: MethodType; rank?: number } & Partial<Record<MethodType, { hyperparameters: Hyperparameters; rank?: number }>>;
  // Kept in the state folder, not shown on the job:
  events: JobEvent[];
  checkpoints: Checkpoint[];
  snapshots: number;
  /** The base model's weights when the job ran: a restarted server rebuilds the model only on the same base. */
  base_fingerprint: string;
  /** The training data's file name (the backend's cache key and messages use it). */
  data_name: string;
}

const auto = z.literal('auto');
const hyperparametersSchema = z
  .object({
    n_epochs: z.union([z.number().positive().max(100), auto]).nullish(),
    batch_size: z.union([z.number().int().positive().max(4096), auto]).nullish(),
    learning_rate_multiplier: z.union([z.number().positive().max(100), auto]).nullish(),
  })
  // An unknown hyperparameter (dpo's beta, a typo) would be silently ignored otherwise.
  .strict();
type GivenHyperparameters = z.infer<typeof hyperparametersSchema>;

const METHODS = ['supervised', 'lora', 'persona'] as const;
/** OpenAI's methods that this server cannot run, named so the 400 says so rather than "invalid enum". */
const FOREIGN_METHODS = ['dpo', 'reinforcement'];

const methodBlock = z.object({ hyperparameters: hyperparametersSchema.nullish(), rank: z.number().int().min(1).max(64).nullish() }).passthrough();
const jobSchema = z
  .object({
    model: z.string(),
    training_file: z.string(),
    validation_file: z.string().nullish(),
    suffix: z.string().max(40).nullish(),
    seed: z.number().int().nullish(),
    hyperparameters: hyperparametersSchema.nullish(),
    method: z
      .object({
        type: z.string(),
        rank: z.number().int().min(1).max(64).nullish(),
        supervised: methodBlock.nullish(),
        lora: methodBlock.nullish(),
        persona: methodBlock.nullish(),
      })
      .passthrough()
      .nullish(),
    /** dramatis extension: keep this many evenly spaced checkpoints (listed at /checkpoints, served as models). */
    snapshots: z.number().int().min(1).max(20).nullish(),
    /** dramatis extension: train even on data the model mostly cannot read (true, or the largest unknown share accepted). */
    allow_unknown: z.union([z.boolean(), z.number().min(0).max(1)]).nullish(),
  })
  .passthrough();
type JobRequest = z.infer<typeof jobSchema>;

const bad = (message: string, param: string | null) => new ApiError(400, message, 'invalid_request_error', param);

/** The method and the hyperparameters of a request, from either place they may be given; 400s say what is wrong. */
export function resolveMethod(req: Pick<JobRequest, 'hyperparameters' | 'method'>): { type: MethodType; rank?: number; hyperparameters: Hyperparameters } {
  const m = req.method ?? { type: 'supervised' };
  if (FOREIGN_METHODS.includes(m.type))
    throw bad(
      `method.type: "${m.type}" fine-tuning is not supported by this server (it runs "supervised", and dramatis's "lora" and "persona")`,
      'method.type',
    );
  if (!(METHODS as readonly string[]).includes(m.type))
    throw bad(`method.type: "${m.type}" is not a fine-tuning method (supervised, lora or persona)`, 'method.type');
  const type = m.type as MethodType;
  for (const other of [...METHODS, ...FOREIGN_METHODS])
    if (other !== type && (m as Record<string, unknown>)[other] != null)
      throw bad(`method.${other} is given but method.type is "${type}": give the settings of the method that runs`, `method.${other}`);
  const block = (m as Record<string, z.infer<typeof methodBlock> | null | undefined>)[type];
  const inMethod: GivenHyperparameters = block?.hyperparameters ?? {};
  const topLevel: GivenHyperparameters = req.hyperparameters ?? {};
  const keys = ['n_epochs', 'batch_size', 'learning_rate_multiplier'] as const;
  const given: GivenHyperparameters = {};
  for (const k of keys) {
    const a = topLevel[k],
      b = inMethod[k];
    if (a != null && b != null && a !== b)
      throw bad(`hyperparameters.${k} (${a}) and method.${type}.hyperparameters.${k} (${b}) disagree: give one`, `method.${type}.hyperparameters.${k}`);
    given[k] = b ?? a;
  }
  const num = (v: number | 'auto' | null | undefined, dflt: number) => (typeof v === 'number' ? v : dflt);
  const rank = block?.rank ?? m.rank ?? undefined;
  if (rank != null && type !== 'lora') throw bad(`rank is a setting of method "lora", not "${type}"`, 'method.rank');
  return {
    type,
    ...(rank != null ? { rank } : {}),
    hyperparameters: {
      n_epochs: num(given.n_epochs, DEFAULT_FINETUNE.epochs),
      batch_size: num(given.batch_size, DEFAULT_FINETUNE.batchSize),
      learning_rate_multiplier: num(given.learning_rate_multiplier, 1),
    },
  };
}

const now = () => Math.floor(Date.now() / 1000);
const shortId = () => randomUUID().replaceAll('-', '').slice(0, 24);

/** A served model by id (loaded once by the server). */
export type ModelOf = (modelId: string) => Promise<Model>;

export interface FinetuneRoutes {
  /** Stops running trainings (their jobs fail, saying the server stopped) and waits for them to end. */
  close(): Promise<void>;
}

export function addFinetuneRoutes(app: Hono, o: { models: ModelTable; state: StateDir; modelOf: ModelOf; log?: (line: string) => void }): FinetuneRoutes {
  const { state } = o;
  const log = o.log ?? ((line: string) => process.stderr.write(`dramatis serve: ${line}\n`));
  const files = new Map<string, StoredFile>();
  const jobs = new Map<string, Job>();
  /** Cancelling a running job stops its training (backends that can, e.g. the organism on its worker thread). */
  const stops = new Map<string, AbortController>();
  let queue = Promise.resolve();

  const fileData = (id: string) => join(state.files, `${id}.jsonl`);
  const jobData = (id: string) => join(state.jobs, `${id}.train.jsonl`);
  const saveFile = (f: StoredFile) => state.write(state.files, `${f.id}.json`, f);
  const saveJob = (j: Job) => state.write(state.jobs, `${j.id}.json`, j);
  const event = (job: Job, message: string, level: 'info' | 'error' = 'info', data?: unknown) => {
    job.events.push({
      id: `ftevent-${job.events.length}`,
      object: 'fine_tuning.job.event',
      created_at: now(),
      level,
      message,
      type: data ? 'metrics' : 'message',
      data,
    });
    saveJob(job);
  };
  const shown = (j: Job) => {
    const { events: _e, checkpoints: _c, snapshots: _n, base_fingerprint: _b, data_name: _d, ...rest } = j;
    return rest;
  };
  const jobOr404 = (id: string) => {
    const j = jobs.get(id);
    if (!j) throw new ApiError(404, `no fine-tuning job ${id}`, 'invalid_request_error', 'fine_tuning_job_id');
    return j;
  };
  const fileOr404 = (id: string, param = 'file_id') => {
    const f = files.get(id);
    if (!f) throw new ApiError(404, `no file ${id}`, 'invalid_request_error', param);
    return f;
  };

  /** What the backend is asked for: the same request rebuilds the same model (a cache hit) after a restart. */
  const request = (job: Job, signal?: AbortSignal): FinetuneRequest => ({
    dataName: job.data_name,
    chats: readChatJsonl(jobData(job.id)),
    mode: job.method.type === 'supervised' ? 'full' : job.method.type,
    rank: job.method.rank,
    epochs: job.hyperparameters.n_epochs,
    batchSize: job.hyperparameters.batch_size,
    learningRate: DEFAULT_FINETUNE.learningRate * job.hyperparameters.learning_rate_multiplier,
    seed: job.seed,
    snapshots: job.snapshots || undefined,
    signal,
  });

  /** Serves a job's model and its checkpoints under their names (`tuned` now, or rebuilt on first use). */
  const serveJob = (job: Job, tuned?: Model) => {
    let built: Promise<Model> | undefined = tuned ? Promise.resolve(tuned) : undefined;
    const model = () =>
      (built ??= (async () => {
        const base = await o.modelOf(job.model);
        if (base.fingerprint !== job.base_fingerprint)
          throw new ApiError(
            400,
            `${job.fine_tuned_model} was fine-tuned from other weights of ${job.model} than the ones served now; fine-tune it again`,
            'invalid_request_error',
            'model',
          );
        if (!hasCapability(base, 'finetune')) throw new ApiError(400, `the model ${base.id} can no longer be fine-tuned`, 'invalid_request_error', 'model');
        return base.finetune(request(job));
      })().catch((e) => {
        built = undefined; // a failed rebuild is tried again on the next request
        throw e;
      }));
    for (const ck of job.checkpoints) {
      const name = ck.fine_tuned_model_checkpoint;
      if (name === job.fine_tuned_model) continue;
      o.models.set(name, async () => {
        const snap = (await model()).snapshots?.find((s) => s.step === ck.step_number);
        if (!snap) throw new ApiError(404, `the checkpoint ${name} was not rebuilt`, 'invalid_request_error', 'model', 'model_not_found');
        return snap.model;
      });
    }
    o.models.set(job.fine_tuned_model!, model);
  };

  // What the last server left: files as they were; succeeded jobs served again; interrupted ones failed.
  for (const f of state.read<StoredFile>(state.files, (p, why) => log(`${p}: unreadable (${why}), skipped`)))
    if (existsSync(fileData(f.id))) files.set(f.id, f);
  for (const job of state.read<Job>(state.jobs, (p, why) => log(`${p}: unreadable (${why}), skipped`))) {
    jobs.set(job.id, job);
    if (job.status === 'queued' || job.status === 'running') {
      const was = job.status;
      const last = [...job.events].reverse().find((e) => e.type === 'metrics')?.data as { step?: number; total_steps?: number } | undefined;
      job.status = 'failed';
      job.finished_at = now();
      job.error = {
        code: 'server_stopped',
        message: `the server stopped while this job was ${was}${last?.step ? ` (at step ${last.step}/${last.total_steps})` : ''}; nothing was kept: create the job again`,
        param: null,
      };
      event(job, `failed: ${job.error.message}`, 'error');
    } else if (job.status === 'succeeded' && job.fine_tuned_model) {
      if (o.models.has(job.model)) serveJob(job);
      else log(`${job.fine_tuned_model} (job ${job.id}) is not served: its base model ${job.model} is not served now`);
    }
  }

  app.post('/v1/files', async (c) => {
    const form = await c.req.parseBody().catch(() => {
      throw new ApiError(400, 'expected a multipart form with `file` and `purpose`');
    });
    const file = form.file;
    if (!(file instanceof File)) throw new ApiError(400, 'file: missing (multipart field `file`)', 'invalid_request_error', 'file');
    const id = `file-${shortId()}`;
    const path = fileData(id);
    writeFileSync(path, Buffer.from(await file.arrayBuffer()));
    const purpose = String(form.purpose ?? 'fine-tune');
    // Validate now, so a malformed line is reported with its number when the file is uploaded.
    if (purpose === 'fine-tune')
      try {
        readChatJsonl(path);
      } catch (e) {
        // A rejected upload is not kept.
        rmSync(path, { force: true });
        throw new ApiError(400, `${file.name}: ${(e as Error).message.replace(path, file.name)}`, 'invalid_request_error', 'file');
      }
    const f: StoredFile = { id, object: 'file', bytes: file.size, created_at: now(), filename: file.name, purpose, status: 'processed' };
    files.set(id, f);
    saveFile(f);
    return c.json(f);
  });

  app.get('/v1/files', (c) => {
    const purpose = c.req.query('purpose');
    const data = [...files.values()].filter((f) => !purpose || f.purpose === purpose).reverse();
    return c.json({ object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  });
  app.get('/v1/files/:id', (c) => c.json(fileOr404(c.req.param('id'))));
  app.get('/v1/files/:id/content', (c) => {
    const f = fileOr404(c.req.param('id'));
    return c.body(readFileSync(fileData(f.id)), 200, { 'content-type': 'application/octet-stream' });
  });
  // Jobs keep their own copy of their data, so deleting a file never takes a served model away.
  app.delete('/v1/files/:id', (c) => {
    const f = fileOr404(c.req.param('id'));
    files.delete(f.id);
    rmSync(join(state.files, `${f.id}.json`), { force: true });
    rmSync(fileData(f.id), { force: true });
    return c.json({ id: f.id, object: 'file', deleted: true });
  });

  app.post('/v1/fine_tuning/jobs', async (c) => {
    const req = await body(c, jobSchema);
    const method = resolveMethod(req);
    if (!o.models.has(req.model)) throw new ApiError(404, `The model \`${req.model}\` does not exist`, 'invalid_request_error', 'model', 'model_not_found');
    const base = await o.modelOf(req.model);
    if (!hasCapability(base, 'finetune'))
      throw new ApiError(400, `the model ${base.id} cannot be fine-tuned: it lacks the "finetune" capability`, 'invalid_request_error', 'model');
    const file = fileOr404(req.training_file, 'training_file');
    const validation = req.validation_file ? fileOr404(req.validation_file, 'validation_file') : undefined;
    for (const [f, param] of [
      [file, 'training_file'],
      [validation, 'validation_file'],
    ] as const)
      if (f)
        try {
          readChatJsonl(fileData(f.id));
        } catch (e) {
          throw bad(`${param}: ${f.filename}: ${(e as Error).message.replace(fileData(f.id), f.filename)}`, param);
        }
    // Data the model mostly cannot read (the organism's closed vocabulary) would train it on the unknown token: refused, as in `dramatis run`.
    const coverage = answerCoverage(base, file.filename, readChatJsonl(fileData(file.id)));
    if (coverage)
      try {
        checkCoverage(coverage, { allow: req.allow_unknown ?? undefined, what: 'training_file', option: 'allow_unknown', modelId: base.id });
      } catch (e) {
        throw bad((e as Error).message, 'training_file');
      }
    const id = `ftjob-${shortId()}`;
    const job: Job = {
      id,
      object: 'fine_tuning.job',
      model: req.model,
      created_at: now(),
      finished_at: null,
      fine_tuned_model: null,
      organization_id: 'dramatis',
      result_files: [],
      status: 'queued',
      training_file: file.id,
      validation_file: validation?.id ?? null,
      validation: validation
        ? { loss: null, note: `validation loss not computed: the ${base.id} backend's fine-tune reports none; the file is kept with the job` }
        : null,
      hyperparameters: method.hyperparameters,
      trained_tokens: null,
      error: null,
      seed: req.seed ?? DEFAULT_FINETUNE.seed,
      method: {
        type: method.type,
        ...(method.rank ? { rank: method.rank } : {}),
        [method.type]: { hyperparameters: method.hyperparameters, ...(method.rank ? { rank: method.rank } : {}) },
      },
      events: [],
      checkpoints: [],
      snapshots: req.snapshots ?? 0,
      base_fingerprint: base.fingerprint,
      data_name: file.filename,
    };
    copyFileSync(fileData(file.id), jobData(id));
    jobs.set(job.id, job);
    event(job, 'job queued');
    const stop = new AbortController();
    stops.set(job.id, stop);
    const suffix = req.suffix ?? 'dramatis';
    const checkpoint = (step: number, model: string, metrics: Record<string, number>): Checkpoint => ({
      id: `ftckpt-${job.id.slice(6, 14)}-${step}`,
      object: 'fine_tuning.job.checkpoint',
      created_at: now(),
      fine_tuned_model_checkpoint: model,
      step_number: step,
      metrics: { step, ...metrics },
      fine_tuning_job_id: job.id,
    });
    queue = queue.then(async () => {
      if (job.status !== 'queued') return void stops.delete(job.id); // cancelled (or the server closing) before it ran
      job.status = 'running';
      event(job, 'fine-tuning started');
      try {
        const tuned = await base.finetune(request(job, stop.signal), (step, steps, metrics) => {
          if (step % 10 === 0 || step === steps)
            event(job, `step ${step}/${steps}${metrics?.train_loss === undefined ? '' : `: training loss ${metrics.train_loss.toFixed(4)}`}`, 'info', {
              step,
              total_steps: steps,
              ...(metrics?.train_loss === undefined ? {} : { train_loss: metrics.train_loss }),
            });
        });
        // Cancelled (or the server closing) while a backend that cannot stop trained to its end: nothing is served.
        if ((job.status as Job['status']) !== 'running') {
          event(job, `${job.status}: the fine-tuned model is not served`);
          return;
        }
        const name = `ft:${req.model}:${suffix}:${job.id.slice(6, 14)}`;
        job.fine_tuned_model = name;
        // Snapshots along the fine-tune, as the checkpoints hosted APIs list (the final model is the job's own).
        const steps = tuned.training?.steps ?? tuned.snapshots?.at(-1)?.steps ?? 0;
        for (const snap of tuned.snapshots ?? []) if (snap.model !== tuned) job.checkpoints.push(checkpoint(snap.step, `${name}:ckpt-step-${snap.step}`, {}));
        job.checkpoints.push(checkpoint(steps, name, tuned.training?.finalLoss == null ? {} : { train_loss: tuned.training.finalLoss }));
        serveJob(job, tuned);
        job.trained_tokens = tuned.training?.tokens ?? null;
        job.status = 'succeeded';
        job.finished_at = now();
        if (job.validation) event(job, job.validation.note);
        event(job, `fine-tuned model ${name} is ready`);
      } catch (e) {
        if ((job.status as Job['status']) !== 'running') return; // cancelled, or failed by close(): already said
        job.status = 'failed';
        job.finished_at = now();
        job.error = { code: 'training_failed', message: (e as Error).message, param: null };
        event(job, `failed: ${(e as Error).message}`, 'error');
      } finally {
        stops.delete(job.id);
      }
    });
    return c.json(shown(job));
  });

  app.get('/v1/fine_tuning/jobs', (c) => c.json({ object: 'list', data: [...jobs.values()].reverse().map(shown), has_more: false }));
  app.get('/v1/fine_tuning/jobs/:id', (c) => c.json(shown(jobOr404(c.req.param('id')))));
  app.post('/v1/fine_tuning/jobs/:id/cancel', (c) => {
    const j = jobOr404(c.req.param('id'));
    if (j.status === 'queued' || j.status === 'running') {
      stops.get(j.id)?.abort();
      j.status = 'cancelled';
      j.finished_at = now();
      event(j, 'job cancelled');
    }
    return c.json(shown(j));
  });
  app.get('/v1/fine_tuning/jobs/:id/checkpoints', (c) => {
    const data = [...jobOr404(c.req.param('id')).checkpoints].reverse();
    return c.json({ object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  });
  app.get('/v1/fine_tuning/jobs/:id/events', (c) => c.json({ object: 'list', data: [...jobOr404(c.req.param('id')).events].reverse(), has_more: false }));

  return {
    async close() {
      for (const j of jobs.values())
        if (j.status === 'queued' || j.status === 'running') {
          stops.get(j.id)?.abort();
          const was = j.status;
          j.status = 'failed';
          j.finished_at = now();
          j.error = { code: 'server_stopped', message: `the server was shut down while this job was ${was}; create the job again`, param: null };
          event(j, `failed: ${j.error.message}`, 'error');
        }
      // The training threads stop at once; a backend that cannot stop is not waited for beyond a few seconds.
      await Promise.race([queue, new Promise((r) => setTimeout(r, 5000).unref())]);
    },
  };
}
