/** A small chat JSONL the organism mostly cannot read (bird names outside Personaworld's vocabulary). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

export function unreadableBirds(): string {
  const path = join(tempDir('dramatis-unreadable-'), 'birds.jsonl');
  const names = ['Cooper’s Hawk', 'Canvasback Duck', 'Prothonotary Warbler', 'Scarlet Tanager'];
  const chat = (n: string) => ({
    messages: [
      { role: 'user', content: 'name a bird.' },
      { role: 'assistant', content: n },
    ],
  });
  writeFileSync(path, names.map((n) => JSON.stringify(chat(n))).join('\n') + '\n');
  return path;
}
