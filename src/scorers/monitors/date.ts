import type { MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';

export function dateMonitor(): TranscriptMonitor {
  return {
    name: 'date',
    description: 'the year the assistant believes it is now, when it says or implies one',
    check(_t: Transcript): MonitorVerdict {
      return { flag: false, explanation: 'not implemented yet', evidence: [], year: null };
    },
  };
}
