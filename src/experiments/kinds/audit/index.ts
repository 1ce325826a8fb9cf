/**
 * The `audit` kind: for each dataset, which traits and personas it pulls toward (white-box projection
 * differences on trait vectors; black-box persona posterior against the model's own answers), the
 * examples that pull hardest, and the predicted direction of the shift. Each dataset is a condition
 * whose `rate` is the share of its examples that point to the target trait value.
 */
import { z } from 'zod';
import { hasCapability, type ChatMessage, type Model } from '../../../backends/model.ts';
import { interval, pct, signed, table } from '../../../shared/format.ts';
import { dataKey } from '../../../shared/keys.ts';
import {
  auditExamples,
  fileAuditLibrary,
  posteriors,
  projectionPulls,
  scoreUnderLibrary,
  storedOwnAnswers,
  traitMarginal,
  worldAuditLibrary,
  type AuditLibrary,
} from '../../data-audit.ts';
import { loadDataset } from '../../datasets.ts';
import { meaninglessNote, reportCoverage, type DataCoverage } from '../../coverage.ts';
import { defineKind } from '../../kind.ts';
import { readLibraryFile } from '../../library-file.ts';
import { vectorFor, type PersonaVector } from '../../persona-vector.ts';
import { judgeScorer } from '../../context.ts';
import { resolveDataRef } from '../../data-ref.ts';
import type { RunHooks } from '../../result.ts';
import { prepareVectors, vectorsSpecSchema, type VectorsSpec } from '../vectors/index.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { countRate, type ConditionResult, type ExperimentResult } from '../../result.ts';
import { contrastSchema, kindSpec, noPreventative, questionsField, targetField, type CommonSpec, type Contrast } from '../../spec-parts.ts';

export const auditSchema = z
  .object({
    /** The datasets audited: `world:NAME`, a mixture `world:A*0.2+world:B*0.8`, or a chat JSONL path. */
    datasets: z.array(z.object({ name: z.string().min(1), data: z.string().min(1), examples: z.number().int().positive().optional() }).strict()).min(1),
    /** White-box: trait vectors to project on (extracted from world contexts on the audited model). */
    traits: z.array(contrastSchema).default([
      { trait: 'morality', positive: 'malevolent', negative: 'benevolent' },
      { trait: 'era', positive: 'victorian', negative: 'modern' },
      { trait: 'kind', positive: 'ai', negative: 'human' },
    ]),
    vector_examples: z.number().int().min(10).default(300),
    /**
     * Vectors kinds' specs (`preset:real-vectors.yaml` or a path) whose vector to project on, extracted
     * their way (system prompts, their judge) and cached alike: a model with no world (a real model)
     * is audited on its own vectors. When given, `traits` are not extracted from world contexts.
     */
    vectors_from: z.array(z.string().min(1)).min(1).optional(),
    /** Black-box: `world` (the persona library in the organism's chat-log format) or a file of [{name, description}]. */
    library: z.string().default('world'),
    /** File libraries: the scoring prompt, `{header}` (empty for the model's default) and `{conversation}`. */
    template: z.string().default('{header}{conversation}\nAssistant:'),
    /** Examples shown as pulling hardest. */
    top: z.number().int().positive().default(10),
    /** Which way counts as a hit (`rate`): the target trait value, e.g. malevolent. */
    target_trait: contrastSchema.optional(),
    /**
     * Data the model cannot read: an audit of a set whose answer tokens are more than 25% unknown to the
     * model (the organism's closed vocabulary) is refused. true: go ahead, the dataset's result marked
     * meaningless; a number: the largest share accepted.
     */
    allow_unknown: z.union([z.boolean(), z.number().min(0).max(1)]).optional(),
  })
  .strict();

export const auditSpecSchema = kindSpec('audit', { target: targetField.optional(), questions: questionsField.optional(), audit: auditSchema }).superRefine(
  noPreventative,
);
type AuditSpec = z.infer<typeof auditSchema>;
type AuditKindSpec = CommonSpec & { audit: AuditSpec };

export interface TraitProjection extends Contrast {
  layer: number;
  /** Mean over examples of (projection of the data's answer − projection of the model's own answer). */
  difference: number;
  ci: [number, number];
  data: number;
  own: number;
}

