/**
 * A mapping's pages as a grid, one row for the primary ptes and one per secondary MMU: DOM cells (each
 * with its letter and a label) for small mappings, one canvas per row for large ones, where thousands
 * of elements would make every step slow.
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
} from './palette.js';

/** Above this many pages a row is drawn on canvas. */
export const DOM_LIMIT = 512;
const COLS = 128;

export interface GridProps {
  proc: string;
  mapping: MappingView;
  changed?: MappingMarks;
  differs?: MappingMarks;
  cursor: number | null;
  onPick: (page: number) => void;
}

interface Row {
  label: string;
  kind: 'primary' | 'secondary';
  colour: (i: number) => string;
  letter: (i: number) => string;
  title: (i: number) => string;
  stateName: (i: number) => string;
  changed?: Uint8Array;
  differs?: Uint8Array;
}

function rowsOf(p: GridProps): Row[] {
  const m = p.mapping;
  const rows: Row[] = [
    {
      label: 'pte',
      kind: 'primary',
      colour: (i) => PAGE_COLOURS[PAGE_STATE_NAMES[m.state[i]]],
      letter: (i) => PAGE_LETTERS[PAGE_STATE_NAMES[m.state[i]]],
      title: (i) =>
        `page ${i}: ${PAGE_STATE_LABELS[PAGE_STATE_NAMES[m.state[i]]]}${m.pfn[i] >= 0 ? `, pfn 0x${m.pfn[i].toString(16)}` : ''}`,
      stateName: (i) => PAGE_STATE_NAMES[m.state[i]],
      changed: p.changed?.primary,
      differs: p.differs?.primary,
    },
  ];
  m.secondaries.forEach((r, j) => {
    rows.push({
      label: r.name,
      kind: 'secondary',
      colour: (i) => SECONDARY_COLOURS[r.state[i]],
      letter: (i) => SECONDARY_LETTERS[r.state[i]],
      title: (i) =>
        `${r.name} page ${i}: ${SECONDARY_LABELS[r.state[i]]}${r.pfn[i] >= 0 ? `, pfn 0x${r.pfn[i].toString(16)}` : ''}`,
      stateName: (i) => SECONDARY_STATE_NAMES[r.state[i]],
      changed: p.changed?.secondaries[j],
      differs: p.differs?.secondaries[j],
    });
  });
  return rows;
}

export function PageGrid(p: GridProps) {
  const rows = rowsOf(p);
  const n = p.mapping.pages;
  const cols = Math.min(n, n > DOM_LIMIT ? COLS : 32);
  const onKey = (e: KeyboardEvent) => {
    const c = p.cursor ?? 0;
    const move: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols };
    const d = move[e.key];
    if (d === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    p.onPick(Math.max(0, Math.min(n - 1, c + d)));
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
      aria-label={`${p.proc}:${p.mapping.name ?? 'vma'} pages`}
      data-mapping={p.mapping.name ?? ''}
    >
      {rows.map((r) => (
        <div class="grid-row" key={r.label} data-row={r.kind} data-name={r.label}>
          <span class="row-label">{r.label}</span>
          {n > DOM_LIMIT ? (
            <CanvasRow row={r} pages={n} cols={cols} cursor={p.cursor} onPick={p.onPick} />
          ) : (
            <span class="cells" style={{ gridTemplateColumns: `repeat(${cols}, 1.4em)` }}>
              {Array.from({ length: n }, (_, i) => (
                <span
                  key={i}
                  class={`cell${p.cursor === i ? ' cursor' : ''}${r.changed?.[i] ? ' changed' : ''}${r.differs?.[i] ? ' differs' : ''}`}
                  style={{
                    background: r.colour(i),
                    color: r.kind === 'secondary' && r.letter(i) === 'W' ? '#fff' : '#000',
                  }}
                  data-page={i}
                  data-state={r.stateName(i)}
                  data-changed={r.changed?.[i] ? 'yes' : undefined}
                  data-differs={r.differs?.[i] ? 'yes' : undefined}
                  role="img"
                  title={r.title(i)}
                  aria-label={r.title(i)}
                >
                  {r.letter(i)}
                </span>
              ))}
            </span>
          )}
        </div>
      ))}
    </div>
  );
}

const CELL = 5;

function CanvasRow(props: {
  row: Row;
  pages: number;
  cols: number;
  cursor: number | null;
  onPick: (i: number) => void;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { row, pages, cols, cursor } = props;
  const height = Math.ceil(pages / cols) * CELL;
  useEffect(() => {
    const c = ref.current?.getContext('2d');
    if (!c) return;
    c.clearRect(0, 0, cols * CELL, height);
    for (let i = 0; i < pages; i++) {
      c.fillStyle = row.colour(i);
      c.fillRect((i % cols) * CELL, Math.floor(i / cols) * CELL, CELL - 1, CELL - 1);
    }
    c.lineWidth = 1;
    for (let i = 0; i < pages; i++) {
      const mark = row.differs?.[i] ? DIFFERS_OUTLINE : row.changed?.[i] ? CHANGED_OUTLINE : null;
      if (mark === null) continue;
      c.strokeStyle = mark;
      c.strokeRect((i % cols) * CELL + 0.5, Math.floor(i / cols) * CELL + 0.5, CELL - 2, CELL - 2);
    }
    if (cursor !== null && cursor < pages) {
      c.lineWidth = 2;
      c.strokeStyle = '#000';
      c.strokeRect((cursor % cols) * CELL - 1, Math.floor(cursor / cols) * CELL - 1, CELL + 1, CELL + 1);
    }
  });
  const onClick = (e: MouseEvent) => {
    const r = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    const i = Math.floor((e.clientY - r.top) / CELL) * cols + Math.floor((e.clientX - r.left) / CELL);
    if (i >= 0 && i < pages) props.onPick(i);
  };
  return (
    <canvas
      ref={ref}
      class="canvas-row"
      width={cols * CELL}
      height={height}
      onClick={onClick}
      role="img"
      aria-label={`${row.label}: ${pages} pages`}
    />
  );
}
