/** The state views of one kernel at one point: processes and grids, the cursor's pte, frames, secondaries, notifier brackets, counters, events. */
import { PAGE_SIZE } from '../../hw/page.js';
import {
  PTE_ACCESSED,
  PTE_DIRTY,
  PTE_NX,
  PTE_PRESENT,
  PTE_PROTNONE,
  PTE_RW,
  PTE_SOFT_DIRTY,
  PTE_SPECIAL,
  PTE_USER,
} from '../../hw/pte.js';
import type { SideView } from '../model/backend.js';
import { type MappingMarks, mappingKey } from '../model/diff.js';
import {
  frameIndex,
  hex,
  type MappingView,
  mappersOf,
  PAGE_STATE_LABELS,
  PAGE_STATE_NAMES,
  SECONDARY_STATE_NAMES,
} from '../model/snapshot.js';
import { PageGrid } from './grid.js';

export interface Cursor {
  key: string;
  page: number;
}

const PTE_BITS: [number, string][] = [
  [PTE_PRESENT, 'P'],
  [PTE_RW, 'RW'],
  [PTE_USER, 'U'],
  [PTE_ACCESSED, 'A'],
  [PTE_DIRTY, 'D'],
  [PTE_SOFT_DIRTY, 'SD'],
  [PTE_NX, 'NX'],
  [PTE_SPECIAL, 'S'],
  [PTE_PROTNONE, 'PROTNONE'],
];

export function Side(props: {
  view: SideView;
  differs: Record<string, MappingMarks> | null;
  cursor: Cursor | null;
  onPick: (c: Cursor) => void;
  event: number;
  onEvent: (i: number) => void;
}) {
  const { view, cursor } = props;
  const s = view.snapshot;
  return (
    <section class="side" data-kernel={view.kernel} aria-label={`kernel ${view.kernel}`}>
      <h2>
        kernel <code>{view.kernel}</code>
        {s.violations > 0 ? <span class="bad"> · {s.violations} violation(s)</span> : null}
      </h2>
      {s.processes.map((p) => (
        <div class="process" key={p.name} data-proc={p.name}>
          <h3>
            {p.name}{' '}
            <small>
              pid {p.pid} · mm{p.mm}
              {p.alive ? '' : ' · exited'}
            </small>
          </h3>
          {p.vmas.map((v) => {
            const key = mappingKey(p.name, v.start);
            return (
              <div class="vma" key={key}>
                <div class="vma-head">
                  <b>{v.name ?? 'vma'}</b> {hex(v.start)}–{hex(v.start + v.pages * PAGE_SIZE)} · {v.pages}{' '}
                  pages · <code>{v.flags}</code>
                </div>
                <PageGrid
                  proc={p.name}
                  mapping={v}
                  changed={view.changed.mappings[key]}
                  differs={props.differs?.[key]}
                  cursor={cursor?.key === key ? cursor.page : null}
                  onPick={(page) => props.onPick({ key, page })}
                />
              </div>
            );
          })}
        </div>
      ))}
      <Inspector view={view} cursor={cursor} />
      <Brackets view={view} onEvent={props.onEvent} />
      <Counters view={view} />
      <Events view={view} event={props.event} onEvent={props.onEvent} />
      <Frames view={view} />
    </section>
  );
}

function findMapping(view: SideView, key: string): { proc: string; v: MappingView } | undefined {
  for (const p of view.snapshot.processes)
    for (const v of p.vmas) if (mappingKey(p.name, v.start) === key) return { proc: p.name, v };
  return undefined;
}

function Inspector({ view, cursor }: { view: SideView; cursor: Cursor | null }) {
  const found = cursor === null ? undefined : findMapping(view, cursor.key);
  if (cursor === null || found === undefined)
    return (
      <div class="inspector" aria-live="polite">
        Pick a page (click, or focus a grid and use the arrow keys) to see its pte.
      </div>
    );
  const { proc, v } = found;
  const i = Math.min(cursor.page, v.pages - 1);
  const pfn = v.pfn[i];
  const bits = v.bits[i];
  const f = view.snapshot.frames;
  const fi = pfn >= 0 ? frameIndex(f, pfn) : -1;
  return (
    <div class="inspector" aria-live="polite" data-page={i}>
      <div>
        <b>
          {proc}:{v.name ?? hex(v.start)}+{i}p
        </b>{' '}
        ({hex(v.start + i * PAGE_SIZE)}):{' '}
        <span class="pte-state">{PAGE_STATE_LABELS[PAGE_STATE_NAMES[v.state[i]]]}</span>
      </div>
      <div class="pte">
        pte:{' '}
        {pfn < 0 ? (
          <code>none</code>
        ) : (
          <>
            <code>pfn {hex(pfn)}</code>{' '}
            {PTE_BITS.map(([b, name]) => (
              <span key={name} class={`bit${bits & b ? ' on' : ''}`} title={name}>
                {bits & b ? name : name.toLowerCase()}
              </span>
            ))}
          </>
        )}
      </div>
      {fi >= 0 ? (
        <div class="frame-info">
          frame {hex(pfn)}: refcount {f.refcount[fi]}, mapcount {f.mapcount[fi]}
          {f.pinned[fi] > 0 ? `, pinned ${f.pinned[fi]}` : ''} · mapped by{' '}
          {mappersOf(view.snapshot, pfn).join(', ')}
        </div>
      ) : null}
      {v.secondaries.map((r) => (
        <div key={r.name} class="spte" data-secondary={r.name} data-state={SECONDARY_STATE_NAMES[r.state[i]]}>
          {r.name}:{' '}
          {r.pfn[i] < 0 ? 'no entry' : `${SECONDARY_STATE_NAMES[r.state[i]]} → pfn ${hex(r.pfn[i])}`}
        </div>
      ))}
    </div>
  );
}

