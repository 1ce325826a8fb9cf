/**
 * Import cycles under a folder, found by dependency-cruiser with TypeScript type-only imports included
 * (`import type`, `import { type X }`, `export type … from`): they still tie two modules together for a
 * reader and for a refactor. Used by test/cli/cycles.test.ts on src/ and on a folder with a planted cycle.
 */
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { relative, resolve } from 'node:path';

/** One step of a cycle: a file (relative to the cruise's base) and whether the import into it is type-only. */
export interface CycleStep {
  file: string;
  typeOnly: boolean;
}

export interface CycleReport {
  /** Each cycle once, as the chain of files it runs through, starting at its first file in sort order. */
  cycles: CycleStep[][];
  /** Relative imports that did not resolve to a file (the check would be blind to them). */
  unresolved: string[];
}

export async function findCycles(dir: string, base = process.cwd()): Promise<CycleReport> {
  // dependency-cruiser joins the paths to cruise onto baseDir (and makes absolute ones relative to the
  // working directory first), so pass the folder relative to the base.
  const baseDir = resolve(base);
  const { output } = await cruise([relative(baseDir, resolve(dir)) || '.'], {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    baseDir,
    validate: true,
    ruleSet: { forbidden: [{ name: 'no-circular', severity: 'error', from: {}, to: { circular: true } }] },
  });
  const result = output as ICruiseResult;
  const unresolved = result.modules.flatMap((m) =>
    m.dependencies.filter((d) => d.couldNotResolve && d.module.startsWith('.')).map((d) => `${m.source} imports ${d.module}`),
  );
  const seen = new Map<string, CycleStep[]>();
  for (const v of result.summary.violations) {
    if (v.rule.name !== 'no-circular' || !v.cycle?.length) continue;
    // The violation is the edge from → cycle[0]; the cycle runs back to `from`, and each entry carries the
    // dependency types of the import into it.
    const steps = v.cycle.map((c) => ({ file: c.name, typeOnly: c.dependencyTypes.includes('type-only') }));
    const first = steps.reduce((best, s, i) => (s.file < steps[best].file ? i : best), 0);
    const chain = [...steps.slice(first), ...steps.slice(0, first)];
    seen.set(chain.map((s) => s.file).join('\n'), chain);
  }
  const cycles = [...seen.values()].sort((a, b) =>
    a
      .map((s) => s.file)
      .join()
      .localeCompare(b.map((s) => s.file).join()),
  );
  return { cycles, unresolved };
}

/** A cycle as `a.ts → b.ts ⇢ a.ts`, where ⇢ marks a type-only import. */
export function formatCycle(cycle: CycleStep[]): string {
  return [...cycle.slice(1), cycle[0]].reduce((s, step) => `${s} ${step.typeOnly ? '⇢' : '→'} ${step.file}`, cycle[0].file);
}
