/**
 * The layering of src/, as data, and the check that enforces it (test/cli/layers.test.ts runs it on src/
 * and on a folder with a planted violation).
 *
 * Every .ts file under the root, at any depth, is parsed with the TypeScript compiler, so every way a
 * module can name another counts: `import … from`, `import type … from`, side-effect `import '…'`,
 * `export … from`, `export type … from`, dynamic `import('…')` with a literal argument, and type positions
 * `import('…').T`, however the statement is split over lines; comments and strings that merely look like
 * imports do not count. Only relative specifiers are checked; packages and `node:` built-ins are not.
 *
 * To change the layering, edit RULES (which layer a path belongs to; the first match wins) and MAY_IMPORT
 * (which layers each layer may import; `types` lists layers it may import from only with `import type` or
 * `export type`, the statements TypeScript always erases).
 */
import ts from 'typescript';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** A path relative to the checked root (src/), with forward slashes: a string is a prefix, a RegExp is tested. */
export interface LayerRule {
  path: string | RegExp;
  layer: string;
}
export interface LayerAllowance {
  any: readonly string[];
  types?: readonly string[];
}
export interface LayerPolicy {
  rules: readonly LayerRule[];
  mayImport: Readonly<Record<string, LayerAllowance>>;
}

/** Which layer each file belongs to; the first rule that matches wins. */
export const RULES: readonly LayerRule[] = [
  // The browser app: each kind's client view, the viewer's client, and the types they share with the server.
  { path: /^experiments\/kinds\/[^/]+\/view\.ts$/, layer: 'view-client' },
  { path: 'experiments/kinds/views.ts', layer: 'view-client' },
  { path: 'view/client/', layer: 'view-client' },
  { path: 'view/types.ts', layer: 'view-types' },
  { path: 'shared/', layer: 'shared' },
  { path: 'world/', layer: 'world' },
  { path: 'organism/', layer: 'organism' },
  { path: 'backends/', layer: 'backends' },
  // The transcript monitors' rules: pure functions over text, which the viewer runs in the page to
  // highlight the spans a stored judgment flagged (the store keeps labels and reasons, not spans).
  { path: /^scorers\/monitors\/(index|loop|distress|date|eval-awareness|text|types)\.ts$/, layer: 'monitor-rules' },
  { path: 'scorers/', layer: 'scorers' },
  { path: 'experiments/', layer: 'experiments' },
  { path: 'cli/', layer: 'cli' },
  { path: 'server/', layer: 'server' },
  { path: 'view/', layer: 'view' },
];

/** The stack, bottom first: each of these may import itself and anything below it. */
const STACK = ['shared', 'world', 'organism', 'backends', 'scorers', 'experiments'] as const;
const upTo = (layer: (typeof STACK)[number]) => STACK.slice(0, STACK.indexOf(layer) + 1);

export const MAY_IMPORT: Readonly<Record<string, LayerAllowance>> = {
  shared: { any: upTo('shared') },
  world: { any: upTo('world') },
  organism: { any: upTo('organism') },
  backends: { any: upTo('backends') },
  'monitor-rules': { any: ['shared', 'monitor-rules'], types: ['scorers'] },
  scorers: { any: [...upTo('scorers'), 'monitor-rules'] },
  experiments: { any: [...upTo('experiments'), 'monitor-rules'] },
  // The top: server and view sit on experiments and never import cli (nor each other).
  server: { any: [...STACK, 'monitor-rules', 'server'] },
  view: { any: [...STACK, 'monitor-rules', 'view', 'view-types', 'view-client'] },
  cli: { any: [...STACK, 'monitor-rules', 'cli', 'server', 'view', 'view-types', 'view-client'] },
  // Runs in the browser: its own code, pure helpers and the viewer's types; result types from experiments.
  'view-types': { any: ['shared', 'view-types'], types: ['experiments'] },
  'view-client': { any: ['shared', 'view-types', 'view-client', 'monitor-rules'], types: ['experiments'] },
};

export const POLICY: LayerPolicy = { rules: RULES, mayImport: MAY_IMPORT };

export interface ModuleReference {
  specifier: string;
  typeOnly: boolean;
  line: number;
  dynamic: boolean;
}

/** Every module a TypeScript source names, with whether the reference is erased at run time. */
export function referencesOf(fileName: string, text: string): ModuleReference[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ModuleReference[] = [];
  const add = (node: ts.Node, spec: ts.Node | undefined, typeOnly: boolean, dynamic = false) => {
    if (spec && ts.isStringLiteralLike(spec)) {
      out.push({ specifier: spec.text, typeOnly, dynamic, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node, node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0], false, true);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal, true);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The layer of a path relative to the root, or undefined when no rule matches it. */
export function layerOf(path: string, rules: readonly LayerRule[] = RULES): string | undefined {
  return rules.find((r) => (typeof r.path === 'string' ? path.startsWith(r.path) : r.path.test(path)))?.layer;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.isFile() && e.name.endsWith('.ts') ? [path] : [];
  });
}

export interface LayerReport {
  /** Files checked, relative to the root. */
  files: string[];
  /** Imports the policy forbids, as `src/a/x.ts:3 (a) imports ../b/y.ts (b)`. */
  violations: string[];
  /** Files or import targets no rule places in a layer, each with what to do about it. */
  unplaced: string[];
}

/** Checks every .ts file under `root` (recursively) against the policy; paths in messages start with `label`. */
export function checkLayers(root: string, policy: LayerPolicy = POLICY, label = 'src'): LayerReport {
  const rootDir = resolve(root);
  const rel = (path: string) => relative(rootDir, path).split(sep).join('/');
  const show = (path: string) => `${label}/${path}`;
  const files = tsFiles(rootDir).map(rel).sort();
  const violations: string[] = [];
  const unplaced = new Set<string>();
  const place = (path: string): string | undefined => {
    const layer = layerOf(path, policy.rules);
    if (layer === undefined) {
      const top = path.includes('/') ? `${label}/${path.split('/')[0]}/` : show(path);
      unplaced.add(`${top} is in no layer (unknown top-level folder or file): add a rule for it to RULES in test/helpers/layers.ts`);
    } else if (!policy.mayImport[layer]) {
      unplaced.add(`layer '${layer}' (of ${show(path)}) has no MAY_IMPORT entry in test/helpers/layers.ts`);
    }
    return layer;
  };
  for (const file of files) {
    const from = place(file);
    const text = readFileSync(join(rootDir, file), 'utf8');
    for (const ref of referencesOf(file, text)) {
      if (!ref.specifier.startsWith('.')) continue;
      const target = rel(resolve(dirname(join(rootDir, file)), ref.specifier));
      if (target.startsWith('../')) continue; // outside the root (e.g. package.json): not a layer
      const to = place(target);
      if (from === undefined || to === undefined) continue;
      const allowed = policy.mayImport[from];
      if (!allowed) continue;
      if (allowed.any.includes(to) || (ref.typeOnly && allowed.types?.includes(to))) continue;
      const how = `${ref.dynamic ? 'dynamically ' : ''}${ref.typeOnly ? 'imports types from' : 'imports'}`;
      violations.push(`${show(file)}:${ref.line} (${from}) ${how} ${ref.specifier} (${to})`);
    }
  }
  return { files, violations, unplaced: [...unplaced].sort() };
}
