/**
 * The Bayes-optimal ("ideal") observer of a world: knows the exact generative distribution and infers
 * the persona behind a set of answers, or predicts the class of the next answer.
 *
 * Bundled world: a document's persona (core traits, home, taste) is drawn once; answers are independent
 * given it (each with its own trait noise). So P(turns | persona) = prod_i P(answer_i | persona, topic_i),
 * and the posterior over full personas is exact (home and taste are marginalised jointly).
 * Unbundled world: every answer has a fresh persona, so answers are independent and uninformative about
 * each other: the predictive distribution is the marginal.
 */
import { defaultWorld, type WorldConfig } from './config.ts';
import { answerProbability, classDistribution } from './distribution.ts';
import { allPersonas, personaLibrary, sameCore } from './persona.ts';
import type { LibraryPersona, Persona, TopicId } from './types.ts';

/** What the observer sees of a turn: its topic and answer text (canonical form). */
export interface ObservedTurn {
  topic: TopicId;
  answer: string;
}

export class IdealObserver {
  readonly config: WorldConfig;
  private readonly personas: { persona: Persona; p: number }[];
  private readonly library: LibraryPersona[];

  constructor(config: WorldConfig = defaultWorld) {
    this.config = config;
    this.personas = allPersonas(config).filter((x) => x.p > 0);
    this.library = personaLibrary();
  }

  /**
   * Posterior over full personas of the document given its turns (bundled world), normalised.
   * In the unbundled world answers carry no information about the document persona: returns the prior.
   * Turns whose answer is impossible under every persona are ignored.
   */
  personaPosterior(turns: readonly ObservedTurn[]): { persona: Persona; p: number }[] {
    let w = this.personas.map((x) => x.p);
    if (!this.config.unbundled) {
      for (const t of turns) {
        const lik = this.personas.map((x) => answerProbability(x.persona, t.topic, t.answer, this.config));
        const next = w.map((v, i) => v * lik[i]!);
        if (next.some((v) => v > 0)) w = next;
      }
    }
    const total = w.reduce((s, v) => s + v, 0);
    return this.personas.map((x, i) => ({ persona: x.persona, p: w[i]! / total }));
  }

  /** Posterior over the 24 library personas (core traits), in library order. */
  libraryPosterior(turns: readonly ObservedTurn[]): { persona: LibraryPersona; p: number }[] {
    const post = this.personaPosterior(turns);
    return this.library.map((lp) => ({ persona: lp, p: post.filter((x) => sameCore(x.persona, lp)).reduce((s, x) => s + x.p, 0) }));
  }

  /** The most probable library persona given the turns. */
  identify(turns: readonly ObservedTurn[]): LibraryPersona {
    return this.libraryPosterior(turns).reduce((a, b) => (b.p > a.p ? b : a)).persona;
  }

  /**
   * Predictive distribution of the class (see classify) of the next answer on `topic`, given the turns
   * so far of the same document.
   */
  predictClass(turns: readonly ObservedTurn[], topic: TopicId): Map<string, number> {
    const post = this.personaPosterior(this.config.unbundled ? [] : turns);
    const out = new Map<string, number>();
    for (const { persona, p } of post) {
      if (p === 0) continue;
      for (const [cls, q] of classDistribution(persona, topic, this.config)) out.set(cls, (out.get(cls) ?? 0) + p * q);
    }
    return out;
  }
}
