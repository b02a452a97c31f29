/**
 * Footprints: what a transition (a thread resumed from one pause to the next) read and wrote, recorded
 * by the state accessors themselves (locks here, frames / page tables / TLBs in hw/, notifier chains,
 * secondary translations, KVM's sequence counts and KSM in the layers above) so no path is annotated by
 * hand. The model checker's partial-order reduction (check/dpor.ts) calls two transitions of different
 * threads dependent when their footprints conflict.
 *
 * An access is a key (a kind, an object's serial, an index) and a mode. Two accesses to one key
 * conflict unless both read, or both only *mark* it: a mark says "something under this coarse key
 * changed", so that a read of the whole (a page-table walk over a range) conflicts with every store in
 * it, while two stores to different ptes under it stay independent. A *touch* of a coarse key conflicts
 * only with a write of it: a lookup of one entry touches the whole, so that clearing the whole (a TLB
 * flush of the mm) orders against it while stores to other entries do not. Keys may collide (object serials
 * are folded into 12 bits): a collision only adds a dependency, which is sound.
 *
 * Recording costs one test of `FOOTPRINT.on` when nobody records (every run but the checker's).
 */

export const Access = { Read: 0, Mark: 1, Write: 2, Touch: 3 } as const;
export type Access = (typeof Access)[keyof typeof Access];

/** What a key names. */
export const FootprintKind = {
  Lock: 0,
  Pte: 1,
  /** A PTE page (512 ptes): marked by every store in it, read by walks and lookups of the page. */
  PtePage: 2,
  /** A whole page table: marked by every store, read by walks too long to list their PTE pages. */
  PageTableAll: 3,
  Frame: 4,
  /** The frame allocator's free list and high-water mark. */
  FrameAlloc: 5,
  Tlb: 6,
  /** One secondary MMU's translation of one page (KVM spte by gfn, a mirror's or IOTLB's entry). */
  SecondaryEntry: 7,
  /** A secondary MMU's own protocol state (KVM's mmu_notifier_seq/count, a mirror's sequence). */
  SecondaryState: 8,
  /** An mm's notifier chain: subscriptions, open ranges, the interval tree's invalidate_seq. */
  NotifierChain: 9,
  /** KSM's mm_slots, rmap items and trees (serialised by ksm_thread_mutex / ksm_mmlist_lock). */
  Ksm: 10,
  /** An mm's vma list (also covered by mmap_lock, which every vma reader and writer takes). */
  Vmas: 11,
  /** The anon rmap: anon_vmas and their members. */
  AnonRmap: 12,
  /** A shmem object's page cache. */
  Shmem: 13,
  /** GUP pins held by tasks (the pin table). */
  Pins: 14,
  /** Allocation of ids that name things in the final state (mm ids, agent ids). */
  IdAlloc: 15,
  /** The invariant checker's shadow of what was last stored at a page (part of an access's check). */
  CheckerShadow: 16,
  /**
   * A marker, not state: the transition released a lock it held when it began, so no other thread could
   * use that lock at the transition's start (check/dpor.ts: such a pair is never a race).
   */
  LockHeld: 17,
  /** The same for a lock held shared (down_read): only an exclusive taker was blocked. */
  LockHeldShared: 18,
} as const;
export type FootprintKind = (typeof FootprintKind)[keyof typeof FootprintKind];

/** Object serials fold into this many bits of a key. */
const SERIAL_BITS = 4096;
const KINDS = 32;

/** The numeric key of (kind, object serial, index); unique for index < 2^36 and serial < 4096. */
export function footprintKey(kind: FootprintKind, serial: number, index: number): number {
  return (index * SERIAL_BITS + (serial & (SERIAL_BITS - 1))) * KINDS + kind;
}

export function keyKind(key: number): FootprintKind {
  return (key % KINDS) as FootprintKind;
}

/** The recorder's switch and the current transition's accesses (keys and modes, duplicates allowed). */
export const FOOTPRINT = {
  on: false,
  keys: [] as number[],
  modes: [] as Access[],
  /** When set (a counterexample's replay), lock operations are written here by name: "takes mm1.ptl". */
  lockLog: null as string[] | null,
};

let nextSerial = 1;

/** A serial for a footprint object (a lock, a page table, a TLB, a secondary MMU). */
export function footprintSerial(): number {
  return nextSerial++;
}

