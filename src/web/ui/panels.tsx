/**
 * The state views of one kernel at one point: each process's vmas with their page grids, the pte of the
 * page under the cursor, the secondary MMUs' translations, the notifier brackets, the counters with
 * their deltas, one sentence per event, and the frames with who maps them.
 */
import { useState } from 'preact/hooks';
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
import type { Bracket } from '../model/brackets.js';
import { type MappingMarks, mappingKey } from '../model/diff.js';
import {
  frameIndex,
  hex,
  type MappingView,
  mappersIndex,
  mappersOf,
  PAGE_STATE_LABELS,
  PAGE_STATE_NAMES,
  SECONDARY_STATE_NAMES,
  SecondaryState,
  type Snapshot,
} from '../model/snapshot.js';
import { PageGrid } from './grid.js';
import { cursor as cursorSignal, go, point } from './state.js';

export interface Cursor {
  key: string;
  page: number;
}

const PTE_BITS: [number, string, string][] = [
  [PTE_PRESENT, 'P', 'present'],
  [PTE_RW, 'RW', 'writable'],
  [PTE_USER, 'U', 'user'],
  [PTE_ACCESSED, 'A', 'accessed'],
  [PTE_DIRTY, 'D', 'dirty'],
  [PTE_SOFT_DIRTY, 'SD', 'soft-dirty'],
  [PTE_NX, 'NX', 'no-execute'],
  [PTE_SPECIAL, 'S', 'special (the zero page)'],
  [PTE_PROTNONE, 'PN', 'PROT_NONE'],
];

const pick = (c: Cursor) => {
  cursorSignal.value = c;
};
const toEvent = (i: number) => go({ step: Math.max(0, point.value.step), event: i });

export function Side(props: {
  view: SideView;
  differs: Record<string, MappingMarks> | null;
  differingCounters: string[];
  cursor: Cursor | null;
  event: number;
}) {
  const { view, cursor } = props;
  const s = view.snapshot;
  return (
    <section class="side" data-kernel={view.kernel} aria-label={`kernel ${view.kernel}`}>
      <h2>
        kernel <code>{view.kernel}</code>
        {s.violations.length > 0 ? (
          <span class="bad" title={s.violations.join('\n')}>
            {' '}
            · {s.violations.length} violation(s)
          </span>
        ) : null}
        {view.exact ? null : (
          <small class="inexact" title="per-event states are recorded for scenarios of up to 8192 cells">
            {' '}
            · state shown at the step's end
          </small>
        )}
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
                  page
                  {v.pages === 1 ? '' : 's'} · <code>{v.flags}</code>
                </div>
                <PageGrid
                  proc={p.name}
                  mapping={v}
                  changed={view.changed.mappings[key]}
                  differs={props.differs?.[key]}
                  cursor={cursor?.key === key ? cursor.page : null}
                  onPick={(page) => pick({ key, page })}
                />
              </div>
            );
          })}
        </div>
      ))}
      <Inspector view={view} cursor={cursor} />
      <Secondaries view={view} />
      <Brackets view={view} event={props.event} />
      <Counters view={view} differing={props.differingCounters} />
      <Events view={view} event={props.event} />
      <Frames snapshot={s} />
    </section>
  );
}

function findMapping(s: Snapshot, key: string): { proc: string; v: MappingView } | undefined {
  for (const p of s.processes)
    for (const v of p.vmas) if (mappingKey(p.name, v.start) === key) return { proc: p.name, v };
  return undefined;
}

