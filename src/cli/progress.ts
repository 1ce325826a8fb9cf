/**
 * Progress bars for long work (training, sampling, scoring), drawn on stderr so `--json` output on
 * stdout stays clean. Without a terminal (a pipe, a log file, CI) they are plain lines instead.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, fieldsFormat = ''): Progress {
  const tty = process.stderr.isTTY;
  if (!tty) {
    // Non-interactive (CI, logs, a pipe): a plain line every ~10%, and at least every 15 s of slow
    // progress, so long jobs still show they are alive.
    let lastDecile = -1;
    const start = Date.now();
    let lastLine = 0;
    return {
      update(done, fields = {}) {
        const decile = Math.floor((10 * done) / Math.max(1, total));
        if (decile === lastDecile && Date.now() - lastLine < 15_000) return;
        lastDecile = decile;
        lastLine = Date.now();
        const extra = Object.entries(fields)
          .map(([k, v]) => `${k} ${v}`)
          .join('  ');
        process.stderr.write(`${label}: ${done}/${total}  ${((Date.now() - start) / 1000).toFixed(0)}s  ${extra}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted} ${fieldsFormat}`, hideCursor: true, stream: process.stderr, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (done, fields) => bar.update(done, fields), stop: () => bar.stop() };
}

/** A run's progress hook: one bar per named step, made on first report, closed when it completes. */
export function progressBars(): (label: string, done: number, total: number) => void {
  const bars = new Map<string, { bar: Progress; total: number }>();
  return (label, done, total) => {
    let entry = bars.get(label);
    // A step that learns its size late (a remote fine-tune's step count) gets a bar of the new size.
    if (entry && entry.total !== total) {
      entry.bar.stop();
      entry = undefined;
    }
    if (!entry) {
      entry = { bar: progressBar(label, total), total };
      bars.set(label, entry);
    }
    entry.bar.update(done);
    if (done >= total) entry.bar.stop();
  };
}
