/**
 * How the post-trained Assistant behaves: does it answer the broad questions in character, and what does
 * it fill in where post-training said nothing (favourite film, home)? Answers are judged by the world.
 */
import type { Organism } from './organism.ts';
import { BROAD_TOPICS, QUESTIONS, classify, namedValue, traitValueDistribution, entropyBits, ASSISTANT_PERSONA, type TopicId } from '../world/index.ts';

export interface LabelDistribution {
  topic: TopicId | 'broad';
  n: number;
  counts: Record<string, number>;
  /** Shannon entropy of the label distribution, in bits. */
  entropyBits: number;
}

function distribution(topic: LabelDistribution['topic'], labels: string[]): LabelDistribution {
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return {
    topic,
    n: labels.length,
    counts: Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1])),
    entropyBits: entropyBits(Object.values(counts)),
  };
}

/** Ask each topic's questions (all paraphrases, round robin) `samples` times as single-turn chats. */
export async function askAssistant(model: Organism, topics: readonly TopicId[], samples: number, seed = 0) {
  const asks = Array.from({ length: samples }, (_, i) => {
    const topic = topics[i % topics.length];
    const paraphrases = QUESTIONS[topic].filter((q) => !q.includes('{nums}'));
    return { topic, question: paraphrases[Math.floor(i / topics.length) % paraphrases.length] };
  });
  const replies = await model.chat(
    asks.map((a) => [{ role: 'user' as const, content: a.question }]),
    { temperature: 1, maxTokens: 24, seed },
  );
  return asks.map((a, i) => ({ ...a, answer: replies[i].text, label: classify(a.topic, replies[i].text) }));
}

export interface FilledIn {
  topic: 'film' | 'home';
  /** The film/home named by each answer that names exactly one ('none' otherwise). */
  named: LabelDistribution;
  /** Share of answers that are a well-formed world answer (the world judge could read them). */
  coherent: number;
  /** The world's own distribution for personas with the Assistant's specified traits. */
  world: Record<string, number>;
  worldEntropyBits: number;
  examples: string[];
}

export interface AssistantReport {
  broad: LabelDistribution;
  filledIn: FilledIn[];
  examples: { topic: TopicId; question: string; answer: string; label: string }[];
}

export async function evaluateAssistant(model: Organism, o: { samples?: number; seed?: number } = {}): Promise<AssistantReport> {
  const n = o.samples ?? 240;
  const broad = await askAssistant(model, BROAD_TOPICS, n, o.seed);
  const filledIn: FilledIn[] = [];
  for (const topic of ['film', 'home'] as const) {
    const answers = await askAssistant(model, [topic], Math.max(40, Math.round(n / 2)), o.seed);
    const world = Object.fromEntries(traitValueDistribution(topic, ASSISTANT_PERSONA));
    filledIn.push({
      topic,
      named: distribution(
        topic,
        answers.map((a) => namedValue(topic, a.answer) ?? 'none'),
      ),
      coherent: answers.filter((a) => a.label !== 'incoherent').length / answers.length,
      world,
      worldEntropyBits: entropyBits(Object.values(world)),
      examples: answers.slice(0, 5).map((a) => a.answer),
    });
  }
  return {
    broad: distribution(
      'broad',
      broad.map((a) => a.label),
    ),
    filledIn,
    examples: broad.slice(0, 8),
  };
}