/**
 * Number objects afresh: called before building each execution's world, so that the same object gets
 * the same serial in every execution and footprints kept from one execution (sleep sets) name the same
 * objects in the next.
 */
export function resetFootprintSerials(to = 1): void {
  nextSerial = to;
}

/** The serial the next new object gets (kept with a snapshot, so a restored world numbers new objects alike). */
export function nextFootprintSerial(): number {
  return nextSerial;
}

export function noteAccess(key: number, mode: Access): void {
  FOOTPRINT.keys.push(key);
  FOOTPRINT.modes.push(mode);
}

/**
 * A lock in footprints is two keys: its owner (index 0) and its count of shared holders (index 1).
 * Taken exclusively it needs no owner and no readers, and sets the owner; taken shared it needs no owner
 * and adds a reader, a mark (readers' counts commute).
 */
export function noteTake(serial: number, shared: boolean): void {
  const owner = footprintKey(FootprintKind.Lock, serial, 0);
  const readers = footprintKey(FootprintKind.Lock, serial, 1);
  if (shared) {
    noteAccess(owner, Access.Read);
    noteAccess(readers, Access.Mark);
  } else {
    noteAccess(owner, Access.Write);
    noteAccess(readers, Access.Read);
  }
}

/**
 * A lock is released. One held since before the transition is marked held (check/dpor.ts: no other
 * thread could use it at the transition's start) and its owner written, or its reader count marked. One
 * taken and released within the transition only needed the lock free and leaves it as it was: the owner
 * is only read, the reader count not changed, so two such critical sections conflict only through what
 * they do inside, while a transition that holds the lock across a pause still conflicts with them.
 */
export function noteRelease(serial: number, shared: boolean): void {
  const owner = footprintKey(FootprintKind.Lock, serial, 0);
  const readers = footprintKey(FootprintKind.Lock, serial, 1);
  const { keys, modes } = FOOTPRINT;
  if (shared) {
    for (let i = keys.length - 1; i >= 0; i--)
      if (keys[i] === readers && modes[i] === Access.Mark) {
        keys.splice(i, 1);
        modes.splice(i, 1);
        return;
      }
    noteAccess(footprintKey(FootprintKind.LockHeldShared, serial, 0), Access.Read);
    noteAccess(readers, Access.Mark);
    return;
  }
  let tookItHere = false;
  for (let i = 0; i < keys.length; i++)
    if (keys[i] === owner && modes[i] === Access.Write) {
      modes[i] = Access.Read;
      tookItHere = true;
    }
  if (tookItHere) return;
  noteAccess(footprintKey(FootprintKind.LockHeld, serial, 0), Access.Read);
  noteAccess(owner, Access.Write);
}

/** Record an access when recording is on (the common call; hot paths test FOOTPRINT.on themselves). */
export function note(kind: FootprintKind, serial: number, index: number, mode: Access): void {
  if (FOOTPRINT.on) noteAccess(footprintKey(kind, serial, index), mode);
}

/**
 * One entry of a table whose whole is a key too (index `whole`: a TLB, a spte table): a lookup reads the
 * entry and touches the whole, so that clearing the whole orders against it.
 */
export function noteEntryRead(kind: FootprintKind, serial: number, index: number, whole: number): void {
  noteAccess(footprintKey(kind, serial, index), Access.Read);
  noteAccess(footprintKey(kind, serial, whole), Access.Touch);
}

/**
 * A store to one entry of such a table writes the entry and marks the whole. A store that leaves the
 * entry as it was (two vCPUs installing the same spte, a drop of an absent one) changes nothing, so it is
 * a read: it still orders against every change of the entry, which would make it a real store, but not
 * against readers or other such stores (within one trace every change of the entry keeps its order
 * relative to this store, so it stays a no-op).
 */
export function noteEntryStore(
  kind: FootprintKind,
  serial: number,
  index: number,
  whole: number,
  unchanged: boolean,
): void {
  if (unchanged) noteEntryRead(kind, serial, index, whole);
  else {
    noteAccess(footprintKey(kind, serial, index), Access.Write);
    noteAccess(footprintKey(kind, serial, whole), Access.Mark);
  }
}

