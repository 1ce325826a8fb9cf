/**
 * The transcript monitors (loop, distress, date, eval_awareness): rules, statistics and lexicons over
 * the assistant's side of a conversation, no model needed. `monitorScorer` makes any of them a Scorer,
 * so an experiment can attach it and store its verdicts as judgments.
 */
import type { ChatMessage } from '../../shared/chat.ts';
import type { Score, Scorer, ScoredSample } from '../scorer.ts';
import type { MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';
import { loopMonitor } from './loop.ts';
import { distressMonitor } from './distress.ts';
import { dateMonitor } from './date.ts';
import { evalAwarenessMonitor } from './eval-awareness.ts';

export type { Evidence, MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';
export { loopMonitor, distressMonitor, dateMonitor, evalAwarenessMonitor };

/**
 * Each monitor's rule version: part of its scorer's name (stored judgments are keyed by it), bumped
 * whenever the monitor's rules change what it says.
 */
export const MONITOR_VERSIONS: Readonly<Record<string, number>> = { loop: 1, distress: 3, date: 3, eval_awareness: 3 };

/** The four monitors, in the order the CLI prints them: loop, distress, date, eval_awareness. */
export function transcriptMonitors(): TranscriptMonitor[] {
  return [loopMonitor(), distressMonitor(), dateMonitor(), evalAwarenessMonitor()];
}

export const MONITOR_NAMES: readonly string[] = ['loop', 'distress', 'date', 'eval_awareness'];

/** The monitor of that name; an unknown name fails with the list of known ones. */
export function monitorByName(name: string): TranscriptMonitor {
  const m = transcriptMonitors().find((x) => x.name === name);
  if (!m) throw new Error(`unknown monitor "${name}": the monitors are ${MONITOR_NAMES.join(', ')}`);
  return m;
}

/** The label a verdict gives as a judgment: the monitor's name when it fired (date: the year), else `none`. */
export function monitorLabel(monitor: TranscriptMonitor, v: MonitorVerdict): string {
  if (!v.flag) return 'none';
  if (monitor.name === 'date' && typeof v.year === 'number') return String(v.year);
  return monitor.name;
}

/**
 * A monitor as a scorer: each sample's transcript is its conversation followed by its answer. Its name,
 * `monitor:NAME:vN`, changes with the monitor's rules, so judgments of older rules are never mixed in.
 */
export function monitorScorer(monitor: TranscriptMonitor): Scorer {
  const version = MONITOR_VERSIONS[monitor.name] ?? 1;
  return {
    name: `monitor:${monitor.name}:v${version}`,
    score: async (samples: ScoredSample[]): Promise<Score[]> =>
      samples.map((s) => {
        const messages: ChatMessage[] = [...s.messages, { role: 'assistant', content: s.answer }];
        const v = monitor.check({ messages });
        return { label: monitorLabel(monitor, v), score: v.score ?? (v.flag ? 1 : 0), explanation: v.explanation };
      }),
  };
}

export function monitorTranscript(t: Transcript, monitors: TranscriptMonitor[] = transcriptMonitors()): Record<string, MonitorVerdict> {
  const out: Record<string, MonitorVerdict> = {};
  for (const m of monitors) out[m.name] = m.check(t);
  return out;
}

/**
 * One turn's verdict in a multi-turn conversation: is this reply (the last message) flagged? Every
 * monitor reads the last reply with the user's side of the conversation as context (earlier replies
 * left out), so a year or a spiral of an earlier turn is that turn's, not this one's; the loop monitor
 * also reads the whole conversation (the same reply every turn is a loop) and counts it when its
 * evidence includes this reply.
 */
export function turnVerdict(monitor: TranscriptMonitor, messages: ChatMessage[]): MonitorVerdict {
  const last = messages.length - 1;
  const kept = messages.map((m, i) => ({ m, i })).filter(({ m, i }) => m.role !== 'assistant' || i === last);
  const own = monitor.check({ messages: kept.map((x) => x.m) });
  // Evidence points into the conversation as given, not the shortened one.
  const v = { ...own, evidence: own.evidence.map((e) => ({ ...e, message: kept[e.message]?.i ?? e.message })) };
  if (v.flag || monitor.name !== 'loop') return v;
  // Across turns: the same reply as before is a loop of this turn when the evidence includes this reply.
  const whole = monitor.check({ messages });
  return whole.flag && whole.evidence.some((e) => e.message === last) ? whole : v;
}

/** A monitor scoring each turn of a conversation run (its judgment name ends in `:turn`). */
export function turnMonitorScorer(monitor: TranscriptMonitor): Scorer {
  const version = MONITOR_VERSIONS[monitor.name] ?? 1;
  return {
    name: `monitor:${monitor.name}:v${version}:turn`,
    score: async (samples: ScoredSample[]): Promise<Score[]> =>
      samples.map((s) => {
        const v = turnVerdict(monitor, [...s.messages, { role: 'assistant', content: s.answer }]);
        return { label: monitorLabel(monitor, v), score: v.score ?? (v.flag ? 1 : 0), explanation: v.explanation };
      }),
  };
}
