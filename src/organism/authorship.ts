/**
 * Who wrote this text? The base organism's own answer: the posterior over the world's persona library
 * from the likelihood of the text after each persona's author header,
 *   P(persona | text) ∝ P(persona) · P(text | <doc> header(persona)),
 * with the prior explicit (uniform unless given).
 */
import type { Organism } from './organism.ts';
import { posterior } from '../shared/posterior.ts';
import { personaLibrary, interviewPrefix, generateDocuments, worldConfig, sameCore, type LibraryPersona, type WorldConfig } from '../world/index.ts';

export interface AuthorPosterior {
  /** Library persona names with posterior probabilities, most probable first. */
  posterior: { name: string; p: number; logLikelihood: number }[];
}

/** Posterior over `library` for each text (a document body without `<doc>`, e.g. `q: … a: …`). */
export async function inferAuthors(
  model: Organism,
  texts: string[],
  library: LibraryPersona[] = personaLibrary(),
  prior?: number[],
  onProgress?: (done: number, total: number) => void,
): Promise<AuthorPosterior[]> {
  const priorP = prior ?? library.map(() => 1 / library.length);
  const pairs = texts.flatMap((text) => library.map((lp) => ({ prompt: `<doc> ${lp.header}`, continuation: text })));
  const scores = await model.score(pairs, { onProgress });
  return texts.map((_, t) => {
    const ll = library.map((_, k) => scores[t * library.length + k].total);
    const p = posterior(ll, priorP);
    return { posterior: library.map((lp, k) => ({ name: lp.name, p: p[k], logLikelihood: ll[k] })).sort((a, b) => b.p - a.p) };
  });
}

export interface AuthorshipEval {
  accuracy: number;
  n: number;
  answers: number;
  chance: number;
  /** Mean posterior probability on the true persona. */
  meanTrueP: number;
  examples: { text: string; truth: string; top: string; p: number }[];
}

/**
 * Held-out documents (a world seed never trained on), cut to their first `answers` answers and rendered
 * as interviews without header: how often does the top posterior persona equal the true author?
 */
export async function evaluateAuthorship(
  model: Organism,
  o: { documents?: number; answers?: number; world?: Partial<WorldConfig>; onProgress?: (d: number, t: number) => void } = {},
): Promise<AuthorshipEval> {
  const n = o.documents ?? 100,
    k = o.answers ?? 3;
  const world = worldConfig({ ...(o.world ?? {}), seed: 'held-out-authorship' });
  const docs = generateDocuments(world, n);
  const texts = docs.map((d) => interviewPrefix(d.turns.slice(0, k)).replace(/^<doc> /, ''));
  const library = personaLibrary();
  const posts = await inferAuthors(model, texts, library, undefined, o.onProgress);
  let correct = 0,
    trueP = 0;
  const examples: AuthorshipEval['examples'] = [];
  posts.forEach((post, i) => {
    const truth = library.find((lp) => sameCore(lp, docs[i].persona))!;
    if (post.posterior[0].name === truth.name) correct++;
    trueP += post.posterior.find((x) => x.name === truth.name)!.p;
    if (examples.length < 5) examples.push({ text: texts[i], truth: truth.name, top: post.posterior[0].name, p: post.posterior[0].p });
  });
  return { accuracy: correct / n, n, answers: k, chance: 1 / library.length, meanTrueP: trueP / n, examples };
}
