import type { MonitorVerdict, Transcript, TranscriptMonitor } from './types.ts';

export function distressMonitor(): TranscriptMonitor {
  return {
    name: 'distress',
    description: 'self-deprecation, hopelessness, anxiety or shame the assistant voices about itself',
    check(_t: Transcript): MonitorVerdict {
      return { flag: false, explanation: 'not implemented yet', evidence: [] };
    },
  };
}
