/** Plain-text tables that fit an 80-column terminal, and CSV. */

export interface Column {
  /** Header; may wrap onto two lines with '\n'. */
  header: string;
  align?: 'left' | 'right';
}

export function renderTable(columns: Column[], rows: (string | number)[][], maxWidth = 80): string {
  const headers = columns.map((c) => c.header.split('\n'));
  const headerLines = Math.max(...headers.map((h) => h.length));
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = columns.map((_, i) =>
    Math.max(...headers[i].map((h) => h.length), ...cells.map((r) => (r[i] ?? '').length)),
  );
  // too wide: first narrow the gaps between columns, and only then cut the widest left-aligned column
  let gap = 2;
  const total = (): number => widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
  if (total() > maxWidth) gap = 1;
  while (total() > maxWidth) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (columns[i].align !== 'right' && (widest < 0 || widths[i] > widths[widest])) widest = i;
    }
    if (widest < 0 || widths[widest] <= 8) break;
    widths[widest]--;
  }
  const fitCell = (s: string, w: number, right: boolean): string => {
    const t = s.length > w ? `${s.slice(0, w - 1)}~` : s;
    return right ? t.padStart(w) : t.padEnd(w);
  };
  const lines: string[] = [];
  for (let l = 0; l < headerLines; l++) {
    const pad = (h: string[]): string => h[l - (headerLines - h.length)] ?? '';
    lines.push(
      columns
        .map((c, i) => fitCell(pad(headers[i]), widths[i], c.align === 'right'))
        .join(' '.repeat(gap))
        .trimEnd(),
    );
  }
  lines.push(widths.map((w) => '-'.repeat(w)).join(' '.repeat(gap)));
  for (const r of cells)
    lines.push(
      columns
        .map((c, i) => fitCell(r[i] ?? '', widths[i], c.align === 'right'))
        .join(' '.repeat(gap))
        .trimEnd(),
    );
  return lines.join('\n');
}

export function renderCsv(columns: Column[], rows: (string | number)[][]): string {
  const esc = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  // a header split over two lines is one name again: 'viola-\ntions' -> 'violations'
  const out = [columns.map((c) => esc(oneLineHeader(c.header))).join(',')];
  for (const r of rows) out.push(r.map((c) => esc(String(c))).join(','));
  return `${out.join('\n')}\n`;
}

/** A table header on one line: 'pages\nsharing' -> 'pages sharing', 'viola-\ntions' -> 'violations'. */
export function oneLineHeader(header: string): string {
  return header.replace(/-\n|\n(?=_)/g, '').replace(/\n/g, ' ');
}
