/**
 * The experiment spec: one YAML file says which model, which interventions, which questions, which judge
 * and how many samples. Each kind declares its schema (kinds/<kind>/); this module reads a file against
 * the schema of the kind it names, and errors name the file, the line and the field.
 */
import { readFileSync } from 'node:fs';
import YAML, { LineCounter, isNode } from 'yaml';
import type { z } from 'zod';
import { KINDS, kindNames, kindOf } from './kinds/registry.ts';
import type { CommonSpec } from './spec-parts.ts';

export type { ConditionSpec, CommonSpec } from './spec-parts.ts';

/** Any kind's parsed spec (the union of the registered kinds' schemas). */
export type ExperimentSpec = z.infer<(typeof KINDS)[number]['schema']>;

/** Validate a parsed object against its kind's schema; zod's issue on failure. */
export function validateSpec(
  raw: unknown,
): { success: true; data: CommonSpec & Record<string, unknown> } | { success: false; issue: { path: PropertyKey[]; keys?: string[]; message: string } } {
  const named = (raw as { kind?: unknown } | null)?.kind;
  if (typeof named !== 'string' || !kindNames().includes(named)) {
    return {
      success: false,
      issue: { path: ['kind'], message: `${named === undefined ? 'required' : `unknown kind ${JSON.stringify(named)}`}; one of ${kindNames().join(', ')}` },
    };
  }
  const kind = named;
  const parsed = kindOf(kind).schema.safeParse(raw);
  if (parsed.success) return { success: true, data: parsed.data as CommonSpec & Record<string, unknown> };
  const issue = parsed.error.issues[0];
  // A field the kind needs, absent: say so rather than "expected string, received undefined".
  const missing = issue.path.length === 1 && (raw as Record<string, unknown>)[issue.path[0] as string] === undefined;
  return {
    success: false,
    issue: { path: issue.path, keys: 'keys' in issue ? (issue.keys as string[]) : undefined, message: missing ? `required for kind ${kind}` : issue.message },
  };
}

/** Parse a spec object (after defaults); throws with the field on failure. */
export function specOf(raw: unknown): ExperimentSpec {
  const v = validateSpec(raw);
  if (!v.success) throw new Error(`${v.issue.path.join('.') || '(top level)'}: ${v.issue.message}`);
  return v.data as ExperimentSpec;
}

/** Parse and validate YAML text; `file` names the source in error messages. */
export function parseSpec(text: string, file: string): ExperimentSpec {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new Error(`${file}:${e.linePos?.[0].line ?? '?'}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  let raw: unknown;
  try {
    // Aliases are expanded at most 1,000 times: a "billion laughs" spec fails here, named, instead of filling memory.
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = validateSpec(raw);
  if (parsed.success) return parsed.data as ExperimentSpec;
  const issue = parsed.issue;
  // Point at the deepest node of the path that exists in the document (an unknown key: that key's own line).
  const path = issue.keys?.length ? [...issue.path, issue.keys[0]] : issue.path;
  let line: number | undefined;
  for (let n = path.length; n >= 0 && line === undefined; n--) {
    const node = n === 0 ? doc.contents : keyOrValueNode(doc, path.slice(0, n) as (string | number)[]);
    if (isNode(node) && node.range) line = lines.linePos(node.range[0]).line;
  }
  const field = issue.path.join('.') || '(top level)';
  throw new Error(`${file}:${line ?? 1}: ${field}: ${issue.message}`);
}

/** The node of a path's key where there is one (a mapping entry), else of its value. */
function keyOrValueNode(doc: YAML.Document, path: (string | number)[]): unknown {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  if (YAML.isMap(parent)) {
    const pair = parent.items.find((p) => (YAML.isScalar(p.key) ? p.key.value : p.key) === path.at(-1));
    if (pair && isNode(pair.key)) return pair.key;
  }
  return doc.getIn(path, true);
}

export function loadSpec(file: string): ExperimentSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSpec(text, file);
}
