/**
 * A Snapshot is what the visualizer shows of a World at one point: every process's vmas with the state
 * of each page (typed arrays, so a 16k-page mapping costs a few hundred kB and crosses the worker
 * boundary by structured clone), the frames in use, every secondary MMU's translations and the
 * counters. It is plain data: taking one never changes the World, and a recorded snapshot never changes
 * afterwards, so stepping back shows exactly what was there.
 */
import { PG_ANON, PG_KSM, ZERO_PFN } from '../../hw/frames.js';
import { PAGE_SIZE } from '../../hw/page.js';
import { PTE_PFN_SCALE, PTE_SPECIAL } from '../../hw/pte.js';
import { formatVmFlags, VM_SHARED } from '../../mm/vma.js';
import type { World } from '../../scenario/world.js';

/** Page states, by priority (a pinned KSM page shows as pinned). Codes index PAGE_STATE_NAMES. */
export const PageState = {
  none: 0,
  zero: 1,
  anon: 2,
  cow: 3,
  ksm: 4,
  pinned: 5,
  shared: 6,
} as const;
export type PageStateCode = (typeof PageState)[keyof typeof PageState];
export const PAGE_STATE_NAMES = ['none', 'zero', 'anon', 'cow', 'ksm', 'pinned', 'shared'] as const;
export type PageStateName = (typeof PAGE_STATE_NAMES)[number];

/** What a user reads for each state (the legend). */
export const PAGE_STATE_LABELS: Record<PageStateName, string> = {
  none: 'not present',
  zero: 'zero page',
  anon: 'private anon',
  cow: 'COW-shared (after fork)',
  ksm: 'KSM page',
  pinned: 'pinned (gup)',
  shared: 'shared mapping (shmem)',
};

/** A secondary MMU's view of one page: no entry, read-only, writable; `stale` when its pfn is not the pte's. */
export const SecondaryState = { none: 0, ro: 1, rw: 2, staleRo: 3, staleRw: 4 } as const;
export const SECONDARY_STATE_NAMES = ['none', 'ro', 'rw', 'stale-ro', 'stale-rw'] as const;

export interface SecondaryRow {
  /** 'kvm:vm1', 'dev:gpu', 'iommu:sva0'. */
  name: string;
  /** Per page of the mapping: a SecondaryState code. */
  state: Uint8Array;
  /** The pfn the secondary maps there, -1 where none. */
  pfn: Int32Array;
}

export interface MappingView {
  /** The scenario's name for it (`mmap ... as:`), where one names this vma. */
  name: string | null;
  start: number;
  pages: number;
  /** vm_flags as the kernel prints them. */
  flags: string;
  /** Per page: a PageState code. */
  state: Uint8Array;
  /** Per page: the pfn the pte maps, -1 where pte_none. */
  pfn: Int32Array;
  /** Per page: the pte's flag bits (hw/pte.ts). */
  bits: Uint16Array;
  secondaries: SecondaryRow[];
}

export interface ProcessView {
  name: string;
  pid: number;
  mm: number;
  alive: boolean;
  vmas: MappingView[];
}

/** The frames any pte, pin or secondary refers to, in pfn order (struct-of-arrays). */
export interface FramesView {
  pfn: Int32Array;
  refcount: Int32Array;
  mapcount: Int32Array;
  flags: Uint8Array;
  /** References held by gup pins. */
  pinned: Int32Array;
}

export interface Snapshot {
  processes: ProcessView[];
  frames: FramesView;
  /** Every counter that applies, zeros included. */
  counters: Record<string, number>;
  /** Invariant violations seen so far, as 'invariant: message'. */
  violations: string[];
}

/** Mapping names per process: `mappingStart(proc, name)` answers where it starts now. */
export interface NameSource {
  names: readonly string[];
  start(proc: string, name: string): number | undefined;
}

