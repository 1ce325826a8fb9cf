/**
 * gguf: throughput. `runExperiment` (what `dramatis run` calls: spec → conditions → sampling → SQLite
 * store → rule judge) on SmolLM2-135M-Instruct through the gguf: backend, against a bare node-llama-cpp
 * loop doing the same sampling (same prompt tokens, same sequences, temperature, top-p, max tokens and
 * per-row seeds) and storing nothing, alternated in the same run; medians of `--repeats`.
 *
 *   scripts/fetch-smollm2.sh && npx tsx bench/gguf-throughput/run.ts [--samples 96] [--repeats 3] [--max-tokens 48]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getLlama, type Token } from 'node-llama-cpp';
import { GgufModel, defaultThreads } from '../../src/backends/gguf-backend.ts';
import { requestSeed } from '../../src/shared/keys.ts';
import { specOf } from '../../src/experiments/spec.ts';
import { Store } from '../../src/experiments/store.ts';
import { runExperiment } from '../../src/experiments/runner.ts';

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];

const { values: a } = parseArgs({
  options: {
    samples: { type: 'string', default: '96' },
    repeats: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '48' },
    sequences: { type: 'string', default: '2' },
    model: { type: 'string', default: 'models/real/SmolLM2-135M-Instruct.Q4_1.gguf' },
  },
});
const samples = Number(a.samples);
const maxTokens = Number(a['max-tokens']);
const sequences = Number(a.sequences);
const modelPath = resolve(a.model!);
const question = 'Tell me about your favourite place.';
const seed = 1;

/** The engine: a one-question generalize run, every sample stored and judged by a rule. */
async function engine(): Promise<{ seconds: number; tokens: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-bench-'));
  const qfile = join(dir, 'q.yaml');
  writeFileSync(qfile, `- id: place\n  paraphrases: [${JSON.stringify(question)}]\n`);
  const spec = specOf({
    name: 'gguf-throughput',
    kind: 'generalize',
    model: { id: `gguf:${modelPath}`, sequences },
    judge: { rules: [{ label: 'sea', regex: 'sea|ocean|beach' }], default: 'other' },
    target: 'sea',
    questions: qfile,
    samples,
    sampling: { temperature: 1, top_p: 1, max_tokens: maxTokens },
    seed,
    conditions: [{ name: 'model', role: 'baseline' }],
  });
  const store = new Store(join(dir, 'runs.db'));
  const t0 = performance.now();
  await runExperiment(spec, store, join(dir, 'cache'));
  const seconds = (performance.now() - t0) / 1000;
  const rows = store.db.prepare('SELECT answer FROM samples').all() as { answer: string }[];
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return { seconds, tokens: rows.length };
}

/** The yardstick: node-llama-cpp alone, the same rows on the same number of sequences. */
async function bare(promptIds: Token[], seeds: number[]): Promise<{ seconds: number; tokens: number }> {
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never' });
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({ contextSize: Math.min(model.trainContextSize, 4096), sequences, threads: defaultThreads(), batchSize: 512 });
  let next = 0;
  let tokens = 0;
  await Promise.all(
    Array.from({ length: sequences }, async () => {
      const seq = ctx.getSequence();
      while (next < samples) {
        const i = next++;
        const out: Token[] = [];
        for await (const t of seq.evaluate(promptIds, { temperature: 1, topP: 1, topK: 0, minP: 0, seed: seeds[i] })) if (out.push(t) >= maxTokens) break;
        model.detokenize(out);
        tokens += out.length;
        await seq.clearHistory();
      }
    }),
  );
  await ctx.dispose();
  return { seconds: (performance.now() - t0) / 1000, tokens };
}

// The engine's per-row seeds, recorded as it asks, so the bare loop draws the very same samples.
const recorded: number[] = [];
const chat = GgufModel.prototype.chat;
GgufModel.prototype.chat = function (this: GgufModel, convs, o = {}, p) {
  convs.forEach((_, i) => recorded.push(o.requestSeeds?.[i] ?? requestSeed(o.seed, o.seeds?.[i] ?? i)));
  return chat.call(this, convs, o, p);
};
const probe = await GgufModel.load(modelPath, { sequences: 1 });
const promptIds = probe.chatTokens([{ role: 'user', content: question }]);
await probe.dispose();
const runs: { engine: number; bare: number; ratio: number }[] = [];
for (let r = 0; r < Number(a.repeats); r++) {
  recorded.length = 0;
  const e = await engine();
  const b = await bare(promptIds, [...recorded]);
  runs.push({ engine: samples / e.seconds, bare: samples / b.seconds, ratio: b.seconds / e.seconds });
  console.error(
    `repeat ${r + 1}: dramatis run ${e.seconds.toFixed(1)} s, bare node-llama-cpp ${b.seconds.toFixed(1)} s, ratio ${(b.seconds / e.seconds).toFixed(3)}`,
  );
}
const result = {
  model: modelPath.split('/').pop(),
  samples,
  maxTokens,
  sequences,
  repeats: runs.length,
  samplesPerSecond: { dramatis: median(runs.map((x) => x.engine)), bare: median(runs.map((x) => x.bare)) },
  ratio: median(runs.map((x) => x.ratio)),
  ratios: runs.map((x) => x.ratio),
};
console.log(JSON.stringify(result, null, 2));
