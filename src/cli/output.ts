/** Output helpers shared by the commands: JSON for machines, aligned tables for people. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Parse a numeric CLI option with a clear error naming the option. */
/** The sane range of each numeric option, by name (the same name means the same thing in every command). */
const RANGES: Record<string, { min?: number; max?: number; above?: number }> = {
  '--samples': { min: 1, max: 1_000_000 },
  '-n': { min: 1, max: 1_000_000 },
  '--examples': { min: 1 },
  '--top': { min: 1 },
  '--documents': { min: 1 },
  '--answers': { min: 1 },
  '--steps': { min: 1 },
  '--batch': { min: 1, max: 4096 },
  '--d-model': { min: 1 },
  '--layers': { min: 1 },
  '--heads': { min: 1 },
  '--ctx': { min: 2 },
  '--lora': { min: 1 },
  '--threads': { min: 1, max: 64 },
  '--epochs': { above: 0, max: 1000 },
  '--lr': { above: 0, max: 10 },
  '--offset': { min: 0 },
  '--probe-every': { min: 0 },
  '--port': { min: 0, max: 65535 },
  '--ai-share': { min: 0, max: 1 },
  '--ai-benevolent': { min: 0, max: 1 },
  '--pretrain-mix': { min: 0, max: 1 },
  '--temperature': { min: 0, max: 10 },
  '--request-timeout': { above: 0, max: 3600 },
  '--max-retries': { min: 0, max: 50 },
  '--deadline': { above: 0, max: 86_400 },
};

/** Parse a numeric CLI option with a clear error naming the option and, where it has one, its range. */
export function num(name: string, integer = false) {
  const r = RANGES[name] ?? {};
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
      throw new Error(`option ${name}: expected ${integer ? 'an integer' : 'a number'}, got "${v}"`);
    if ((r.min !== undefined && n < r.min) || (r.above !== undefined && n <= r.above) || (r.max !== undefined && n > r.max)) {
      const range = [r.min !== undefined ? `at least ${r.min}` : r.above !== undefined ? `above ${r.above}` : '', r.max !== undefined ? `at most ${r.max}` : '']
        .filter(Boolean)
        .join(' and ');
      throw new Error(`option ${name}: expected ${range}, got ${v}`);
    }
    return n;
  };
}
