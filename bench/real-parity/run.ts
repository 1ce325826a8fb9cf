/**
 * Parity of the two real-model backends on the same token sequences of SmolLM2-135M-Instruct: llama.cpp
 * through gguf: (Q4_1 computed quantized) against transformers through hf: (the same file dequantized
 * to float32). Per position: whether the two agree on the most probable next token, and |Δ| between the
 * log-probabilities they give the token that actually comes next. Targets (issue 13): top-1 agreement
 * ≥ 98%, mean |Δ logprob| ≤ 0.05 nats.
 *
 *   scripts/fetch-smollm2.sh && npx dramatis worker setup && npx tsx bench/real-parity/run.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { GgufModel } from '../../src/backends/gguf-backend.ts';
import { loadModel } from '../../src/backends/registry.ts';
import type { HfModel } from '../../src/backends/hf-backend.ts';
import { wilson } from '../../src/shared/stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const file = join(root, 'models/real/SmolLM2-135M-Instruct.Q4_1.gguf');

// The sequences: the real-authors texts as raw text, and the study's ten old-bird questions as chats.
const texts = readFileSync(join(root, 'presets/data/real-authors-texts.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => (JSON.parse(l) as { text: string }).text);
const questions = (parse(readFileSync(join(root, 'presets/data/real-profile-questions.yaml'), 'utf8')) as { paraphrases: string[] }[]).map(
  (q) => q.paraphrases[0],
);

type Setting = { name: string; options: { flashAttention?: boolean; kvCache?: 'f16' | 'f32' } };
const settings: Setting[] = [
  { name: 'gguf: defaults (f16 KV cache)', options: {} },
  { name: 'gguf: f32 KV cache, no flash attention', options: { kvCache: 'f32', flashAttention: false } },
];

const hf = (await loadModel(`hf:${file}`, { cacheDir: join(root, 'runs/cache') })) as HfModel;
const probe = await GgufModel.load(file, { sequences: 1 });
const sequences = [
  ...texts.map((t) => probe.textTokens(t)),
  ...questions.map((q) =>
    probe.chatTokens(
      [
        { role: 'user', content: q },
        { role: 'assistant', content: 'I would rather not say, but thank you for asking.' },
      ],
      false,
    ),
  ),
].map((ids) => ids.map(Number));
await probe.dispose();
const positions = sequences.reduce((a, s) => a + s.length - 1, 0);

// transformers: the log-probability of each next token and the argmax, per position.
const worker = (hf as unknown as { worker: { post<T>(p: string, b: unknown): Promise<T> } }).worker;
const hfScores = (await worker.post<{ scores: { tokens: number[]; top: [number, number][][] }[] }>('/dramatis/score', { ids: sequences, top_k: 1 })).scores;

const out: Record<string, unknown>[] = [];
for (const s of settings) {
  const g = await GgufModel.load(file, { sequences: 1, contextSize: 2048, ...s.options });
  let agree = 0;
  let n = 0;
  const deltas: number[] = [];
  for (const [i, ids] of sequences.entries()) {
    await g.distributions(ids as never, (k, lps) => {
      if (k >= ids.length - 1) return;
      const h = hfScores[i];
      const top = lps.keys().next().value as number;
      if (top === h.top[k][0][0]) agree++;
      n++;
      deltas.push(Math.abs((lps.get(ids[k + 1] as never) ?? -Infinity) - h.tokens[k]));
    });
  }
  await g.dispose();
  const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
  const sd = Math.sqrt(deltas.reduce((a, d) => a + (d - mean) ** 2, 0) / (deltas.length - 1));
  const sorted = [...deltas].sort((a, b) => a - b);
  const row = {
    setting: s.name,
    positions: n,
    top1Agreement: agree / n,
    top1Ci: wilson(agree, n),
    meanAbsDeltaLogprob: mean,
    meanCi: [mean - (1.96 * sd) / Math.sqrt(n), mean + (1.96 * sd) / Math.sqrt(n)],
    medianAbsDelta: sorted[Math.floor(n / 2)],
    p99AbsDelta: sorted[Math.floor(n * 0.99)],
    maxAbsDelta: sorted[n - 1],
  };
  out.push(row);
  console.error(
    `${s.name}: top-1 agreement ${(row.top1Agreement * 100).toFixed(2)}% [${(row.top1Ci[0] * 100).toFixed(2)}, ${(row.top1Ci[1] * 100).toFixed(2)}] over ${n} positions; mean |Δ logprob| ${mean.toFixed(4)} nats [${row.meanCi[0].toFixed(4)}, ${row.meanCi[1].toFixed(4)}], median ${row.medianAbsDelta.toFixed(4)}, p99 ${row.p99AbsDelta.toFixed(3)}, max ${row.maxAbsDelta.toFixed(3)}`,
  );
}
const result = { model: 'SmolLM2-135M-Instruct.Q4_1.gguf', sequences: sequences.length, positions, results: out };
writeFileSync(join(here, 'results.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
process.exit(0);
