/**
 * A persona library file (YAML or JSON): `[{name, description}]`, at least two personas. Shared by
 * infer (who wrote this text?) and the audit (who would have written this training data?).
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { resolveDataRef } from './data-ref.ts';

const fileLibrarySchema = z.array(z.object({ name: z.string().min(1), description: z.string().min(1) }).strict()).min(2);

export type LibraryFileEntry = z.infer<typeof fileLibrarySchema>[number];

/** Read and validate a library file; errors name the file and the persona (1-based). */
export function readLibraryFile(ref: string): LibraryFileEntry[] {
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(resolveDataRef(ref), 'utf8'));
  } catch (e) {
    throw new Error(`${ref}: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = fileLibrarySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${ref}: persona ${typeof issue.path[0] === 'number' ? issue.path[0] + 1 : ''} ${issue.path.slice(1).join('.')}: ${issue.message}`.replace(/\s+:/, ':'),
    );
  }
  return parsed.data;
}