export function takeSnapshot(world: World, names?: NameSource): Snapshot {
  const k = world.kernel;
  const frames = k.frames;
  const pins = world.sys.pinnedRefs();
  const used = new Set<number>(pins.keys());
  const byMm = new Map<number, SecondaryEntries[]>();
  for (const s of world.secondaries()) {
    const list = byMm.get(s.mm.id) ?? [];
    const map = new Map<number, { pfn: number; writable: boolean }>();
    for (const t of s.translations()) {
      map.set(t.address, { pfn: t.pfn, writable: t.writable });
      used.add(t.pfn);
    }
    list.push({ name: s.name, map });
    byMm.set(s.mm.id, list);
  }
  const processes: ProcessView[] = [];
  const seenMm = new Set<number>();
  for (const task of k.tasks.values()) {
    const mm = task.mm;
    const vmas: MappingView[] = [];
    const alive = task.alive && !mm.dead;
    const first = !seenMm.has(mm.id);
    seenMm.add(mm.id);
    if (alive && first) {
      for (const vma of mm.vmas) {
        const pages = vma.pages;
        const state = new Uint8Array(pages);
        const pfn = new Int32Array(pages).fill(-1);
        const bits = new Uint16Array(pages);
        const startVpn = vma.start / PAGE_SIZE;
        const shared = (vma.flags & VM_SHARED) !== 0;
        mm.pt.forEachMapped(startVpn, startVpn + pages, (vpn, pte) => {
          const i = vpn - startVpn;
          const p = Math.floor(pte / PTE_PFN_SCALE);
          const b = pte % PTE_PFN_SCALE;
          pfn[i] = p;
          bits[i] = b;
          used.add(p);
          state[i] = classify(p, b, frames.raw.flags[p], frames.mapcount(p), pins.has(p), shared);
        });
        const secondaries = (byMm.get(mm.id) ?? []).map((s) => secondaryRow(s, vma.start, pfn));
        vmas.push({
          name: nameOf(task.name, vma.start, names),
          start: vma.start,
          pages,
          flags: formatVmFlags(vma.flags),
          state,
          pfn,
          bits,
          secondaries,
        });
      }
    }
    processes.push({ name: task.name, pid: task.pid, mm: mm.id, alive, vmas });
  }
  used.delete(-1);
  const list = [...used].sort((a, b) => a - b);
  const view: FramesView = {
    pfn: Int32Array.from(list),
    refcount: Int32Array.from(list, (p) => frames.raw.refcount[p]),
    mapcount: Int32Array.from(list, (p) => frames.mapcount(p)),
    flags: Uint8Array.from(list, (p) => frames.raw.flags[p]),
    pinned: Int32Array.from(list, (p) => pins.get(p) ?? 0),
  };
  return {
    processes,
    frames: view,
    counters: world.counterValues(),
    violations: world.violations.list.map((v) => `${v.invariant}: ${v.message}`),
  };
}

interface SecondaryEntries {
  name: string;
  map: Map<number, { pfn: number; writable: boolean }>;
}

function secondaryRow(s: SecondaryEntries, start: number, primary: Int32Array): SecondaryRow {
  const n = primary.length;
  const state = new Uint8Array(n);
  const pfn = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const t = s.map.get(start + i * PAGE_SIZE);
    if (t === undefined) continue;
    pfn[i] = t.pfn;
    const stale = t.pfn !== primary[i];
    state[i] = t.writable
      ? stale
        ? SecondaryState.staleRw
        : SecondaryState.rw
      : stale
        ? SecondaryState.staleRo
        : SecondaryState.ro;
  }
  return { name: s.name, state, pfn };
}

function classify(
  pfn: number,
  bits: number,
  flags: number,
  mapcount: number,
  pinned: boolean,
  shared: boolean,
): PageStateCode {
  if (pfn === ZERO_PFN || (bits & PTE_SPECIAL) !== 0) return PageState.zero;
  if (pinned) return PageState.pinned;
  if ((flags & PG_KSM) !== 0) return PageState.ksm;
  if (shared) return PageState.shared;
  if ((flags & PG_ANON) !== 0 && mapcount > 1) return PageState.cow;
  return PageState.anon;
}

function nameOf(proc: string, start: number, names: NameSource | undefined): string | null {
  if (names === undefined) return null;
  for (const n of names.names) if (names.start(proc, n) === start) return n;
  return null;
}

/** The pfn's row in a FramesView, or -1 (binary search: frames are in pfn order). */
export function frameIndex(frames: FramesView, pfn: number): number {
  let lo = 0;
  let hi = frames.pfn.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = frames.pfn[mid];
    if (p === pfn) return mid;
    if (p < pfn) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Who maps each of `pfns`, in one pass over every pte and secondary entry: 'qemu:ram+3', 'kvm:vm1 (ram+3)'. */
export function mappersIndex(s: Snapshot, pfns: ArrayLike<number>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (let k = 0; k < pfns.length; k++) out.set(pfns[k], []);
  for (const p of s.processes)
    for (const v of p.vmas) {
      const at = (i: number) => `${v.name ?? hex(v.start)}+${i}`;
      for (let i = 0; i < v.pages; i++) out.get(v.pfn[i])?.push(`${p.name}:${at(i)}`);
      for (const r of v.secondaries)
        for (let i = 0; i < v.pages; i++) out.get(r.pfn[i])?.push(`${r.name} (${at(i)})`);
    }
  return out;
}

export const mappersOf = (s: Snapshot, pfn: number): string[] => mappersIndex(s, [pfn]).get(pfn) ?? [];

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
