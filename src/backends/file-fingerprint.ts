/**
 * The fingerprint of a local weights file (a GGUF, a LoRA adapter): its size and sixteen evenly spaced
 * 64 KiB pieces, first and last included. Hashing a multi-GB file whole on every load would cost
 * seconds to minutes; any re-quantisation, conversion or fine-tune changes the size or those bytes.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { sampledFileFingerprint } from '../shared/keys.ts';

const PIECES = 16;
const PIECE = 64 * 1024;

export function fileFingerprint(path: string, extra: unknown = null): string {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const pieces: Buffer[] = [];
    for (let k = 0; k < PIECES; k++) {
      const at = size <= PIECE ? 0 : Math.floor(((size - PIECE) * k) / (PIECES - 1));
      const buf = Buffer.alloc(Math.min(PIECE, size));
      readSync(fd, buf, 0, buf.length, at);
      pieces.push(buf);
    }
    return sampledFileFingerprint(size, pieces, extra);
  } finally {
    closeSync(fd);
  }
}