function Brackets({ view, onEvent }: { view: SideView; onEvent: (i: number) => void }) {
  if (view.brackets.length === 0) return null;
  return (
    <details class="brackets" open>
      <summary>notifier calls ({view.brackets.length})</summary>
      <ol>
        {view.brackets.slice(0, 200).map((b) => (
          <li key={b.open}>
            <button type="button" class="linkish" onClick={() => onEvent(b.open)}>
              {b.agent}:{' '}
              {b.by === 'change_pte'
                ? ''
                : `invalidate_range_start(${b.by}${b.flags ? `, ${b.flags}` : ''}) `}
            </button>
            {b.items
              .filter((x) => x.hit !== undefined || x.text.startsWith('zap') || x.text.includes('spte'))
              .map((x) => (
                <span key={x.event} class={x.hit === undefined ? 'item' : x.hit ? 'item hit' : 'item miss'}>
                  {x.text}
                  {x.hit === undefined ? '' : x.hit ? ' [hit]' : ' [miss]'}
                </span>
              ))}
            {b.by === 'change_pte' ? '' : b.close >= 0 ? ' … invalidate_range_end' : ' … (open)'}
          </li>
        ))}
      </ol>
      {view.brackets.length > 200 ? <p>… {view.brackets.length - 200} more</p> : null}
    </details>
  );
}

function Counters({ view }: { view: SideView }) {
  const entries = Object.entries(view.snapshot.counters).filter(([n, v]) => v !== 0 || n in view.deltas);
  return (
    <details class="counters" open>
      <summary>counters</summary>
      <table>
        <tbody>
          {entries.map(([n, v]) => (
            <tr key={n} data-counter={n} class={n in view.deltas ? 'changed' : ''}>
              <td>{n}</td>
              <td class="num">{v}</td>
              <td class="num delta">
                {n in view.deltas ? `${view.deltas[n] > 0 ? '+' : ''}${view.deltas[n]}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

const EVENT_LIMIT = 400;

function Events({ view, event, onEvent }: { view: SideView; event: number; onEvent: (i: number) => void }) {
  if (view.sentences.length === 0) return null;
  const from = event < EVENT_LIMIT ? 0 : event - EVENT_LIMIT / 2;
  return (
    <details class="events" open>
      <summary>what the kernel did ({view.sentences.length} events)</summary>
      <ol start={from + 1}>
        {view.sentences.slice(from, from + EVENT_LIMIT).map((t, j) => (
          <li
            key={from + j}
            class={from + j === event ? 'current' : from + j > event && event >= 0 ? 'later' : ''}
          >
            <button type="button" class="linkish" onClick={() => onEvent(from + j)}>
              {t}
            </button>
          </li>
        ))}
      </ol>
    </details>
  );
}

function Frames({ view }: { view: SideView }) {
  const f = view.snapshot.frames;
  const n = Math.min(f.pfn.length, 256);
  return (
    <details class="frames">
      <summary>frames in use ({f.pfn.length})</summary>
      <table>
        <thead>
          <tr>
            <th>pfn</th>
            <th>refcount</th>
            <th>mapcount</th>
            <th>pinned</th>
            <th>mapped by</th>
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: n }, (_, i) => (
            <tr key={f.pfn[i]}>
              <td>{hex(f.pfn[i])}</td>
              <td class="num">{f.refcount[i]}</td>
              <td class="num">{f.mapcount[i]}</td>
              <td class="num">{f.pinned[i] || ''}</td>
              <td>{mappersOf(view.snapshot, f.pfn[i]).slice(0, 8).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
