/**
 * The one sampling path every kind uses: a list of slots (what should be stored under a key) → what is
 * stored already → what is missing → produce the missing in batches → store each batch as it completes
 * (so a killed run loses at most one batch and a rerun resumes) → score what has no judgment yet.
 * Producing is usually chat sampling (`chatSlots`); infer produces log-likelihoods the same way.
 */
import { requireCapability, type ChatMessage, type Generation, type Model, type SamplingOptions } from '../backends/model.ts';
import { slotKey } from '../shared/keys.ts';
import type { Scorer, ScoredSample } from '../scorers/scorer.ts';
import type { StoredJudgment, StoredSample, Store } from './store.ts';

export interface Slot {
  questionId: string;
  idx: number;
}

/** What a batch produced for one slot: an answer to store, or the error its request failed with for good. */
export type Produced = Pick<StoredSample, 'paraphrase' | 'prompt' | 'answer' | 'finishReason'> | { error: string };

/**
 * Fill the slots of `key` that have no stored sample: `produce` answers a batch (called only when
 * something is missing; `prepare` runs once before the first batch, e.g. to load a model).
 */
export async function fillSlots<S extends Slot>(o: {
  store: Store;
  key: string;
  slots: S[];
  /** Slots per call to `produce` (a function: decided after `prepare`, e.g. by the loaded model). */
  batch: number | (() => number);
  /** `before`: how many of the missing slots earlier batches produced, of `total`. */
  produce: (batch: S[], at: { before: number; total: number }) => Promise<Produced[]>;
  prepare?: () => Promise<void>;
  progress?: (done: number, total: number) => void;
}): Promise<{ filled: number; failed: number }> {
  const stored = o.store.storedSlots(o.key);
  const missing = o.slots.filter((s) => !stored.has(slotKey(s.questionId, s.idx)));
  let failed = 0;
  if (missing.length === 0) return { filled: 0, failed };
  await o.prepare?.();
  const size = Math.max(1, typeof o.batch === 'function' ? o.batch() : o.batch);
  for (let start = 0; start < missing.length; start += size) {
    const batch = missing.slice(start, start + size);
    const out = await o.produce(batch, { before: start, total: missing.length });
    failed += storeProduced(
      o.store,
      o.key,
      batch.map((s, i) => ({ slot: s, p: out[i] })),
    );
    o.progress?.(Math.min(missing.length, start + size), missing.length);
  }
  return { filled: missing.length - failed, failed };
}

/** Store what some slots produced in one transaction: answers as samples, failures apart. Returns the failures. */
function storeProduced(store: Store, key: string, rows: { slot: Slot; p: Produced }[]): number {
  const answers = [],
    failures = [];
  for (const { slot, p } of rows) {
    if ('error' in p) failures.push({ conditionKey: key, questionId: slot.questionId, idx: slot.idx, error: p.error });
    else answers.push({ conditionKey: key, questionId: slot.questionId, idx: slot.idx, ...p });
  }
  store.insertSamples(answers, failures);
  return failures.length;
}

export interface ChatSlot extends Slot {
  paraphrase: string;
  /** The sample's own seed (shared/keys.ts), so each sample is reproducible on its own. */
  seed: string;
}

/**
 * Fill chat slots: each missing slot's conversation is sampled from the model (loaded only if something
 * is missing) with the given options and the slot's own seed.
 */
