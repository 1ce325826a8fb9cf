/**
 * Per-kernel time of one trainer step (forward, backward, clipping, AdamW): every wasm kernel is
 * wrapped with a timer for the duration of the measurement, then unwrapped.
 */
import { tf } from '../../src/organism/backend.ts';
import type { GptConfig, Params } from '../../src/organism/model.ts';
import { train } from '../../src/organism/train.ts';

export async function profileKernels(c: GptConfig, params: Params, batch: number, seq: number, steps = 2): Promise<string> {
  const byShape = new Map<string, { n: number; ms: number }>();
  let on = false;
  const restore: (() => void)[] = [];
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    const cfg = k as { kernelFunc: tf.KernelFunc };
    cfg.kernelFunc = (args) => {
      if (!on) return f(args);
      const t0 = performance.now();
      const r = f(args);
      const dt = performance.now() - t0;
      const shapes = Object.values(args.inputs)
        .map((t) => (t ? `[${t.shape}]` : ''))
        .join(' ');
      const flags = (args.attrs as Record<string, unknown>)?.transposeA ? ' tA' : '';
      const key = `${k.kernelName} ${shapes}${flags}${(args.attrs as Record<string, unknown>)?.transposeB ? ' tB' : ''}`;
      const s = byShape.get(key) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += dt;
      byShape.set(key, s);
      return r;
    };
    restore.push(() => {
      cfg.kernelFunc = f;
    });
  }
  let stepStart = 0,
    stepMs = 0;
  let n = 0;
  const rows = (bs: number) =>
    Array.from({ length: bs }, (_, i) => ({ ids: Array.from({ length: seq + 1 }, (_, t) => (i * 7919 + t * 104729) % c.vocabSize) }));
  stepStart = performance.now();
  await train(
    c,
    params,
    (_s, bs) => rows(bs),
    {
      steps: 1 + steps,
      batchSize: batch,
      learningRate: 3e-4,
      warmup: 1,
      onStep: ({ step }) => {
        const t = performance.now();
        if (step >= 1) {
          stepMs += t - stepStart;
          n++;
        }
        on = true; // profile from the second step on (the first one warms up)
        stepStart = performance.now();
      },
    },
    0,
  );
  for (const r of restore) r();
  const rowsOut = [...byShape.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rowsOut.reduce((s, [, v]) => s + v.ms, 0) / n;
  const byName = new Map<string, number>();
  for (const [key, v] of rowsOut) {
    const name = key.split(' ')[0];
    byName.set(name, (byName.get(name) ?? 0) + v.ms / n);
  }
  const lines = [`step ${(stepMs / n).toFixed(0)} ms, of which kernels ${total.toFixed(0)} ms (rest: tf engine, JS glue)`, '', 'by kernel:'];
  for (const [name, ms] of [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20))
    lines.push(`${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`);
  lines.push('', 'by kernel and input shapes (per step):');
  for (const [key, v] of rowsOut.slice(0, 30)) lines.push(`${(v.ms / n).toFixed(1).padStart(8)} ms ${String(v.n / n).padStart(4)}×  ${key}`);
  return lines.join('\n');
}
