/**
 * A mapping's pages as a grid, one row for the primary ptes and one per secondary MMU: DOM cells (each
 * with its letter and a label) for small mappings; for large ones one canvas per row, its pixels written
 * at once (ImageData), where thousands of elements or fillRect calls would make every step slow.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { MappingMarks } from '../model/diff.js';
import {
  type MappingView,
  PAGE_STATE_LABELS,
  PAGE_STATE_NAMES,
  SECONDARY_STATE_NAMES,
} from '../model/snapshot.js';
import {
  CHANGED_OUTLINE,
  DIFFERS_OUTLINE,
  PAGE_COLOURS,
  PAGE_LETTERS,
  SECONDARY_COLOURS,
  SECONDARY_LABELS,
  SECONDARY_LETTERS,
  textOn,
} from './palette.js';

/** Above this many pages a row is drawn on canvas. */
export const DOM_LIMIT = 512;
const CANVAS_COLS = 128;
const DOM_COLS = 32;

export interface GridProps {
  proc: string;
  mapping: MappingView;
  changed?: MappingMarks;
  differs?: MappingMarks;
  cursor: number | null;
  onPick: (page: number) => void;
}

/** One row of cells: a state code per page, and what each code looks like and means. */
interface Row {
  label: string;
  kind: 'primary' | 'secondary';
  codes: Uint8Array;
  pfn: Int32Array;
  colours: readonly string[];
  letters: readonly string[];
  names: readonly string[];
  labels: readonly string[];
  changed?: Uint8Array;
  differs?: Uint8Array;
}

const PAGE_COLOUR_LIST = PAGE_STATE_NAMES.map((n) => PAGE_COLOURS[n]);
const PAGE_LETTER_LIST = PAGE_STATE_NAMES.map((n) => PAGE_LETTERS[n]);
const PAGE_LABEL_LIST = PAGE_STATE_NAMES.map((n) => PAGE_STATE_LABELS[n]);

function rowsOf(p: GridProps): Row[] {
  const m = p.mapping;
  return [
    {
      label: 'pte',
      kind: 'primary',
      codes: m.state,
      pfn: m.pfn,
      colours: PAGE_COLOUR_LIST,
      letters: PAGE_LETTER_LIST,
      names: PAGE_STATE_NAMES,
      labels: PAGE_LABEL_LIST,
      changed: p.changed?.primary,
      differs: p.differs?.primary,
    },
    ...m.secondaries.map(
      (r, j): Row => ({
        label: r.name,
        kind: 'secondary',
        codes: r.state,
        pfn: r.pfn,
        colours: SECONDARY_COLOURS,
        letters: SECONDARY_LETTERS,
        names: SECONDARY_STATE_NAMES,
        labels: SECONDARY_LABELS,
        changed: p.changed?.secondaries[j],
        differs: p.differs?.secondaries[j],
      }),
    ),
  ];
}

const describe = (r: Row, i: number): string =>
  `${r.kind === 'primary' ? 'pte' : r.label} page ${i}: ${r.labels[r.codes[i]]}${r.pfn[i] >= 0 ? `, pfn 0x${r.pfn[i].toString(16)}` : ''}${r.changed?.[i] ? ', changed' : ''}${r.differs?.[i] ? ', differs between the kernels' : ''}`;

