/**
 * Which cells differ between two snapshots: what changed since the previous point (same kernel: any
 * change of pfn, pte bits or state), or where two kernels disagree at the same point (compare mode: the
 * page's state, its pte's present/writable bits and each secondary's entry state; frame numbers are
 * allocation order and are not compared).
 */
import { PTE_PRESENT, PTE_RW } from '../../hw/pte.js';
import type { MappingView, Snapshot } from './snapshot.js';

export interface MappingMarks {
  /** 1 where the primary page differs. */
  primary: Uint8Array;
  /** One array per secondary row, 1 where that secondary's entry differs. */
  secondaries: Uint8Array[];
  count: number;
}

export interface Marks {
  /** Keyed by mappingKey(proc, start). */
  mappings: Record<string, MappingMarks>;
  /** Counters whose values differ. */
  counters: string[];
  /** Differing cells in all. */
  cells: number;
}

export const mappingKey = (proc: string, start: number): string => `${proc}@${start}`;

export type DiffMode = 'changed' | 'kernels';

export function diffSnapshots(a: Snapshot, b: Snapshot, mode: DiffMode): Marks {
  const mappings: Record<string, MappingMarks> = {};
  let cells = 0;
  const other = new Map<string, MappingView>();
  for (const p of b.processes) for (const v of p.vmas) other.set(mappingKey(p.name, v.start), v);
  for (const p of a.processes)
    for (const v of p.vmas) {
      const key = mappingKey(p.name, v.start);
      const m = markMapping(v, other.get(key), mode);
      if (m.count > 0) mappings[key] = m;
      cells += m.count;
    }
  const counters = Object.keys(a.counters).filter((n) => a.counters[n] !== b.counters[n]);
  return { mappings, counters, cells };
}

const KEY_BITS = PTE_PRESENT | PTE_RW;

function markMapping(a: MappingView, b: MappingView | undefined, mode: DiffMode): MappingMarks {
  const n = a.pages;
  const primary = new Uint8Array(n);
  const secondaries = a.secondaries.map(() => new Uint8Array(n));
  let count = 0;
  if (b === undefined || b.pages !== n) {
    primary.fill(1);
    for (const s of secondaries) s.fill(1);
    return { primary, secondaries, count: n * (1 + secondaries.length) };
  }
  for (let i = 0; i < n; i++) {
    const differs =
      a.state[i] !== b.state[i] ||
      (mode === 'changed'
        ? a.pfn[i] !== b.pfn[i] || a.bits[i] !== b.bits[i]
        : (a.bits[i] & KEY_BITS) !== (b.bits[i] & KEY_BITS));
    if (differs) {
      primary[i] = 1;
      count++;
    }
  }
  a.secondaries.forEach((row, j) => {
    const o = b.secondaries.find((r) => r.name === row.name);
    for (let i = 0; i < n; i++) {
      const differs =
        o === undefined || row.state[i] !== o.state[i] || (mode === 'changed' && row.pfn[i] !== o.pfn[i]);
      if (differs) {
        secondaries[j][i] = 1;
        count++;
      }
    }
  });
  return { primary, secondaries, count };
}
