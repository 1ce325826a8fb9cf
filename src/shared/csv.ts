/**
 * CSV fields and lines (RFC 4180): a field is quoted when it holds a comma, a quote, CR or LF, with its
 * quotes doubled. Written by hand because it is these lines; a CSV library would be a dependency for
 * them. Shared by `dramatis export` and the viewer's table downloads.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (fields: unknown[]) => `${fields.map(csvField).join(',')}\r\n`;