export async function chatSlots<S extends ChatSlot>(o: {
  store: Store;
  key: string;
  slots: S[];
  model: () => Promise<Model>;
  conversation: (slot: S) => ChatMessage[];
  /** Everything but the per-sample seeds. */
  options: Omit<SamplingOptions, 'seeds'>;
  /** What needs the model, for the error when it cannot chat (or be steered). */
  purpose: string;
  prepare?: () => Promise<void>;
  progress?: (done: number, total: number) => void;
  batch?: number;
  /** The live loop guard: an answer is cut once this says so of its conversation and its text so far. */
  cutWhen?: (conversation: ChatMessage[], text: string) => boolean;
}): Promise<{ filled: number; failed: number }> {
  let model: ReturnType<typeof requireCapability<'chat'>> | undefined;
  return fillSlots({
    store: o.store,
    key: o.key,
    slots: o.slots,
    // A remote backend takes many rows per call and keeps `concurrency` requests in flight throughout
    // (a pool, not chunks that wait for their slowest member); the organism computes 64 at a time.
    batch: () => o.batch ?? model!.rowsPerCall ?? 64,
    progress: o.progress,
    prepare: async () => {
      const m = await o.model();
      if (o.options.steering) requireCapability(m, 'steering', o.purpose);
      if (o.cutWhen && !m.cuts)
        throw new Error(`${o.purpose}: stop_on_loop: the model ${m.id} cannot stop an answer while it samples (the organism, gguf:, openai: and hf: can)`);
      model = requireCapability(m, 'chat', o.purpose);
      await o.prepare?.();
    },
    produce: async (batch, at) => {
      const convs = batch.map((s) => o.conversation(s));
      const row = (i: number, g: { text: string; finishReason: StoredSample['finishReason']; error?: string }): Produced =>
        g.error !== undefined ? { error: g.error } : { paraphrase: batch[i].paraphrase, prompt: convs[i], answer: g.text, finishReason: g.finishReason };
      // Rows a backend hands back as they complete are stored at once, a few at a time: a killed run
      // loses only what was in flight. (The batch is stored again at its end; stored rows are kept as they are.)
      let arrived: { i: number; p: Produced }[] = [];
      let done = 0;
      let timer: NodeJS.Timeout | undefined;
      const flush = () => {
        clearTimeout(timer);
        timer = undefined;
        storeProduced(
          o.store,
          o.key,
          arrived.map(({ i, p }) => ({ slot: batch[i], p })),
        );
        arrived = [];
      };
      // settle: a request that fails for good fails its own sample, not the batch (the others are kept).
      let gens: Generation[];
      try {
        gens = await model!.chat(convs, {
          ...o.options,
          seeds: batch.map((s) => s.seed),
          settle: true,
          ...(o.cutWhen ? { cutWhen: (i: number, text: string) => o.cutWhen!(convs[i], text) } : {}),
          onRow: (i, g) => {
            arrived.push({ i, p: row(i, g) });
            // 16 at a time, or what has come within 100 ms (a slow tail is not held back).
            if (arrived.length >= 16) flush();
            else timer ??= setTimeout(flush, 100);
            o.progress?.(at.before + ++done, at.total);
          },
        });
      } finally {
        // What arrived is kept, even when the call as a whole fails.
        flush();
      }
      return batch.map((_, i) => row(i, gens[i]));
    },
  });
}

/**
 * Score stored samples with each scorer, only where that scorer has no judgment yet; every verdict is
 * stored as a judgment under the scorer's name. Returns the judgments by scorer name and sample id.
 */
export async function scoreSamples(
  store: Store,
  samples: StoredSample[],
  scorers: Scorer[],
  toScored: (s: StoredSample) => ScoredSample,
): Promise<Map<string, Map<number, StoredJudgment>>> {
  const out = new Map<string, Map<number, StoredJudgment>>();
  const scored = new Map<number, ScoredSample>();
  const view = (s: StoredSample) => {
    let v = scored.get(s.id);
    if (!v) {
      v = toScored(s);
      scored.set(s.id, v);
    }
    return v;
  };
  for (const scorer of scorers) {
    const judged = store.judgments(
      samples.map((s) => s.id),
      scorer.name,
    );
    const todo = samples.filter((s) => !judged.has(s.id));
    if (todo.length > 0) {
      const scores = await scorer.score(todo.map(view));
      const rows = todo.map((s, i) => ({
        sampleId: s.id,
        judge: scorer.name,
        label: scores[i].label,
        score: scores[i].score,
        explanation: scores[i].explanation ?? null,
      }));
      store.insertJudgments(rows);
      for (const r of rows) judged.set(r.sampleId, r);
    }
    out.set(scorer.name, judged);
  }
  return out;
}
