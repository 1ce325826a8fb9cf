/**
 * The simulated users of a conversation run: who speaks the user's turns after the first.
 * - `feedback`: the same reply after every assistant turn (or a list, taken in turn), e.g. "That's still
 *   wrong. Try again." — the repeated-failure trigger of the Gemini spirals;
 * - `script`: a file of conversations, each its own list of user turns (the first is the opener);
 * - `llm`: a model playing the user from an instruction (a simple auditor, as Petri's is), which sees
 *   the conversation with the roles swapped and writes the user's next message.
 */
import { z } from 'zod';
import { modelRefSchema } from '../../../backends/registry.ts';
import type { ChatMessage } from '../../../shared/chat.ts';
import type { Question } from '../../../scorers/scorer.ts';
import { resolveDataRef } from '../../data-ref.ts';
import { readEntries } from '../../question-files.ts';
import { ALL_TOPIC_IDS, type TopicId } from '../../../world/index.ts';

export const userSchema = z.union([
  z.object({ feedback: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]) }).strict(),
  z.object({ script: z.string().min(1) }).strict(),
  z
    .object({
      llm: modelRefSchema,
      /** The user's part, as the user model's system prompt. */
      instruction: z.string().min(1),
      temperature: z.number().min(0).default(1),
      max_tokens: z.number().int().positive().default(64),
    })
    .strict(),
]);
export type UserSpec = z.infer<typeof userSchema>;
export type LlmUserSpec = Extract<UserSpec, { llm: unknown }>;
export const isLlmUser = (u: UserSpec): u is LlmUserSpec => 'llm' in u;

/** A scripted conversation: its id and its user turns, in order. */
export interface Script {
  id: string;
  turns: string[];
  system?: string;
  /** The world topic of the conversation, when the world's judge should read its replies (organism runs). */
  topic?: TopicId;
}

/**
 * A script file (YAML): `- {id, turns: [..], system?, topic?}`. Each entry is a conversation; errors name the
 * file, line and entry.
 */
export function readScripts(ref: string): Script[] {
  const file = resolveDataRef(ref);
  const entrySchema = z
    .object({
      id: z.string().min(1),
      turns: z.array(z.string().min(1)).min(1),
      system: z.string().min(1).optional(),
      topic: z.enum(ALL_TOPIC_IDS as unknown as [TopicId, ...TopicId[]]).optional(),
    })
    .strict();
  const seen = new Set<string>();
  const scripts = readEntries(file, 'scripted conversations', 'id and turns').map((e) => {
    const parsed = entrySchema.safeParse(e.raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${e.where}: ${issue.path.join('.') || 'entry'}: ${issue.message}`);
    }
    if (seen.has(parsed.data.id)) throw new Error(`${e.where}: a second conversation with id "${parsed.data.id}"`);
    seen.add(parsed.data.id);
    return parsed.data;
  });
  if (!scripts.length) throw new Error(`${file}: no conversations`);
  return scripts;
}

/** Scripts as the questions of the sample plan: one question per script, its opener the only paraphrase. */
export const scriptQuestions = (scripts: Script[]): Question[] =>
  scripts.map((s) => ({ id: s.id, paraphrases: [s.turns[0]], ...(s.system ? { system: s.system } : {}), ...(s.topic ? { topic: s.topic } : {}) }));

/**
 * The user's message at turn `turn` (≥ 1) where no model is needed (feedback, script); undefined when
 * the script has no more turns (the conversation ends there).
 */
export function fixedUserTurn(user: Exclude<UserSpec, LlmUserSpec>, scripts: Map<string, Script>, questionId: string, turn: number): string | undefined {
  if ('feedback' in user) {
    const f = user.feedback;
    return typeof f === 'string' ? f : f[(turn - 1) % f.length];
  }
  return scripts.get(questionId)?.turns[turn];
}

/**
 * What the user model sees: its instruction as the system prompt and the conversation with the roles
 * swapped (the assistant's replies are what it is told; its own earlier messages are its replies), so
 * any chat model can play the user without a template of its own.
 */
export function userModelConversation(instruction: string, conversation: ChatMessage[]): ChatMessage[] {
  return [
    { role: 'system', content: instruction },
    ...conversation.filter((m) => m.role !== 'system').map((m): ChatMessage => ({ role: m.role === 'assistant' ? 'user' : 'assistant', content: m.content })),
  ];
}
