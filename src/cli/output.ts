/** Output helpers shared by the commands: JSON for machines, aligned tables for people. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export { table, pct } from '../shared/format.ts';

/** Parse a numeric CLI option with a clear error naming the option. */
export function num(name: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
      throw new Error(`option ${name}: expected ${integer ? 'an integer' : 'a number'}, got "${v}"`);
    return n;
  };
}
