/**
 * The tests' one fake model: give it the methods it should have (chat, score, activations, finetune)
 * and it declares exactly those capabilities (`steering` follows `activations` unless said otherwise),
 * so a test asks for what it needs and the engine's capability checks are exercised for real.
 */
import type { Capabilities, Model } from '../../src/backends/model.ts';

export type FakeModelParts = Partial<Pick<Model, 'chat' | 'complete' | 'echo' | 'score' | 'activations' | 'finetune' | 'snapshots'>> & {
  id?: string;
  fingerprint?: string;
  /** Override a declared capability (e.g. a white box that cannot be steered). */
  capabilities?: Partial<Capabilities>;
};

/** The methods given are the model's own (typed as present), so it is a ChatModel when given `chat`, etc. */
export function fakeModel<P extends FakeModelParts>(parts: P): Model & Omit<P, 'id' | 'fingerprint' | 'capabilities'> {
  const { id = 'fake:model', fingerprint = `${id}-weights`, capabilities, ...methods } = parts;
  return {
    id,
    fingerprint,
    capabilities: {
      chat: Boolean(methods.chat),
      complete: Boolean(methods.complete),
      echo: Boolean(methods.echo),
      score: Boolean(methods.score),
      activations: Boolean(methods.activations),
      steering: Boolean(methods.activations),
      finetune: Boolean(methods.finetune),
      ...capabilities,
    },
    ...methods,
  } as Model & Omit<P, 'id' | 'fingerprint' | 'capabilities'>;
}
