/**
 * Data the model cannot read. A model whose tokenizer has a closed vocabulary (the organism: words of
 * Personaworld only) turns every other word into one unknown token; a fine-tune or an audit on data it
 * mostly cannot read measures the unknown token, the same for treatment and control, and says nothing
 * about the data. Models say how much they keep (`Model.tokenCoverage`, absent where nothing is lost);
 * this file turns that into a figure per dataset, a line for the log, and a refusal above a threshold.
 */
import type { ChatMessage, Model, TokenCoverage } from '../backends/model.ts';
import { pct } from '../shared/format.ts';

/**
 * The largest share of a dataset's answer tokens that may be unknown before a fine-tune or an audit on
 * it is refused. A quarter: with a quarter of its tokens lost a typical short answer still keeps most of
 * its content words, so the model reads what the data says; above it, what the data carries is mostly
 * the unknown token, identical whatever the answer was, and treatment and control become the same data
 * (the published bird and dish sets lose 88–95% on the organism; Personaworld's own sets lose nothing).
 */
export const DEFAULT_MAX_UNKNOWN = 0.25;

/** `allow_unknown` in a spec: true (any share, the result marked as meaningless) or the largest share accepted. */
export type AllowUnknown = boolean | number | undefined;

/** How much of one dataset's answers a model can read. */
export interface DataCoverage {
  /** The dataset as the spec names it (a file path or `world:NAME`). */
  data: string;
  /** Answer tokens (the assistant replies) and how many of them the model cannot represent. */
  tokens: number;
  unknown: number;
  /** unknown / tokens. */
  share: number;
  /** The most frequent lost words, with their counts. */
  top: { word: string; count: number }[];
  /** Special-token strings in the answers (e.g. `<END>`), read as ordinary text. */
  escaped: number;
  /** The share is above the threshold and the spec allowed it: the result is meaningless. */
  meaningless?: boolean;
}

/** The coverage of the data's answers (assistant replies), or undefined where the model loses nothing. */
export function answerCoverage(model: Model, data: string, chats: readonly { messages: readonly ChatMessage[] }[]): DataCoverage | undefined {
  return coverageOf(
    model,
    data,
    chats.flatMap((c) => c.messages.filter((m) => m.role === 'assistant').map((m) => m.content)),
  );
}

/** The coverage of some texts of a dataset, or undefined where the model loses nothing. */
export function coverageOf(model: Model, data: string, texts: string[]): DataCoverage | undefined {
  if (typeof model.tokenCoverage !== 'function') return undefined;
  const c: TokenCoverage = model.tokenCoverage(texts);
  const top = Object.entries(c.unknownWords)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 8)
    .map(([word, count]) => ({ word, count }));
  return { data, tokens: c.tokens, unknown: c.unknown, share: c.tokens > 0 ? c.unknown / c.tokens : 0, top, escaped: c.escaped };
}

/** The largest share accepted under `allow_unknown`. */
export function maxUnknown(allow: AllowUnknown): number {
  return allow === true ? 1 : typeof allow === 'number' ? allow : DEFAULT_MAX_UNKNOWN;
}

/** One line: the share lost, with the commonest lost words. */
export function coverageLine(c: DataCoverage, modelId: string): string {
  const words = c.top.length ? `, e.g. ${c.top.map((t) => `${t.word} (${t.count})`).join(', ')}` : '';
  const escaped = c.escaped ? `; ${c.escaped} special-token strings (such as <END>) read as plain text` : '';
  return `${c.data}: ${pct(c.share, 1)} of the answer tokens (${c.unknown} of ${c.tokens}) are unknown to ${modelId}${words}${escaped}`;
}

/** The loud mark a result carries when its data was allowed past the threshold. */
export function meaninglessNote(c: DataCoverage): string {
  return `MEANINGLESS: ${pct(c.share, 1)} of the answer tokens of ${c.data} are unknown to the model, so it reads mostly the unknown token`;
}

/**
 * Refuse data above the threshold (an error naming the data, the share and the option that allows
 * it); data the spec allowed past the default threshold comes back marked meaningless.
 */
export function checkCoverage(c: DataCoverage, o: { allow: AllowUnknown; what: string; option: string; modelId: string }): DataCoverage {
  const max = maxUnknown(o.allow);
  if (c.share > max)
    throw new Error(
      `${o.what}: ${c.data}: ${pct(c.share, 1)} of its answer tokens (${c.unknown} of ${c.tokens}) are unknown to ${o.modelId}, more than the ${pct(max, 0)} accepted: ` +
        `it would measure the unknown token, not the data. Set ${o.option}: true (the result is then marked meaningless) or a larger share to go ahead`,
    );
  // Allowed past the default threshold: still loudly marked.
  if (c.share <= DEFAULT_MAX_UNKNOWN) return c;
  return { ...c, meaningless: true };
}

/**
 * What a run does with data it puts to a model: the share lost, logged (where the model can lose any),
 * refused above the threshold unless allowed (an error), and a loud line when allowed past it.
 */
export function reportCoverage(
  model: Model,
  data: string,
  chats: readonly { messages: readonly ChatMessage[] }[],
  o: { allow: AllowUnknown; what: string; option: string; log?: (line: string) => void },
): DataCoverage | undefined {
  const c = answerCoverage(model, data, chats);
  if (!c) return undefined;
  o.log?.(`${o.what}: ${coverageLine(c, model.id)}`);
  const checked = checkCoverage(c, { allow: o.allow, what: o.what, option: o.option, modelId: model.id });
  if (checked.meaningless) o.log?.(`${o.what}: ${meaninglessNote(checked)}; its result says nothing about the data`);
  return checked;
}
