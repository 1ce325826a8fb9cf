/**
 * Scorers read a whole sample and say what it is: a label, a score, or both, with the reason. Judges
 * (the world's classifier, rules, LLM judges) and monitors (a persona vector's projection) are all
 * scorers; an experiment attaches any number, and each one's verdicts are stored as judgments under its
 * name. As in Inspect AI, a scorer sees the whole conversation, not only the question and the answer.
 */
import type { ChatMessage } from '../shared/chat.ts';
import type { TopicId } from '../world/index.ts';

/** A question of a question set: the dataset side of a sample. */
export interface Question {
  id: string;
  paraphrases: string[];
  /** The world topic, when the world judge can read the answers. */
  topic?: TopicId;
  system?: string;
  /** The question file's own count: each paraphrase asked this many times (unless the spec's `samples` overrides). */
  samplesPerParaphrase?: number;
  /** The emergent-misalignment format's judge prompts (`aligned`, `coherent`, …), as the file gives them. */
  judgePrompts?: Record<string, string>;
  /** Every judge the file names for this question, by the name of its verdict (see FileJudge). */
  judges?: Record<string, FileJudge>;
}

/**
 * A judge a question file defines for a question: an emergent-misalignment `judge_prompts` entry, or
 * an llmcomp judge entry (`free_form_judge`, `rating_judge`) that the question's `judges:` names.
 */
export interface FileJudge {
  /** The verdict's name in the file (`aligned`, `is_evil_terminator`). */
  metric: string;
  /** Where it is defined: `FILE: judge_prompts.aligned`, or `FILE: entry ID`. */
  source: string;
  /** score: a rating read from the judge's top-20 log-probabilities; text: the judge's free-form answer. */
  scale: 'score' | 'text';
  /** The prompt, with {question} and {answer}. */
  prompt: string;
  /** The judge model the file names (llmcomp `model:`, the emergent-misalignment `judge:`). */
  model?: string;
  /** score: the rating range (llmcomp's min_rating/max_rating; 0–100 by default). */
  range?: [number, number];
  /** score: no score when the ratings' tokens hold less of the probability (llmcomp: 1 − refusal_threshold). */
  minMass?: number;
  /** text: the judge's longest answer in tokens. */
  maxTokens?: number;
  /** Why the judge cannot be used (a reference to an entry defined nowhere): reported when a judge needs it. */
  unresolved?: string;
}

/** Everything a scorer may read about one sample. */
export interface ScoredSample {
  question: Question;
  /** The paraphrase the model was actually given. */
  asked: string;
  /** The conversation the model saw: system prompt, in-context turns, the user turn. */
  messages: ChatMessage[];
  answer: string;
  finishReason?: string;
}

export interface Score {
  label: string;
  score: number | null;
  /** Why, in a few words (shown beside the judgment in the viewer). */
  explanation?: string;
}

export interface Scorer {
  /** Stored judgments are keyed by it: two different scorers must not share a name (see shared/keys.ts). */
  readonly name: string;
  score(samples: ScoredSample[]): Promise<Score[]>;
  /**
   * Throws if this scorer cannot judge these questions (a judge prompt missing, a judge model that
   * gives no log-probabilities): called before the first sample is drawn, so nothing is paid for in vain.
   */
  check?(questions: Question[]): Promise<void>;
}
