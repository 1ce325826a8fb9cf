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
  samplesPerParaphrase?: number;
  judgePrompts?: Record<string, string>;
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
}
