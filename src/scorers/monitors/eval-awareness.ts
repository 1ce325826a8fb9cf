import type { MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';

export function evalAwarenessMonitor(): TranscriptMonitor {
  return {
    name: 'eval_awareness',
    description: 'the assistant verbalising that it suspects a test, an evaluation or a constructed scenario',
    check(_t: Transcript): MonitorVerdict {
      return { flag: false, explanation: 'not implemented yet', evidence: [] };
    },
  };
}
