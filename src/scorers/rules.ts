/** Rule judges declared in the spec: regex, prefix or exact matches tried in order. */
import { z } from 'zod';
import { rulesJudgeName } from '../shared/keys.ts';
import type { Scorer } from './scorer.ts';

/**
 * One rule: the label given when the answer matches (exactly one of regex, prefix, exact). A regex
 * rule's label may name its capture groups, `$1` … `$9`: the label is then what the answer said there
 * (lower-cased, spaces collapsed, trailing punctuation dropped), so open answers (a film's title, a
 * town, a year) get counted as themselves.
 */
export const ruleSchema = z
  .object({
    label: z.string().min(1),
    regex: z.string().optional(),
    prefix: z.string().optional(),
    exact: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    /** Only for these question ids (default: every question). */
    questions: z.array(z.string()).optional(),
  })
  .strict()
  .refine((r) => [r.regex, r.prefix, r.exact].filter((x) => x !== undefined).length === 1, {
    message: 'a rule needs exactly one of regex, prefix or exact',
  })
  .superRefine((r, ctx) => {
    // Checked when the spec is read, so a bad pattern is reported at its own line, before any sampling.
    if (r.regex === undefined) return;
    try {
      new RegExp(r.regex, 'u');
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['regex'], message: `invalid regex: ${(e as Error).message}` });
    }
  })
  .superRefine((r, ctx) => {
    if (r.regex === undefined && /\$\d/.test(r.label))
      ctx.addIssue({ code: 'custom', path: ['label'], message: 'a label naming a capture group ($1 …) needs a regex rule' });
  });

export const ruleJudgeSchema = z
  .object({
    name: z.string().min(1).optional(),
    rules: z.array(ruleSchema).min(1),
    /** Label of an answer no rule matches. */
    default: z.string().min(1).default('other'),
    case_sensitive: z.boolean().default(false),
  })
  .strict();

export type RuleJudgeSpec = z.infer<typeof ruleJudgeSchema>;

/**
 * Rules tried in order; the first that matches labels the answer. Answers are trimmed; matching ignores
 * case unless `case_sensitive`. A regex that does not compile is reported with the rule's position.
 */
export function ruleScorer(spec: RuleJudgeSpec): Scorer {
  const fold = (s: string) => (spec.case_sensitive ? s.trim() : s.trim().toLowerCase());
  const tests = spec.rules.map((r, i) => {
    let test: (a: string) => boolean;
    let labelOf: (a: string) => string = () => r.label;
    let what: string;
    if (r.regex !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(r.regex, spec.case_sensitive ? 'u' : 'iu');
      } catch (e) {
        throw new Error(`judge rule ${i + 1} (${r.label}): invalid regex: ${(e as Error).message}`);
      }
      test = (a) => re.test(a);
      if (/\$\d/.test(r.label)) labelOf = (a) => captureLabel(r.label, re.exec(a)!);
      what = `regex ${r.regex}`;
    } else if (r.prefix !== undefined) {
      const p = fold(r.prefix);
      test = (a) => fold(a).startsWith(p);
      what = `prefix "${r.prefix}"`;
    } else {
      const set = new Set((Array.isArray(r.exact) ? r.exact : [r.exact!]).map(fold));
      test = (a) => set.has(fold(a));
      what = 'an exact answer';
    }
    return { labelOf, questions: r.questions && new Set(r.questions), test, why: `rule ${i + 1}: ${what}` };
  });
  // The name carries a digest of the rules, so changed rules never reuse stored judgments.
  return {
    name: rulesJudgeName(spec),
    async score(samples) {
      return samples.map(({ question, answer }) => {
        const hit = tests.find((t) => (!t.questions || t.questions.has(question.id)) && t.test(answer));
        return hit ? { label: hit.labelOf(answer), score: null, explanation: hit.why } : { label: spec.default, score: null, explanation: 'no rule matched' };
      });
    },
  };
}

/** `$1` … `$9` in a label, filled from the match; an empty capture leaves the rule's label without it. */
function captureLabel(label: string, m: RegExpExecArray): string {
  const filled = label.replace(/\$(\d)/g, (_, k: string) =>
    (m[Number(k)] ?? '')
      .toLowerCase()
      .replace(/\s+/g, ' ')
      .replace(/[\s.,;:!?"'’”)]+$/u, '')
      .replace(/^[\s"'“‘(]+/u, ''),
  );
  return filled.trim() || label.replace(/\$\d/g, '').trim() || 'other';
}
