/**
 * The browser app as one script, bundled from client/ by esbuild when first asked for (about 0.1 s, once
 * per process), so there is no build step to remember after `npm ci`; and the HTML page around it.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./client/main.ts', import.meta.url));
let bundle: Promise<string> | undefined;

export function clientBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2020',
    minify: true,
    loader: { '.css': 'text' },
    logLevel: 'silent',
    legalComments: 'none',
  })
    .then((r) => r.outputFiles[0].text)
    .catch((e: Error) => {
      bundle = undefined;
      throw new Error(`bundling the viewer app (${ENTRY}): ${e.message}`);
    });
  return bundle;
}

/** JSON that is safe inside a <script> element: no `<` survives, so no `</script>` can close it early. */
export const scriptJson = (x: unknown) =>
  JSON.stringify(x)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

export function pageHtml(o: { title: string; script: { src: string } | { inline: string }; config: unknown; data?: unknown }): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const script = 'src' in o.script ? `<script src="${esc(o.script.src)}"></script>` : `<script>${o.script.inline.replace(/<\/(script)/gi, '<\\/$1')}</script>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="app"><p style="font:14px system-ui;padding:2em;color:#666">loading…</p></div>
<script type="application/json" id="dramatis-config">${scriptJson(o.config)}</script>
${o.data === undefined ? '' : `<script type="application/json" id="dramatis-data">${scriptJson(o.data)}</script>`}
${script}
</body>
</html>
`;
}
