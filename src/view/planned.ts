/**
 * The conditions a run will sample, read from its stored spec alone (pure, no kind code): the spec's
 * own, plus for a persona-vectors spec (or any spec with `vectors.sweep`) one per sweep condition and
 * non-zero coefficient, named as the vectors kind's prepareVectors names them. The viewer's progress
 * total and its list of conditions not begun yet come from here.
 */

export interface PlannedCondition {
  name: string;
  role: string;
}

interface SpecShape {
  conditions?: unknown[];
  vectors?: { sweep?: { conditions?: unknown[]; coefficients?: unknown[] } };
}

export function plannedConditions(spec: unknown): PlannedCondition[] {
  const s = (spec ?? {}) as SpecShape;
  const own = (Array.isArray(s.conditions) ? s.conditions : []) as { name?: unknown; role?: unknown }[];
  const out: PlannedCondition[] = own.map((c, i) => ({
    name: typeof c?.name === 'string' ? c.name : `condition ${i + 1}`,
    role: typeof c?.role === 'string' ? c.role : 'treatment',
  }));
  const sweep = s.vectors?.sweep;
  if (sweep && Array.isArray(sweep.conditions) && Array.isArray(sweep.coefficients)) {
    for (const name of sweep.conditions) {
      if (typeof name !== 'string') continue;
      for (const k of sweep.coefficients) {
        if (typeof k !== 'number' || k === 0) continue; // coefficient 0 is the condition itself
        out.push({ name: `${name} · steer ${k > 0 ? '+' : ''}${k}`, role: 'treatment' });
      }
    }
  }
  return out;
}
