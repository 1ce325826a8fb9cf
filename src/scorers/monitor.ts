/**
 * Monitors: a persona vector's projection as scorers. The projection at the last prompt token (what the
 * model is about to be, before it answers) and the one averaged over its reply are two scorers that
 * share one forward pass per sample (the activations are read once, for whichever asks first).
 */
import type { ChatMessage } from '../shared/chat.ts';
import { requireCapability, type Model, type SteeringVector } from '../backends/model.ts';
import { dot } from '../shared/linalg.ts';
import type { Score, Scorer, ScoredSample } from './scorer.ts';

export interface ProjectionMonitorOptions {
  /** Judgment names for the two places (from shared/keys.ts monitorJudgeName). */
  names: { prompt: string; reply: string };
  layer: number;
  /** The unit vector at `layer`. */
  unit: Float32Array;
  /** The model the samples came from, and the steering they were drawn under. */
  model: () => Promise<Model>;
  steering?: SteeringVector[];
  onProgress?: (done: number, total: number) => void;
}

export function projectionMonitors(o: ProjectionMonitorOptions): { prompt: Scorer; reply: Scorer } {
  const read = new WeakMap<ScoredSample, { prompt: Score; reply: Score }>();
  const project = async (samples: ScoredSample[]) => {
    const missing = samples.filter((s) => !read.has(s));
    if (missing.length > 0) {
      const model = requireCapability(await o.model(), 'activations', 'monitoring with a persona vector');
      const inputs = missing.map((s) => ({
        messages: s.answer.trim() ? [...s.messages, { role: 'assistant', content: s.answer } as ChatMessage] : s.messages,
      }));
      const acts = await model.activations(inputs, { steering: o.steering }, o.onProgress);
      missing.forEach((s, i) =>
        read.set(s, {
          prompt: { label: 'projection', score: dot(acts[i].at[o.layer], o.unit), explanation: `projection at the last prompt token, layer ${o.layer}` },
          reply: s.answer.trim()
            ? { label: 'projection', score: dot(acts[i].mean[o.layer], o.unit), explanation: `projection averaged over the reply, layer ${o.layer}` }
            : { label: 'empty', score: null, explanation: 'an empty reply has no projection' },
        }),
      );
    }
    return samples.map((s) => read.get(s)!);
  };
  return {
    prompt: { name: o.names.prompt, score: async (samples) => (await project(samples)).map((p) => p.prompt) },
    reply: { name: o.names.reply, score: async (samples) => (await project(samples)).map((p) => p.reply) },
  };
}