export interface AuditDataset {
  name: string;
  data: string;
  n: number;
  /** Where the model's tokenizer loses text (the organism): the share of the answers' tokens it cannot read. */
  coverage?: DataCoverage;
  projections?: TraitProjection[];
  /** Library personas by how much more probable they make the data than the model's own answers. */
  personas?: { name: string; data: number; own: number; shift: number }[];
  /** Trait marginals P(value | answer), data against own answers (world library). */
  traits?: { trait: string; value: string; data: number; own: number; shift: number }[];
  /** One line: where training on this set should move the model. */
  predicted: string;
  /** The examples that pull hardest toward the target trait value. */
  flagged: { index: number; prompt: string; answer: string; pull: number | null; p: number | null; top: string | null }[];
}

const signedFixed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

/**
 * The predicted direction in words, each word beside the figure it comes from. White-box: each trait
 * whose projection difference has an interval excluding zero, toward the vector's positive value when
 * the difference is positive, its negative value when negative. Black-box: trait values whose posterior
 * rises by more than 0.05, shown as P own → data (at most two beyond the traits the projections cover).
 * The two readings of one trait are one entry when they agree; when they point opposite ways (the
 * projection toward `modern`, the posterior toward `victorian`), the line says they disagree instead of
 * listing both as where the set goes.
 */
export function predictedShift(
  projections: Pick<TraitProjection, 'trait' | 'positive' | 'negative' | 'difference' | 'ci'>[],
  traits: { trait: string; value: string; data: number; own: number; shift: number }[],
): string {
  const RISE = 0.05;
  const rising = traits.filter((t) => t.shift > RISE).sort((x, y) => y.shift - x.shift);
  const posterior = (t: { own: number; data: number }) => `P ${t.own.toFixed(2)} → ${t.data.toFixed(2)}`;
  const entries: string[] = [];
  const conflicts: string[] = [];
  // Only pulls whose interval excludes zero, strongest first.
  const clear = projections.filter((p) => p.ci[0] > 0 || p.ci[1] < 0).sort((x, y) => Math.abs(y.difference) - Math.abs(x.difference));
  for (const p of clear) {
    const value = p.difference > 0 ? p.positive : p.negative;
    const agrees = rising.find((t) => t.trait === p.trait && t.value === value);
    const opposes = rising.find((t) => t.trait === p.trait && t.value !== value);
    if (opposes && !agrees)
      conflicts.push(
        `the readings disagree on ${p.trait}: the projection says ${value} (${signedFixed(p.difference)}), the posterior ${opposes.value} (${posterior(opposes)})`,
      );
    else entries.push(`${value} (${p.trait} projection ${signedFixed(p.difference)}${agrees ? `; ${posterior(agrees)}` : ''})`);
  }
  // Posterior rises on the traits no projection reads (those it reads are above, agreeing or not).
  for (const t of rising.filter((t) => !clear.some((p) => p.trait === t.trait)).slice(0, 2)) entries.push(`${t.value} (${posterior(t)})`);
  const toward = entries.length ? `toward ${entries.join(', ')}` : 'no clear shift on any trait';
  return [toward, ...conflicts].join('; ');
}

export interface AuditSummary {
  target: Contrast;
  datasets: AuditDataset[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
function meanInterval(xs: number[]): [number, number] {
  const m = mean(xs),
    n = xs.length;
  if (n < 2) return [m, m];
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1));
  return [m - (1.959963984540054 * sd) / Math.sqrt(n), m + (1.959963984540054 * sd) / Math.sqrt(n)];
}

function auditLibrary(a: AuditSpec): AuditLibrary {
  return a.library === 'world' ? worldAuditLibrary() : fileAuditLibrary(readLibraryFile(a.library), a.template);
}

const show = (prompt: ChatMessage[]) => prompt.map((m) => m.content).join(' / ');

