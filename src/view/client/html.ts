/**
 * HTML by tagged template with every interpolation escaped unless it is already HTML (`raw`, or the
 * result of another `html`), so text from the store (answers, prompts, names) can never become markup.
 */
export class Html {
  constructor(readonly s: string) {}
  toString(): string {
    return this.s;
  }
}

export const raw = (s: string) => new Html(s);

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

type Part = Html | string | number | null | undefined | false | Part[];

const part = (v: Part): string => {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(part).join('');
  if (v instanceof Html) return v.s;
  return esc(String(v));
};

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return new Html(out);
}

export const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)}%`;
export const signedPct = (x: number, digits = 1) => `${x >= 0 ? '+' : '−'}${(100 * Math.abs(x)).toFixed(digits)}%`;
export const interval = (ci: [number, number], digits = 1) => `[${(100 * ci[0]).toFixed(digits)}, ${(100 * ci[1]).toFixed(digits)}]`;
export const count = (n: number) => n.toLocaleString('en-US');
export const num = (x: number) => (Number.isInteger(x) ? count(x) : Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(3));
export const date = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)}`;
};
