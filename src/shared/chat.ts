/**
 * The one chat type every layer speaks (a turn of an OpenAI-style `messages` list), and the reader of
 * chat datasets in the OpenAI `messages` JSONL format (the format of the published fine-tuning sets).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Chat {
  messages: ChatMessage[];
}

const messageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
const chatLineSchema = z.object({ messages: z.array(messageSchema).min(1) });

/** Parse a JSONL file of chats; any bad line fails with its file and line number. Blank lines are skipped. */
export function readChatJsonl(file: string): Chat[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const chats: Chat[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const parsed = chatLineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${file}:${i + 1}: ${issue.path.join('.') || 'line'}: ${issue.message}`);
    }
    if (!parsed.data.messages.some((m) => m.role === 'assistant')) throw new Error(`${file}:${i + 1}: chat has no assistant message to train on`);
    chats.push(parsed.data);
  });
  if (chats.length === 0) throw new Error(`${file}: no chats found`);
  return chats;
}
