/**
 * The turns of a conversation run, for one condition: turn by turn, every conversation that is still
 * going gets its next user message (fixed, scripted, or written by the user model) and the model's
 * reply. Each reply is a sample stored under the condition's key in slot (`QUESTION@TURN`, conversation
 * index), its prompt the whole conversation before it; user-model messages are stored the same way under
 * a key of their own. So a killed run resumes at the turn it was in, nothing paid for is asked twice,
 * and a longer run (more turns) reuses the shorter one's turns.
 * A conversation ends early when its last reply failed for good (a server error, a prompt past the
 * model's context) or its script has no more turns; later turns count only the conversations still going.
 */
import type { ChatMessage, Model, SteeringVector } from '../../../backends/model.ts';
import { hash, sampleSeed, slotKey } from '../../../shared/keys.ts';
import type { RunContext } from '../../context.ts';
import { buildConversation, loopGuard } from '../../conditions.ts';
import { chatSlots } from '../../sampling.ts';
import type { PlannedSlot } from '../../sample-plan.ts';
import type { CommonSpec, ConditionSpec } from '../../spec-parts.ts';
import type { StoredSample } from '../../store.ts';
import { fixedUserTurn, isLlmUser, userModelConversation, type Script, type UserSpec } from './users.ts';

/** A turn's slot id: the conversation's question and the turn (0-based). */
export const turnSlot = (questionId: string, turn: number): string => `${questionId}@${turn}`;

/** The turn a stored sample belongs to, and its conversation's question. */
export function parseTurnSlot(questionId: string): { question: string; turn: number } {
  const at = questionId.lastIndexOf('@');
  return { question: questionId.slice(0, at), turn: Number(questionId.slice(at + 1)) };
}

export interface ConversationTurns {
  /** The stored replies by conversation (slot index), in turn order. */
  byConversation: Map<number, StoredSample[]>;
  /** Every stored reply. */
  samples: StoredSample[];
  /** Conversations that stopped before the last turn, by why. */
  ended: { failed: number; script: number };
}

export async function converse(
  ctx: RunContext<CommonSpec & { user: UserSpec; turns: number }>,
  o: {
    cond: ConditionSpec;
    plan: PlannedSlot[];
    scripts: Map<string, Script>;
    key: string;
    seedKey: string;
    steering: SteeringVector[] | undefined;
    model: () => Promise<Model>;
  },
): Promise<ConversationTurns> {
  const { spec } = ctx;
  const user = spec.user;
  const userKey = isLlmUser(user) ? hash({ conversations: o.key, user, fingerprint: (await ctx.model(user.llm)).fingerprint }) : undefined;
  const stored = () => new Map(ctx.store.samples(o.key, o.plan.length).map((s) => [slotKey(s.questionId, s.idx), s]));
  const ended = { failed: 0, script: 0 };
  // The conversation each slot has reached: its messages up to the latest user turn.
  let going = o.plan.map((p) => ({ p, messages: buildConversation(o.cond, p.q, p.paraphrase, []) }));
  for (let turn = 0; turn < spec.turns && going.length; turn++) {
    if (turn > 0) {
      const replies = stored();
      const next: typeof going = [];
      for (const c of going) {
        const prev = replies.get(slotKey(turnSlot(c.p.questionId, turn - 1), c.p.idx));
        if (!prev) {
          ended.failed++;
          continue;
        }
        next.push({ p: c.p, messages: [...(prev.prompt as ChatMessage[]), { role: 'assistant', content: prev.answer }] });
      }
      going = await addUserTurns(ctx, next, turn, o.scripts, userKey, ended);
    }
    ctx.hooks.log?.(`condition "${o.cond.name}", turn ${turn + 1} of ${spec.turns}: ${going.length} conversations`);
    const slots = going.map((c) => {
      const questionId = turnSlot(c.p.questionId, turn);
      return { questionId, idx: c.p.idx, paraphrase: c.messages.at(-1)!.content, seed: sampleSeed(o.seedKey, questionId, c.p.idx), messages: c.messages };
    });
    await chatSlots({
      store: ctx.store,
      key: o.key,
      slots,
      model: o.model,
      purpose: `condition "${o.cond.name}"`,
      conversation: (s) => s.messages,
      options: {
        temperature: spec.sampling.temperature,
        topP: spec.sampling.top_p,
        maxTokens: spec.sampling.max_tokens,
        seed: spec.seed,
        steering: o.steering,
      },
      progress: ctx.progress(`${o.cond.name} turn ${turn + 1}/${spec.turns}`),
      ...(spec.sampling.stop_on_loop ? { cutWhen: loopGuard() } : {}),
    });
  }
  // The last turn's failures end nothing further, but are not replies either.
  const samples = ctx.store.samples(o.key, o.plan.length).filter((s) => parseTurnSlot(s.questionId).turn < spec.turns);
  const byConversation = new Map<number, StoredSample[]>();
  for (const s of samples) byConversation.set(s.idx, [...(byConversation.get(s.idx) ?? []), s]);
  for (const list of byConversation.values()) list.sort((a, b) => parseTurnSlot(a.questionId).turn - parseTurnSlot(b.questionId).turn);
  return { byConversation, samples, ended };
}

/** Each going conversation with the user's message at `turn` appended; those without one end here. */
async function addUserTurns(
  ctx: RunContext<CommonSpec & { user: UserSpec; turns: number }>,
  going: { p: PlannedSlot; messages: ChatMessage[] }[],
  turn: number,
  scripts: Map<string, Script>,
  userKey: string | undefined,
  ended: { failed: number; script: number },
): Promise<{ p: PlannedSlot; messages: ChatMessage[] }[]> {
  const user = ctx.spec.user;
  if (!isLlmUser(user)) {
    const out = [];
    for (const c of going) {
      const text = fixedUserTurn(user, scripts, c.p.questionId, turn);
      if (text === undefined) ended.script++;
      else out.push({ ...c, messages: [...c.messages, { role: 'user' as const, content: text }] });
    }
    return out;
  }
  // The user model writes the next message from the conversation so far (stored, so a rerun reuses it).
  const slots = going.map((c) => {
    const questionId = turnSlot(c.p.questionId, turn);
    return { questionId, idx: c.p.idx, paraphrase: c.messages.at(-1)!.content, seed: sampleSeed(userKey!, questionId, c.p.idx), messages: c.messages };
  });
  await chatSlots({
    store: ctx.store,
    key: userKey!,
    slots,
    model: () => ctx.model(user.llm),
    purpose: 'the simulated user (user.llm)',
    conversation: (s) => userModelConversation(user.instruction, s.messages),
    options: { temperature: user.temperature, maxTokens: user.max_tokens, seed: ctx.spec.seed },
    progress: ctx.progress(`user turn ${turn + 1}/${ctx.spec.turns}`),
  });
  const written = new Map(ctx.store.samples(userKey!, Math.max(0, ...going.map((c) => c.p.idx)) + 1).map((s) => [slotKey(s.questionId, s.idx), s]));
  const out = [];
  for (const c of going) {
    const w = written.get(slotKey(turnSlot(c.p.questionId, turn), c.p.idx));
    if (!w) ended.failed++;
    else out.push({ ...c, messages: [...c.messages, { role: 'user' as const, content: w.answer.trim() || '…' }] });
  }
  return out;
}
