import type { MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';

export function loopMonitor(): TranscriptMonitor {
  return {
    name: 'loop',
    description: 'degenerate repetition within a reply or across turns',
    check(_t: Transcript): MonitorVerdict {
      return { flag: false, explanation: 'not implemented yet', evidence: [] };
    },
  };
}
