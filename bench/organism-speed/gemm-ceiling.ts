/**
 * The ceiling on the training ratio: how fast one core multiplies the training step's matrices in
 * WebAssembly (our path: tf.matMul on the wasm backend, XNNPACK's GEMM through kernels/matmul.ts)
 * against PyTorch on the same core, shape by shape, in the same run.
 *
 * Why: most of an organism trainer step is matrix products (see `run.ts --profile`). WebAssembly has
 * 128-bit SIMD only; PyTorch's BLAS uses the widest vectors the CPU has (AVX-512 with FMA on this
 * machine's EPYC). The products alone bound our step from below: with everything else free and two
 * perfectly scaling threads, a step still takes half its one-thread product time. This script measures
 * how far XNNPACK's GEMM is from PyTorch's on the step's shapes (README.md does the arithmetic).
 *
 *   npx tsx bench/organism-speed/gemm-ceiling.ts [--python /usr/bin/python3,worker/.venv/bin/python] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { initTf, type tf as TfNamespace } from '../../src/organism/backend.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    python: { type: 'string', default: '/usr/bin/python3,worker/.venv/bin/python' },
    reps: { type: 'string', default: '15' },
    out: { type: 'string', default: join(here, 'gemm-ceiling.json') },
  },
});
const reps = Number(o.reps);

/**
 * The products of one micro-batch (4 rows × 256 tokens = 1024 rows) of the default organism (d 96,
 * vocabulary 1000), forward and backward: [M, K] × [K, N], with transposes as the step asks for them.
 */
const shapes: { name: string; m: number; k: number; n: number; tA?: boolean; tB?: boolean }[] = [
  { name: 'qkv forward', m: 1024, k: 96, n: 288 },
  { name: 'attn proj forward', m: 1024, k: 96, n: 96 },
  { name: 'mlp fc forward', m: 1024, k: 96, n: 384 },
  { name: 'mlp proj forward', m: 1024, k: 384, n: 96 },
  { name: 'head forward', m: 1024, k: 96, n: 1000, tB: true },
  { name: 'mlp fc dX', m: 1024, k: 384, n: 96, tB: true },
  { name: 'mlp fc dW', m: 96, k: 1024, n: 384, tA: true },
  { name: 'head dW', m: 1000, k: 1024, n: 96, tA: true },
  { name: 'head dX', m: 1024, k: 1000, n: 96 },
  { name: 'square 512', m: 512, k: 512, n: 512 },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function ours(): Promise<number[]> {
  const tf = await initTf();
  return shapes.map((s) => {
    const a = tf.randomNormal(s.tA ? [s.k, s.m] : [s.m, s.k]) as TfNamespace.Tensor2D;
    const b = tf.randomNormal(s.tB ? [s.n, s.k] : [s.k, s.n]) as TfNamespace.Tensor2D;
    const times: number[] = [];
    for (let r = 0; r < reps + 3; r++) {
      const t0 = performance.now();
      const y = tf.matMul(a, b, s.tA, s.tB);
      y.dataSync();
      if (r >= 3) times.push(performance.now() - t0);
      y.dispose();
    }
    tf.dispose([a, b]);
    return median(times);
  });
}

const torchScript = `
import json, sys, time, torch
torch.set_num_threads(1)
shapes, reps = json.loads(sys.argv[1]), int(sys.argv[2])
out = []
for s in shapes:
    a = torch.randn(s['k'], s['m']) if s.get('tA') else torch.randn(s['m'], s['k'])
    b = torch.randn(s['n'], s['k']) if s.get('tB') else torch.randn(s['k'], s['n'])
    times = []
    for r in range(reps + 3):
        t0 = time.perf_counter()
        y = torch.matmul(a.t() if s.get('tA') else a, b.t() if s.get('tB') else b)
        y = y.contiguous()
        if r >= 3: times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    out.append(times[len(times) // 2])
print(json.dumps({'torch': torch.__version__, 'ms': out}))
`;

const load = loadavg()[0];
const ourMs = await ours();
const torches = o
  .python!.split(',')
  .filter(Boolean)
  .flatMap((py) => {
    const r = spawnSync(py, ['-c', torchScript, JSON.stringify(shapes), String(reps)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    });
    if (r.status !== 0) {
      console.error(`${py}: ${r.stderr.trim().split('\n').at(-1) ?? 'failed'}; left out`);
      return [];
    }
    return [{ python: py, ...(JSON.parse(r.stdout) as { torch: string; ms: number[] }) }];
  });

const gflops = (s: (typeof shapes)[number], ms: number) => (2 * s.m * s.k * s.n) / ms / 1e6;
const header = ['shape', 'M×K×N', 'ours GFLOP/s', ...torches.flatMap((t) => [`torch ${t.torch} GFLOP/s`, 'torch/ours'])];
const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
shapes.forEach((s, i) => {
  const cells = [
    s.name,
    `${s.m}×${s.k}×${s.n}${s.tA ? ' Aᵀ' : ''}${s.tB ? ' Bᵀ' : ''}`,
    gflops(s, ourMs[i]).toFixed(1),
    ...torches.flatMap((t) => [gflops(s, t.ms[i]).toFixed(1), (ourMs[i] / t.ms[i]).toFixed(2)]),
  ];
  lines.push(`| ${cells.join(' | ')} |`);
});
// The step's products, summed (the square is a peak reference, not part of the step).
const step = shapes.map((s, i) => i).filter((i) => shapes[i].name !== 'square 512');
const sum = (ms: number[]) => step.reduce((a, i) => a + ms[i], 0);
const summary = torches.map((t) => ({ torch: t.torch, python: t.python, stepProductsRatio: sum(ourMs) / sum(t.ms) }));
console.log(lines.join('\n'));
for (const s of summary)
  console.log(`torch ${s.torch}: the step's products take ${s.stepProductsRatio.toFixed(2)}× as long in ours as in PyTorch on one core.`);
console.log(`load average before: ${load.toFixed(2)}`);
writeFileSync(
  o.out!,
  JSON.stringify({ date: new Date().toISOString(), loadBefore: load, reps, shapes, oursMs: ourMs, torch: torches, summary }, null, 2) + '\n',
);
console.log(`wrote ${o.out}`);