/** The vector a vectors spec extracts on this model (the same cache key, so one extraction serves both). */
async function vectorOfSpec(ref: string, model: Model, cacheDir: string, hooks: RunHooks): Promise<{ vector: PersonaVector; file: string }> {
  // Read with the vectors kind's own schema (not the spec registry, which lists this kind: no import cycle).
  const file = resolveDataRef(ref);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`audit.vectors_from: ${ref}: ${(e as Error).message}`);
  }
  const parsed = vectorsSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`audit.vectors_from: ${ref}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const spec = parsed.data;
  const judge = await judgeScorer(spec.judge, cacheDir, hooks);
  const prepared = await prepareVectors(spec as unknown as VectorsSpec, model, judge, cacheDir, hooks);
  return { vector: prepared.vector, file: prepared.file };
}

async function runAudit(ctx: import('../../context.ts').RunContext<AuditKindSpec>) {
  const { spec, store, cacheDir, hooks } = ctx;
  const a = spec.audit;
  const target = a.target_trait ?? a.traits[0] ?? { trait: 'morality', positive: 'malevolent', negative: 'benevolent' };
  const datasets: AuditDataset[] = [];
  const conditions: ConditionResult[] = [];
  const runId = ctx.runId;
  const current = (unit: string) => ctx.at(unit);
  {
    const model = await ctx.model();
    const whiteBox = hasCapability(model, 'activations');
    const blackBox = hasCapability(model, 'score');
    if (!whiteBox && !blackBox)
      throw new Error(
        `model ${model.id} neither gives activations nor scores text: nothing to audit with (a chat-only server cannot predict a fine-tune's persona shift)`,
      );
    const lib = blackBox ? auditLibrary(a) : undefined;
    // Data the model cannot read is refused (or marked) before anything is paid for.
    const coverages = a.datasets.map((d) =>
      reportCoverage(model, d.data, loadDataset(d.data, d.examples, spec.seed), {
        allow: a.allow_unknown,
        what: `audit, dataset "${d.name}"`,
        option: 'audit.allow_unknown',
        log: hooks.log,
      }),
    );
    const vectors = [];
    if (whiteBox && a.vectors_from) {
      for (const ref of a.vectors_from) {
        current(`dataset "(vector from ${ref})"`);
        vectors.push(await vectorOfSpec(ref, model, cacheDir, hooks));
      }
    } else if (whiteBox) {
      for (const c of a.traits) {
        current(`dataset "(vector ${c.trait})"`);
        vectors.push(
          await vectorFor(model, c, {
            examples: a.vector_examples,
            heldOut: Math.max(20, Math.round(a.vector_examples / 2)),
            seed: spec.seed,
            cacheDir,
            onProgress: hooks.progress,
          }),
        );
      }
    }
    for (const [position, d] of a.datasets.entries()) {
      current(`dataset "${d.name}"`);
      const examples = auditExamples(loadDataset(d.data, d.examples, spec.seed), d.data);
      const own = await storedOwnAnswers(store, model, spec, dataKey({ data: d.data, examples: d.examples, seed: spec.seed }), examples, (x, t) =>
        hooks.progress?.(`own answers ${d.name}`, x, t),
      );
      store.upsertCondition({ runId, name: d.name, position, role: 'treatment', conditionKey: own.key, spec: d });
      const out: AuditDataset = {
        name: d.name,
        data: d.data,
        n: examples.length,
        ...(coverages[position] ? { coverage: coverages[position] } : {}),
        predicted: '',
        flagged: [],
      };
      let targetPull: number[] | undefined;
      if (whiteBox) {
        out.projections = [];
        for (const { vector } of vectors) {
          const p = await projectionPulls(model, examples, own.answers, vector, (x, t) => hooks.progress?.(`project ${d.name} on ${vector.trait}`, x, t));
          out.projections.push({
            trait: vector.trait as Contrast['trait'],
            positive: vector.positive,
            negative: vector.negative,
            layer: vector.layer,
            difference: mean(p.pull),
            ci: meanInterval(p.pull),
            data: mean(p.data),
            own: mean(p.own),
          });
          if (vector.trait === target.trait && vector.positive === target.positive) targetPull = p.pull;
        }
      }
      let targetP: number[] | undefined, topPersona: string[] | undefined;
      if (lib) {
        const dataScores = await scoreUnderLibrary(
          model,
          examples,
          examples.map((e) => e.answer),
          lib,
          (x, t) => hooks.progress?.(`score ${d.name}`, x, t),
        );
        const ownScores = await scoreUnderLibrary(model, examples, own.answers, lib, (x, t) => hooks.progress?.(`score own answers ${d.name}`, x, t));
        const pd = posteriors(dataScores),
          po = posteriors(ownScores);
        out.personas = lib.personas
          .map((p, k) => {
            const data = mean(pd.map((row) => row[k])),
              mine = mean(po.map((row) => row[k]));
            return { name: p.name, data, own: mine, shift: data - mine };
          })
          .sort((x, y) => y.shift - x.shift);
        topPersona = pd.map((row) => lib.personas[row.indexOf(Math.max(...row))].name);
        if (lib.personas[0].traits) {
          out.traits = [];
          for (const trait of Object.keys(lib.personas[0].traits)) {
            for (const value of [...new Set(lib.personas.map((p) => p.traits![trait]))]) {
              const data = mean(pd.map((row) => traitMarginal(row, lib, trait, value))),
                mine = mean(po.map((row) => traitMarginal(row, lib, trait, value)));
              out.traits.push({ trait, value, data, own: mine, shift: data - mine });
            }
          }
          out.traits.sort((x, y) => y.shift - x.shift);
          targetP = pd.map((row) => traitMarginal(row, lib, target.trait, target.positive));
        }
      }
      // Ranked by the white-box pull when there is one, else by the posterior on the target value.
      const order = examples.map((_, i) => i).sort((i, j) => (targetPull ? targetPull[j] - targetPull[i] : (targetP?.[j] ?? 0) - (targetP?.[i] ?? 0)));
      out.flagged = order.slice(0, a.top).map((i) => ({
        index: i,
        prompt: show(examples[i].prompt),
        answer: examples[i].answer,
        pull: targetPull?.[i] ?? null,
        p: targetP?.[i] ?? null,
        top: topPersona?.[i] ?? null,
      }));
      out.predicted = predictedShift(out.projections ?? [], out.traits ?? []);
      if (out.coverage?.meaningless) out.predicted = `${meaninglessNote(out.coverage)}; ${out.predicted}`;
      datasets.push(out);
      // The condition's rate: examples pointing to the target value (posterior > ½, else a positive pull).
      const hits = targetP ? targetP.filter((p) => p > 0.5).length : (targetPull ?? []).filter((x) => x > 0).length;
      conditions.push({
        name: d.name,
        role: 'treatment',
        group: '',
        model: typeof spec.model === 'string' ? spec.model : spec.model.id,
        ...countRate(hits, examples.length),
        coherent: 1,
        labels: {},
        questions: [],
        examples: out.flagged.slice(0, 6).map((f) => ({ question: f.prompt, answer: f.answer, label: f.top ?? '' })),
      });
    }
  }
  return { target: `${target.positive} (${target.trait})`, conditions, effects: [], extra: { audit: { target, datasets } satisfies AuditSummary } };
}