export function PageGrid(p: GridProps) {
  const rows = rowsOf(p);
  const n = p.mapping.pages;
  const canvas = n > DOM_LIMIT;
  const cols = Math.min(n, canvas ? CANVAS_COLS : DOM_COLS);
  const onKey = (e: KeyboardEvent) => {
    const move: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols };
    const d = move[e.key];
    if (d === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    // the first arrow picks the first page
    p.onPick(p.cursor === null ? 0 : Math.max(0, Math.min(n - 1, p.cursor + d)));
  };
  // one handler for every DOM cell (the cells themselves stay plain elements)
  const onClick = (e: MouseEvent) => {
    const page = (e.target as HTMLElement).closest<HTMLElement>('[data-page]')?.dataset.page;
    if (page !== undefined) p.onPick(Number(page));
  };
  return (
    <div
      class="grid"
      role="application"
      // biome-ignore lint/a11y/noNoninteractiveTabindex: one tab stop per grid; arrows move its cursor, which the inspector (aria-live) reads out
      tabIndex={0}
      onKeyDown={onKey}
      onClick={onClick}
      aria-label={`${p.proc}:${p.mapping.name ?? 'vma'} pages: arrows pick a page`}
      data-mapping={p.mapping.name ?? ''}
    >
      {rows.map((r) => (
        <div class="grid-row" key={r.label} data-row={r.kind} data-name={r.label}>
          <span class="row-label">{r.label}</span>
          {canvas ? (
            <CanvasRow row={r} pages={n} cols={cols} cursor={p.cursor} onPick={p.onPick} />
          ) : (
            <span class="cells" style={{ gridTemplateColumns: `repeat(${cols}, 1.4em)` }}>
              {Array.from({ length: n }, (_, i) => {
                const colour = r.colours[r.codes[i]];
                return (
                  <span
                    key={i}
                    class={`cell${p.cursor === i ? ' cursor' : ''}${r.changed?.[i] ? ' changed' : ''}${r.differs?.[i] ? ' differs' : ''}`}
                    style={{ background: colour, color: textOn(colour) }}
                    data-page={i}
                    data-state={r.names[r.codes[i]]}
                    data-changed={r.changed?.[i] ? 'yes' : undefined}
                    data-differs={r.differs?.[i] ? 'yes' : undefined}
                    role="img"
                    title={describe(r, i)}
                    aria-label={describe(r, i)}
                  >
                    {r.letters[r.codes[i]]}
                  </span>
                );
              })}
            </span>
          )}
        </div>
      ))}
    </div>
  );
}

/** Pixels per cell (a 4x4 square and a 1-pixel gap); a marked cell gets a 1-pixel ring. */
const CELL = 5;

/** '#rrggbb' as a little-endian RGBA pixel (Uint32 view of ImageData). */
function pixel(hex: string): number {
  const v = Number.parseInt(hex.slice(1), 16);
  return (0xff << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff);
}
const WHITE = pixel('#ffffff');
const CHANGED_PIXEL = pixel(CHANGED_OUTLINE);
const DIFFERS_PIXEL = pixel(DIFFERS_OUTLINE);

function CanvasRow(props: {
  row: Row;
  pages: number;
  cols: number;
  cursor: number | null;
  onPick: (i: number) => void;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { row, pages, cols, cursor } = props;
  const width = cols * CELL;
  const height = Math.ceil(pages / cols) * CELL;
  useEffect(() => {
    const c = ref.current?.getContext('2d');
    if (!c) return;
    const img = c.createImageData(width, height);
    const px = new Uint32Array(img.data.buffer);
    px.fill(WHITE);
    const colours = row.colours.map(pixel);
    for (let i = 0; i < pages; i++) {
      const x0 = (i % cols) * CELL;
      const y0 = Math.floor(i / cols) * CELL;
      const fill = colours[row.codes[i]];
      const ring = row.differs?.[i] ? DIFFERS_PIXEL : row.changed?.[i] ? CHANGED_PIXEL : fill;
      for (let dy = 0; dy < CELL - 1; dy++) {
        const base = (y0 + dy) * width + x0;
        const edge = dy === 0 || dy === CELL - 2;
        for (let dx = 0; dx < CELL - 1; dx++)
          px[base + dx] = edge || dx === 0 || dx === CELL - 2 ? ring : fill;
      }
    }
    c.putImageData(img, 0, 0);
    if (cursor !== null && cursor < pages) {
      c.lineWidth = 2;
      c.strokeStyle = '#000';
      c.strokeRect((cursor % cols) * CELL - 1, Math.floor(cursor / cols) * CELL - 1, CELL + 1, CELL + 1);
    }
  });
  const onClick = (e: MouseEvent) => {
    const el = e.currentTarget as HTMLCanvasElement;
    const r = el.getBoundingClientRect();
    const scale = el.width / r.width; // the canvas may be drawn narrower than its pixels
    const x = Math.floor(((e.clientX - r.left) * scale) / CELL);
    const y = Math.floor(((e.clientY - r.top) * scale) / CELL);
    const i = y * cols + x;
    if (i >= 0 && i < pages) props.onPick(i);
  };
  const marked = row.changed?.reduce((a, b) => a + b, 0) ?? 0;
  return (
    <canvas
      ref={ref}
      class="canvas-row"
      width={width}
      height={height}
      onClick={onClick}
      role="img"
      data-changed-cells={marked}
      aria-label={`${row.label}: ${pages} pages, ${marked} changed; focus the grid and use the arrows to inspect one`}
    />
  );
}
