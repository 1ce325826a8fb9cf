/**
 * Transcript monitors: scorers over whole conversations that need no model (rules, statistics,
 * lexicons), each answering one question about the assistant's side of a transcript. Every verdict
 * carries its evidence (the spans or phrases that carried it), which the CLI prints and the viewer shows.
 */
import type { ChatMessage } from '../../shared/chat.ts';

/** A conversation as any format gives it: its id when the source has one, and its turns. */
export interface Transcript {
  id?: string;
  messages: ChatMessage[];
}

/** Where a piece of evidence lies: the message's index in `messages`, and a character span in its content. */
export interface Evidence {
  message: number;
  start: number;
  end: number;
  /** The text of the span (or a short excerpt of it). */
  text: string;
}

export interface MonitorVerdict {
  /** Did the monitor fire? (date: a year was found.) */
  flag: boolean;
  /** A strength in [0, 1] where the monitor has one (distress), else absent. */
  score?: number;
  /** One line: why (what repeated and how often, which phrases, which year and from what). */
  explanation: string;
  evidence: Evidence[];
  /** Monitor-specific detail (loop: unit, count, kind; date: year). */
  [key: string]: unknown;
}

export interface TranscriptMonitor {
  /** `loop`, `distress`, `date`, `eval_awareness`. */
  readonly name: string;
  /** One line for `dramatis monitor --list`. */
  readonly description: string;
  check(t: Transcript): MonitorVerdict;
}
