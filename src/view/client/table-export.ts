/**
 * Every data table on a page can be downloaded as CSV: a small "CSV" button above each `table.data`,
 * which serialises the table's cells as shown (header row first). Built in the page because the
 * tables are the page's own rendering of a summary (the samples list exports through the server).
 */
import { csvLine } from '../../shared/csv.ts';

function tableCsv(t: HTMLTableElement): string {
  return [...t.rows].map((r) => csvLine([...r.cells].map((c) => (c.textContent ?? '').replace(/\s+/g, ' ').trim()))).join('');
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Put a CSV button above each data table under root; the file is named after the page and the table's section. */
export function addTableExports(root: HTMLElement, baseName: string): void {
  root.querySelectorAll<HTMLTableElement>('table.data').forEach((t, i) => {
    if (t.previousElementSibling?.classList.contains('export-table')) return;
    const section = t.closest('section')?.querySelector('h2')?.textContent ?? `table ${i + 1}`;
    const b = document.createElement('button');
    b.className = 'export-table';
    b.type = 'button';
    b.textContent = 'CSV';
    b.title = `download this table (${section}) as CSV`;
    b.setAttribute('aria-label', `download the table “${section}” as CSV`);
    const file =
      `${baseName}-${section}`
        .replace(/[^A-Za-z0-9._-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 120) || 'table';
    b.addEventListener('click', () => download(`${file}.csv`, tableCsv(t)));
    t.before(b);
  });
}
