/**
 * Contrast of the text drawn inside SVG charts, measured in the page (axe-core does not look inside
 * SVG): each <text>'s fill against what lies under its centre (the shapes of its own chart below it,
 * blended by their opacity, over the HTML backgrounds), by WCAG 2's relative-luminance ratio.
 * Runs in the browser: it must stay self-contained (no imports, no closures over test code).
 */
export interface LowContrast {
  text: string;
  ratio: number;
  fg: string;
  bg: string;
}

export function svgTextContrast(min: number): { checked: number; low: LowContrast[] } {
  type Rgba = [number, number, number, number];
  const parse = (c: string | null): Rgba | null => {
    const m = c?.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1]
      .split(/[\s,/]+/)
      .filter(Boolean)
      .map(Number);
    return [p[0], p[1], p[2], p[3] ?? 1];
  };
  const over = (top: Rgba, bottom: Rgba): Rgba => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1) as Rgba;
  const lum = (c: Rgba) => {
    const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a: Rgba, b: Rgba) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  /** The HTML backgrounds from the root down to `el`, composed over white. */
  const htmlBackground = (el: Element | null): Rgba => {
    const layers: Rgba[] = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) layers.push(c);
    }
    return layers.reverse().reduce((acc, c) => over(c, acc), [255, 255, 255, 1] as Rgba);
  };
  const withOpacity = (el: Element, c: Rgba, prop: 'fill-opacity' | 'stroke-opacity' = 'fill-opacity'): Rgba => {
    const s = getComputedStyle(el);
    return [c[0], c[1], c[2], c[3] * Number(s.opacity || 1) * Number(s.getPropertyValue(prop) || 1)];
  };
  const shapes = new Set(['rect', 'path', 'circle', 'ellipse', 'polygon', 'polyline']);
  const low: LowContrast[] = [];
  let checked = 0;
  for (const svg of document.querySelectorAll('svg')) {
    svg.scrollIntoView({ block: 'center' });
    const base = htmlBackground(svg.parentElement);
    for (const t of svg.querySelectorAll('text')) {
      const label = t.textContent?.trim() ?? '';
      const box = t.getBoundingClientRect();
      if (!label || box.width === 0 || box.bottom < 0 || box.top > innerHeight) continue;
      const fill = parse(getComputedStyle(t).fill);
      if (!fill) continue;
      const fg = withOpacity(t, fill);
      let bg = base;
      const under = document
        .elementsFromPoint(box.left + box.width / 2, box.top + box.height / 2)
        .filter((e) => e !== t && svg.contains(e) && shapes.has(e.tagName.toLowerCase()))
        .reverse();
      for (const s of under) {
        const c = parse(getComputedStyle(s).fill);
        if (c && c[3] > 0) bg = over(withOpacity(s, c), bg);
      }
      const seen = over(fg, bg);
      const r = ratio(seen, bg);
      checked++;
      if (r < min)
        low.push({
          text: label.slice(0, 40),
          ratio: Math.round(r * 100) / 100,
          fg: `rgb(${seen.slice(0, 3).map(Math.round)})`,
          bg: `rgb(${bg.slice(0, 3).map(Math.round)})`,
        });
    }
  }
  return { checked, low };
}

/** Runs the measure in a page. tsx names inner functions through an `__name` helper the page lacks: it is given an identity one. */
export async function measureSvgContrast(page: { evaluate: (f: string | ((min: number) => unknown), arg?: number) => Promise<unknown> }, min = 4.5) {
  await page.evaluate('globalThis.__name ??= (f) => f');
  return (await page.evaluate(svgTextContrast, min)) as ReturnType<typeof svgTextContrast>;
}