function Inspector({ view, cursor }: { view: SideView; cursor: Cursor | null }) {
  const found = cursor === null ? undefined : findMapping(view.snapshot, cursor.key);
  if (cursor === null || found === undefined)
    return (
      <div class="inspector" aria-live="polite">
        Pick a page (click it, or focus a grid with Tab and move with the arrow keys) to see its pte, its
        frame and every secondary's entry.
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
            {PTE_BITS.map(([b, name, long]) => (
              <span
                key={name}
                class={`bit${bits & b ? ' on' : ''}`}
                title={`${long}: ${bits & b ? 'set' : 'clear'}`}
              >
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

/** Every secondary MMU's translations in numbers: entries by kind, and how many changed here. */
function Secondaries({ view }: { view: SideView }) {
  const rows = new Map<string, { ro: number; rw: number; stale: number; changed: number }>();
  for (const p of view.snapshot.processes)
    for (const v of p.vmas) {
      const marks = view.changed.mappings[mappingKey(p.name, v.start)];
      v.secondaries.forEach((r, j) => {
        const row = rows.get(r.name) ?? { ro: 0, rw: 0, stale: 0, changed: 0 };
        for (let i = 0; i < v.pages; i++) {
          const st = r.state[i];
          if (st === SecondaryState.ro) row.ro++;
          else if (st === SecondaryState.rw) row.rw++;
          else if (st !== SecondaryState.none) row.stale++;
          if (marks?.secondaries[j]?.[i]) row.changed++;
        }
        rows.set(r.name, row);
      });
    }
  if (rows.size === 0) return null;
  return (
    <details class="secondaries" open>
      <summary>secondary MMUs</summary>
      <table>
        <thead>
          <tr>
            <th>translations of</th>
            <th>read-only</th>
            <th>writable</th>
            <th>stale</th>
            <th>changed here</th>
          </tr>
        </thead>
        <tbody>
          {[...rows].map(([name, r]) => (
            <tr key={name} data-secondary={name} class={r.changed > 0 ? 'changed' : ''}>
              <td>{name}</td>
              <td class="num">{r.ro}</td>
              <td class="num">{r.rw}</td>
              <td class={`num${r.stale > 0 ? ' bad' : ''}`}>{r.stale}</td>
              <td class="num delta">{r.changed || ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Brackets({ view, event }: { view: SideView; event: number }) {
  if (view.bracketTotal === 0) return null;
  const inside = (b: Bracket) => event >= b.open && (b.close < 0 || event <= b.close);
  return (
    <details class="brackets" open>
      <summary>
        notifier calls ({view.bracketTotal} range{view.bracketTotal === 1 ? '' : 's'}
        {view.brackets.length < view.bracketTotal ? `, ${view.brackets.length} near the current event` : ''})
      </summary>
      <ol>
        {view.brackets.map((b) => (
          <li key={b.open} class={`bracket${inside(b) ? ' current' : ''}`} data-by={b.by}>
            <button type="button" class="linkish open" onClick={() => toEvent(b.open)}>
              <span class="agent">{b.agent}</span>{' '}
              {b.by === 'change_pte'
                ? 'change_pte() outside any range'
                : `invalidate_range_start(${b.by}${b.flags ? `, ${b.flags}` : ''})`}
              {b.start !== undefined ? <small> {hex(b.start)}</small> : null}
            </button>
            {b.items.length > 0 ? (
              <ul>
                {b.items.map((x) => (
                  <li
                    key={x.event}
                    class={x.hit === undefined ? 'item' : x.hit ? 'item hit' : 'item miss'}
                    data-hit={x.hit === undefined ? undefined : x.hit ? 'hit' : 'miss'}
                  >
                    <button type="button" class="linkish" onClick={() => toEvent(x.event)}>
                      {x.text}
                      {x.hit === undefined ? '' : x.hit ? ' ✓ hit' : ' ✗ miss'}
                    </button>
                  </li>
                ))}
              </ul>
            ) : null}
            {b.by === 'change_pte' ? null : (
              <div class="close">
                {b.close >= 0 ? 'invalidate_range_end' : '(still open at the step’s end)'}
              </div>
            )}
          </li>
        ))}
      </ol>
    </details>
  );
}

function Counters({ view, differing }: { view: SideView; differing: string[] }) {
  const entries = Object.entries(view.snapshot.counters).filter(([n, v]) => v !== 0 || n in view.deltas);
  return (
    <details class="counters" open>
      <summary>counters</summary>
      <table>
        <tbody>
          {entries.map(([n, v]) => (
            <tr
              key={n}
              data-counter={n}
              class={`${n in view.deltas ? 'changed' : ''}${differing.includes(n) ? ' differs' : ''}`}
            >
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

function Events({ view, event }: { view: SideView; event: number }) {
  const w = view.events;
  if (w.total === 0) return null;
  return (
    <details class="events" open>
      <summary>
        what the kernel did ({w.total} event{w.total === 1 ? '' : 's'}
        {w.sentences.length < w.total ? `, ${w.from + 1}–${w.from + w.sentences.length} shown` : ''})
      </summary>
      <ol start={w.from + 1}>
        {w.sentences.map((t, j) => {
          const i = w.from + j;
          return (
            <li
              key={i}
              data-kind={w.kinds[j]}
              class={i === event ? 'current' : i > event && event >= 0 ? 'later' : ''}
            >
              <button type="button" class="linkish" onClick={() => toEvent(i)}>
                <Sentence text={t} />
              </button>
            </li>
          );
        })}
      </ol>
    </details>
  );
}

/** A sentence with the kernel functions it names (`name()`) set as code. */
function Sentence({ text }: { text: string }) {
  const parts = text.split(/(\b[A-Za-z_][A-Za-z0-9_]*\(\))/);
  return <>{parts.map((p, i) => (i % 2 === 1 ? <code key={i}>{p}</code> : p))}</>;
}

const FRAME_ROWS = 200;

function Frames({ snapshot }: { snapshot: Snapshot }) {
  const f = snapshot.frames;
  const [open, setOpen] = useState(f.pfn.length <= 32);
  const n = Math.min(f.pfn.length, FRAME_ROWS);
  const mappers = open ? mappersIndex(snapshot, f.pfn.subarray(0, n)) : null;
  return (
    <details
      class="frames"
      open={open}
      onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary>
        physical frames in use ({f.pfn.length}
        {f.pfn.length > n ? `, the first ${n} shown` : ''})
      </summary>
      {mappers !== null ? (
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
            {Array.from({ length: n }, (_, i) => {
              const who = mappers.get(f.pfn[i]) ?? [];
              return (
                <tr key={f.pfn[i]} data-pfn={f.pfn[i]}>
                  <td>{hex(f.pfn[i])}</td>
                  <td class="num">{f.refcount[i]}</td>
                  <td class="num">{f.mapcount[i]}</td>
                  <td class="num">{f.pinned[i] || ''}</td>
                  <td>
                    {who.slice(0, 6).join(', ')}
                    {who.length > 6 ? ` and ${who.length - 6} more` : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </details>
  );
}