/** A recorded transition's footprint: its distinct keys, sorted, each with the set of modes used. */
export interface Footprint {
  /** Sorted keys. */
  readonly keys: Float64Array;
  /** Per key: bit 0 read, bit 1 marked, bit 2 written. */
  readonly modes: Uint8Array;
}

export const EMPTY_FOOTPRINT: Footprint = { keys: new Float64Array(0), modes: new Uint8Array(0) };

/** Footprints up to this many accesses are sorted by insertion (most transitions'); longer ones through a Map. */
const INSERTION_SORTED = 64;

/** Take the accesses recorded since the last call as one footprint, and start a new one. */
export function takeFootprint(): Footprint {
  const keys = FOOTPRINT.keys;
  const modes = FOOTPRINT.modes;
  const n = keys.length;
  if (n === 0) return EMPTY_FOOTPRINT;
  const fp = n <= INSERTION_SORTED ? insertionSorted(keys, modes) : mapSorted(keys, modes);
  keys.length = 0;
  modes.length = 0;
  return fp;
}

/** Each access put in its place in sorted arrays (binary search), equal keys joining their modes. */
function insertionSorted(keys: readonly number[], modes: readonly Access[]): Footprint {
  const k = SORT_KEYS;
  const m = SORT_MODES;
  let len = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (k[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < len && k[lo] === key) {
      m[lo] |= 1 << modes[i];
      continue;
    }
    k.copyWithin(lo + 1, lo, len);
    m.copyWithin(lo + 1, lo, len);
    k[lo] = key;
    m[lo] = 1 << modes[i];
    len++;
  }
  return { keys: k.slice(0, len), modes: m.slice(0, len) };
}

/** Where insertionSorted sorts (then copies out the distinct keys): one allocation per array, not two. */
const SORT_KEYS = new Float64Array(INSERTION_SORTED);
const SORT_MODES = new Uint8Array(INSERTION_SORTED);

function mapSorted(keys: readonly number[], modes: readonly Access[]): Footprint {
  const merged = new Map<number, number>();
  for (let i = 0; i < keys.length; i++) merged.set(keys[i], (merged.get(keys[i]) ?? 0) | (1 << modes[i]));
  const sorted = Float64Array.from(merged.keys()).sort();
  const out = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) out[i] = merged.get(sorted[i])!;
  return { keys: sorted, modes: out };
}

/** Drop what was recorded (accesses made outside any transition: the driver's own look at the state). */
export function discardFootprint(): void {
  FOOTPRINT.keys.length = 0;
  FOOTPRINT.modes.length = 0;
}

const READ = 1;
const MARK = 2;
const WRITE = 4;

/** Mode sets that conflict: anything with a write; a read against a mark. */
function modesConflict(a: number, b: number): boolean {
  if ((a | b) & WRITE) return true; // a touch (8) conflicts with nothing else
  return ((a & READ) !== 0 && (b & MARK) !== 0) || ((a & MARK) !== 0 && (b & READ) !== 0);
}

/** Everything either footprint accessed (the modes of a key both have, joined). */
export function unionFootprints(a: Footprint, b: Footprint): Footprint {
  if (a.keys.length === 0) return b;
  if (b.keys.length === 0) return a;
  const keys: number[] = [];
  const modes: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.keys.length || j < b.keys.length) {
    const x = i < a.keys.length ? a.keys[i] : Number.POSITIVE_INFINITY;
    const y = j < b.keys.length ? b.keys[j] : Number.POSITIVE_INFINITY;
    if (x < y) {
      keys.push(x);
      modes.push(a.modes[i++]);
    } else if (y < x) {
      keys.push(y);
      modes.push(b.modes[j++]);
    } else {
      keys.push(x);
      modes.push(a.modes[i++] | b.modes[j++]);
    }
  }
  return { keys: Float64Array.from(keys), modes: Uint8Array.from(modes) };
}

/** Whether two footprints conflict (a merge of their sorted key lists). */
export function conflicts(a: Footprint, b: Footprint): boolean {
  const ak = a.keys;
  const bk = b.keys;
  let i = 0;
  let j = 0;
  while (i < ak.length && j < bk.length) {
    const x = ak[i];
    const y = bk[j];
    if (x < y) i++;
    else if (y < x) j++;
    else {
      if (modesConflict(a.modes[i], b.modes[j])) return true;
      i++;
      j++;
    }
  }
  return false;
}
