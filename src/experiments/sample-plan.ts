/**
 * How many answers each question gets, and in which slots. A question file's own counts
 * (`samples_per_paraphrase`: each paraphrase asked that many times) are the default; the spec's
 * `samples` (or `dramatis run -n`) overrides them with a total, dealt round robin over the questions.
 * A set without counts (the built-in sets, files that give none) gets the spec's `samples`, 240 unless
 * it says otherwise.
 *
 * Slots are dealt in rounds: round k gives every question that still wants answers its k-th slot, with
 * paraphrase k mod (its paraphrases). With equal counts this is exactly the round robin of earlier
 * versions (slot i = question i mod Q, paraphrase ⌊i/Q⌋), so their stored samples and seeds still
 * match; with unequal counts (2×3 and 1×100) each question gets its own.
 */
import type { Question } from '../scorers/scorer.ts';

/** The spec's samples when neither it nor the question set says (the built-in sets' long-standing default). */
export const DEFAULT_SAMPLES = 240;

export interface PlannedSlot {
  q: Question;
  questionId: string;
  idx: number;
  paraphrase: string;
}

export interface SamplePlan {
  slots: PlannedSlot[];
  /** Answers per question id. */
  perQuestion: Map<string, number>;
  /** Where the counts come from, for the run's header. */
  describe: string;
}

/** Deal `counts[q]` slots to each question, in rounds (see above). */
function deal(questions: Question[], counts: number[]): PlannedSlot[] {
  const slots: PlannedSlot[] = [];
  const rounds = Math.max(0, ...counts);
  for (let k = 0; k < rounds; k++) {
    questions.forEach((q, j) => {
      if (k < counts[j]) slots.push({ q, questionId: q.id, idx: slots.length, paraphrase: q.paraphrases[k % q.paraphrases.length] });
    });
  }
  return slots;
}

/** A total dealt round robin: question i mod Q, paraphrase ⌊i/Q⌋ mod P. */
function roundRobin(questions: Question[], total: number): PlannedSlot[] {
  const counts = questions.map((_, j) => Math.floor(total / questions.length) + (j < total % questions.length ? 1 : 0));
  return deal(questions, counts);
}

const summary = (questions: Question[], counts: number[]) => {
  const distinct = [...new Set(counts)];
  return distinct.length === 1 ? `${counts[0]} each` : `${Math.min(...counts)}–${Math.max(...counts)} per question`;
};

/**
 * The plan for these questions: the spec's explicit total when given, else the file's counts, else the
 * default. A file that gives counts for some questions and not others is an error (which count the
 * others mean is not ours to guess).
 */
export function samplePlan(questions: Question[], samples: number | undefined): SamplePlan {
  if (questions.length === 0) throw new Error('no questions to ask');
  const own = questions.filter((q) => q.samplesPerParaphrase !== undefined);
  let slots: PlannedSlot[];
  let describe: string;
  if (samples !== undefined) {
    slots = roundRobin(questions, samples);
    const counts = questions.map((q) => slots.filter((s) => s.questionId === q.id).length);
    describe = `${samples} answers per condition (\`samples\`: a total, dealt round robin over ${questions.length} questions: ${summary(questions, counts)})`;
    if (own.length) describe += `; overrides the file's samples_per_paraphrase`;
  } else if (own.length === 0) {
    slots = roundRobin(questions, DEFAULT_SAMPLES);
    describe = `${DEFAULT_SAMPLES} answers per condition (the default; the questions give no samples_per_paraphrase), dealt round robin over ${questions.length} questions`;
  } else {
    if (own.length < questions.length) {
      const without = questions.filter((q) => q.samplesPerParaphrase === undefined).map((q) => q.id);
      throw new Error(
        `questions ${without.slice(0, 5).join(', ')}${without.length > 5 ? ` and ${without.length - 5} more` : ''} give no samples_per_paraphrase while others do: give them one, or set \`samples\` in the spec (a total)`,
      );
    }
    const counts = questions.map((q) => q.paraphrases.length * q.samplesPerParaphrase!);
    slots = deal(questions, counts);
    describe = `${slots.length} answers per condition (the file's samples_per_paraphrase × paraphrases: ${summary(questions, counts)}, over ${questions.length} questions)`;
  }
  const perQuestion = new Map(questions.map((q) => [q.id, 0]));
  for (const s of slots) perQuestion.set(s.questionId, perQuestion.get(s.questionId)! + 1);
  return { slots, perQuestion, describe };
}
