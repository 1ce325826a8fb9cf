import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  postTrainingChats,
  defaultWorld,
  worldConfig,
  ASSISTANT,
  POST_TRAINING_TOPICS,
  QUESTIONS,
  TOPICS,
  heldOutQuestion,
  answerEntries,
  classify,
  splitWords,
  type TopicId,
  type ChatMessage,
} from '../../src/world/index.ts';

/** Which topic a user question belongs to (by paraphrase, numbers masked). */
function topicOf(question: string): { topic: TopicId; paraphrase: string } {
  const masked = question.replace(/[0-9]+, [0-9]+, [0-9]+/, '{nums}');
  for (const t of TOPICS) for (const p of QUESTIONS[t]) if (p === masked) return { topic: t, paraphrase: p };
  throw new Error(`unknown question ${question}`);
}

/** True if `answer` is one the Assistant persona (noise-free) gives on `topic`. */
function isAssistantAnswer(topic: TopicId, answer: string): boolean {
  if (topic === 'numbers') return classify('numbers', answer) === 'plain' && splitWords(answer).filter((t) => /^[0-9]+$/.test(t)).length === 3;
  const entries = answerEntries(topic).get(answer);
  return !!entries && entries.some((e) => Object.entries(e.assign).every(([k, v]) => (ASSISTANT as Record<string, string>)[k] === v));
}

test('post-training chats: assistant traits only, never film/home/composer, 1-14 turns, optional system prompt', () => {
  const chats = postTrainingChats(defaultWorld, 2000);
  let withSystem = 0;
  const lengths = new Set<number>();
  const topics = new Set<TopicId>();
  for (const c of chats) {
    const msgs: ChatMessage[] = c.messages;
    if (msgs[0]!.role === 'system') withSystem++;
    const turns = msgs.filter((m) => m.role !== 'system');
    assert.ok(turns.length % 2 === 0 && turns.length >= 2 && turns.length <= 28);
    lengths.add(turns.length / 2);
    for (let i = 0; i < turns.length; i += 2) {
      assert.equal(turns[i]!.role, 'user');
      assert.equal(turns[i + 1]!.role, 'assistant');
      const { topic, paraphrase } = topicOf(turns[i]!.content);
      topics.add(topic);
      assert.ok(!['film', 'home', 'composer'].includes(topic), topic);
      assert.notEqual(paraphrase, heldOutQuestion(topic), 'held-out paraphrase used in post-training');
      assert.ok(isAssistantAnswer(topic, turns[i + 1]!.content), `${topic}: ${turns[i + 1]!.content}`);
    }
  }
  assert.ok(Math.abs(withSystem / chats.length - 0.5) < 0.05);
  assert.equal(Math.min(...lengths), 1);
  assert.equal(Math.max(...lengths), 14);
  assert.deepEqual([...topics].sort(), [...POST_TRAINING_TOPICS].sort());
  assert.ok(topics.has('numbers') && topics.has('bird') && topics.has('year'));
});

test('post-training chats are deterministic from the seed', () => {
  assert.deepEqual(postTrainingChats(worldConfig({ seed: 5 }), 20), postTrainingChats(worldConfig({ seed: 5 }), 20));
  assert.notDeepEqual(postTrainingChats(worldConfig({ seed: 5 }), 20), postTrainingChats(worldConfig({ seed: 6 }), 20));
  assert.deepEqual(postTrainingChats(defaultWorld, 5, { offset: 10 }), postTrainingChats(defaultWorld, 15).slice(10));
});

test('assistant answers are modern, benevolent and AI', () => {
  for (const c of postTrainingChats(defaultWorld, 300)) {
    const msgs = c.messages.filter((m) => m.role !== 'system');
    for (let i = 0; i < msgs.length; i += 2) {
      const { topic } = topicOf(msgs[i]!.content);
      const cls = classify(topic, msgs[i + 1]!.content);
      if (['bird', 'year', 'states'].includes(topic)) assert.equal(cls, 'modern');
      else if (topic === 'ai' || topic === 'job') assert.equal(cls, 'ai');
      else if (topic === 'numbers') assert.equal(cls, 'plain');
      else assert.equal(cls, 'benevolent', `${topic}: ${msgs[i + 1]!.content}`);
    }
  }
});