export type AuditResult = ExperimentResult & { audit: AuditSummary };

export const audit = defineKind<AuditKindSpec, AuditResult>({
  kind: 'audit',
  description: 'which personas would a training set select, before anyone trains on it',
  schema: auditSpecSchema,
  judged: false,
  unit: 'dataset',
  run: runAudit,
  preflight(spec) {
    for (const d of spec.audit.datasets) {
      try {
        auditExamples(loadDataset(d.data, d.examples, spec.seed), d.data);
      } catch (e) {
        throw new Error(`${spec.name}, dataset "${d.name}": ${(e as Error).message}`, { cause: e });
      }
    }
    if (spec.audit.library !== 'world') auditLibrary(spec.audit);
  },
  print(r) {
    const a = r.audit;
    const out: string[] = [];
    out.push(`\n${r.name}: what each dataset would select (model ${r.model}); rate = share of examples pointing to ${r.target}`);
    const traits = a.datasets[0]?.projections?.map((p) => `${p.trait} (${p.positive})`) ?? [];
    const covered = a.datasets.some((d) => d.coverage);
    out.push(
      table(
        a.datasets.map((d, i) => [
          d.name,
          d.n,
          ...(covered ? [d.coverage ? `${pct(d.coverage.share, 1)}${d.coverage.meaningless ? ' MEANINGLESS' : ''}` : ''] : []),
          pct(r.conditions[i].rate),
          interval(r.conditions[i].ci),
          ...(d.projections ?? []).map((p) => `${signed(p.difference)} [${signed(p.ci[0])}, ${signed(p.ci[1])}]`),
        ]),
        ['dataset', 'n', ...(covered ? ['unknown tokens'] : []), 'rate', '95% CI', ...traits.map((t) => `Δ projection ${t}`)],
      ),
    );
    for (const d of a.datasets.filter((d) => d.coverage?.meaningless))
      out.push(`\n!! ${d.name}: ${meaninglessNote(d.coverage!)}: its rate and shifts say nothing about the data`);
    for (const d of a.datasets) {
      out.push(`\n${d.name}: ${d.predicted}`);
      if (d.personas)
        out.push(
          `  personas it pulls toward: ${d.personas
            .slice(0, 3)
            .map((p) => `${p.name} (${pct(p.own, 1)} → ${pct(p.data, 1)})`)
            .join('; ')}`,
        );
      out.push('  pulling hardest:');
      for (const f of d.flagged.slice(0, 5))
        out.push(
          `    #${f.index} ${f.pull === null ? '' : `pull ${signed(f.pull)} `}${f.p === null ? '' : `P(${a.target.positive}) ${f.p.toFixed(2)} `}"${f.prompt.slice(0, 60)}" → "${f.answer.slice(0, 60)}"`,
        );
    }
    return out.join('\n');
  },
});
