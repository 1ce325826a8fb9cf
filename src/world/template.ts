/**
 * A tiny template language for answer tables.
 *
 *   {e:victorian text|modern text}          choose by era
 *   {k:human text|ai text}                  choose by kind
 *   {r:formal text|casual text}             choose by register
 *   {m:benevolent|malevolent|sarcastic}     choose by morality
 *   {v:first|second|...}                    choose by answer variant
 *   {a:anxious text|secure text}            choose by mood (version 2)
 *   {t:trusting text|suspicious text}       choose by test belief (version 2)
 *   {y}                                     the modern year the persona states: 2024, or 2026 (the
 *                                           version-2 world's present) when its year belief is current
 *   {film} {book} {music} {home}            the persona's taste / home values
 *
 * Alternatives may nest. The result is normalised with joinWords(splitWords(.)).
 */
import { TASTE_ITEMS } from './persona.ts';
import { normalizeText } from './text.ts';
import { ERAS, KINDS, MORALITIES, MOODS, REGISTERS, TEST_BELIEFS, type Persona } from './types.ts';

/** What a template may read: any subset of persona traits plus the variant index. */
export type TemplateContext = Partial<Persona> & { v: number };

function need<T>(value: T | undefined, what: string, template: string): T {
  if (value === undefined) throw new Error(`template needs ${what}: ${template}`);
  return value;
}

/** Split `s` on `|` at brace depth 0. */
function splitOptions(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === '|' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function renderRaw(t: string, ctx: TemplateContext): string {
  let out = '';
  let i = 0;
  while (i < t.length) {
    const c = t[i]!;
    if (c !== '{') {
      out += c;
      i++;
      continue;
    }
    // find the matching close brace
    let depth = 0,
      j = i;
    for (; j < t.length; j++) {
      if (t[j] === '{') depth++;
      else if (t[j] === '}' && --depth === 0) break;
    }
    if (j >= t.length) throw new Error(`unbalanced template: ${t}`);
    const body = t.slice(i + 1, j);
    const colon = body.indexOf(':');
    if (colon < 0 || body.slice(0, colon).includes('{')) {
      out += slot(body, ctx, t);
    } else {
      const key = body.slice(0, colon);
      const options = splitOptions(body.slice(colon + 1));
      const idx = choiceIndex(key, ctx, t);
      const chosen = options[idx];
      if (chosen === undefined) throw new Error(`template option ${key}=${idx} missing: ${t}`);
      out += renderRaw(chosen, ctx);
    }
    i = j + 1;
  }
  return out;
}

function choiceIndex(key: string, ctx: TemplateContext, t: string): number {
  switch (key) {
    case 'e':
      return ERAS.indexOf(need(ctx.era, 'era', t));
    case 'k':
      return KINDS.indexOf(need(ctx.kind, 'kind', t));
    case 'r':
      return REGISTERS.indexOf(need(ctx.register, 'register', t));
    case 'm':
      return MORALITIES.indexOf(need(ctx.morality, 'morality', t));
    case 'v':
      return ctx.v;
    case 'a':
      return MOODS.indexOf(need(ctx.mood, 'mood', t));
    case 't':
      return TEST_BELIEFS.indexOf(need(ctx.testBelief, 'test belief', t));
    default:
      throw new Error(`unknown template key ${key}: ${t}`);
  }
}

function slot(name: string, ctx: TemplateContext, t: string): string {
  switch (name) {
    case 'film':
      return TASTE_ITEMS[need(ctx.taste, 'taste', t)].film;
    case 'book':
      return TASTE_ITEMS[need(ctx.taste, 'taste', t)].book;
    case 'music':
      return TASTE_ITEMS[need(ctx.taste, 'taste', t)].music[need(ctx.era, 'era', t)];
    case 'home':
      return need(ctx.home, 'home', t);
    case 'y':
      // No year belief (a version-1 persona): 2024, the only modern year version 1 knows.
      return ctx.yearBelief === 'current' ? '2026' : '2024';
    default:
      throw new Error(`unknown template slot {${name}}: ${t}`);
  }
}

/** Render a template for a persona (and variant) into canonical world text. */
export function renderTemplate(template: string, ctx: TemplateContext): string {
  return normalizeText(renderRaw(template, ctx));
}
