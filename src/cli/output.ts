/** Output helpers shared by the commands: JSON for machines, aligned tables for people. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function table(rows: (string | number)[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths = all[0].map((_, c) => Math.max(...all.map((r) => String(r[c] ?? '').length)));
  const fmt = (r: (string | number)[]) => r.map((v, c) => (typeof v === 'number' ? String(v).padStart(widths[c]) : String(v).padEnd(widths[c]))).join('  ').trimEnd();
  const lines = all.map(fmt);
  if (header) lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

export function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)}%`;
}

/** Parse a numeric CLI option with a clear error naming the option. */
export function num(name: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new Error(`option ${name}: expected ${integer ? 'an integer' : 'a number'}, got "${v}"`);
    return n;
  };
}
