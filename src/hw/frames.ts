/**
 * Physical memory: a configured number of 4 KiB frames as struct-of-arrays typed arrays (the model's
 * struct page), 18 bytes a frame. Frame 0 is the shared zero page. Allocation and freeing are O(1): freed
 * frames form a list threaded through `index` (a free frame has no page index), and frames never handed
 * out are taken in address order after them — the same order a LIFO free stack seeded low-first gives.
 */

import { BigMap } from '../sim/big-map.js';
import {
  Access,
  FOOTPRINT,
  FootprintKind,
  footprintKey,
  footprintSerial,
  note,
  noteAccess,
} from '../sim/footprint.js';
import { zeroFrom } from '../sim/snapshot.js';
import type { PfnSet } from './pfn-set.js';

export const ZERO_PFN = 0;

/** Frame flags (a subset of the kernel's page flags). */
export const PG_ANON = 1;
export const PG_KSM = 2;
export const PG_ZERO = 4;
export const PG_DIRTY = 8;
export const PG_LOCKED = 16;
/** PageAnonExclusive (v5.19+): this mm alone may write the page without a COW. */
export const PG_ANON_EXCLUSIVE = 32;

// Footprint modes as module-private constants, which V8 folds (an imported binding is a module cell every
// use loads and checks): they keep the accessors below small enough to be inlined into the hot paths.
const READ = Access.Read;
const MARK = Access.Mark;
const WRITE = Access.Write;

/** A frame's footprint fields (FrameTable.noteFrame). */
const REF = 0;
const MAP = 1;
const FLAGS = 2;
const DATA = 3;
const RMAP = 4;

/** mapcount is 8 bits wide in the table; the rarer larger counts (KSM pages, many forks) overflow into a map. */
const MAPCOUNT_OVERFLOW = 0xff;

/** How often FrameTable.onFreshFrames is called, in frames used for the first time (16 MiB of RAM). */
export const FRESH_FRAMES_PER_CALL = 4096;

/** The typed arrays a per-frame array can be. */
export type PerFrameArray = Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array;

interface PerFrameEntry {
  readonly array: PerFrameArray;
  /** Frames sharing one element (32 for a bitset). */
  readonly framesPerElement: number;
}

export class FrameTable {
  private readonly refcount: Int32Array;
  private readonly flags: Uint8Array;
  /** Hash-consed content id of the frame's bytes (see ContentStore). */
  private readonly content: Uint32Array;
  /**
   * anon_vma id (0 = none) and page index within it: the anonymous rmap (page->mapping, page->index).
   * While a frame is free, its `index` links the free list.
   */
  private readonly anonVma: Uint32Array;
  private readonly index: Uint32Array;
  /**
   * The arrays themselves, for whole-memory sweeps (the invariant checker's, fingerprints, reports) that
   * are no kernel path's and must not enter a transition's footprint. Kernel paths use the accessors.
   */
  readonly raw: {
    readonly refcount: Int32Array;
    readonly flags: Uint8Array;
    readonly content: Uint32Array;
    readonly anonVma: Uint32Array;
    readonly index: Uint32Array;
  };
  /** The table's name in footprints. */
  private readonly serial = footprintSerial();
  private readonly mapcount8: Uint8Array;
  private readonly mapcountBig = new BigMap<number, number>();
  /** Frames from here to the end have never been handed out. */
  private fresh = 1;
  /**
   * Frames from here to the end have never been handed out nor stored into: only a broken secondary
   * stores into a frame that is free (accessFrame), and one never handed out only through a made-up
   * translation (the checker's tests make such), but its bytes and marks then land past `fresh`.
   */
  private writtenBelow = 1;
  /** The most recently freed frame (0: none); each free frame's `index` names the next. */
  private freeHead = 0;
  private freeCount: number;
  /**
   * Frames whose refcount, mapcount or allocation changed since the invariant checker last looked (null
   * when nobody checks). The table's own methods add to it.
   */
  touched: PfnSet | null = null;
  /** Frames whose bytes (content id) changed since the invariant checker last looked (null: nobody checks). */
  rewritten: PfnSet | null = null;

  /** Every array indexed by frame number (perFrame), with how many frames share one of its elements. */
  private readonly perFrameArrays: PerFrameEntry[] = [];

  constructor(readonly count: number) {
    if (count < 2) throw new RangeError('a machine needs at least 2 frames');
    this.refcount = this.perFrame(Int32Array);
    this.flags = this.perFrame(Uint8Array);
    this.content = this.perFrame(Uint32Array);
    this.anonVma = this.perFrame(Uint32Array);
    this.index = this.perFrame(Uint32Array);
    this.mapcount8 = this.perFrame(Uint8Array);
    this.raw = {
      refcount: this.refcount,
      flags: this.flags,
      content: this.content,
      anonVma: this.anonVma,
      index: this.index,
    };
    this.freeCount = count - 1;
    this.flags[ZERO_PFN] = PG_ZERO;
    this.refcount[ZERO_PFN] = 1; // reserved; mappings of the zero page are not counted (pte_special)
  }

  get free(): number {
    return this.freeCount;
  }

  get used(): number {
    return this.count - 1 - this.freeCount;
  }

  /** Frames below this pfn have been handed out at some time (those above never were). */
  get everUsedBelow(): number {
    return this.fresh;
  }

  /** Per-frame state can be non-zero below this pfn only: frames handed out, or stored into (writtenBelow). */
  get usedBelow(): number {
    return Math.max(this.fresh, this.writtenBelow);
  }

  /**
   * A new zeroed array indexed by frame number (a bitset: `framesPerElement` 32), of this table's or of
   * anyone keeping per-frame state (KSM, the invariant checker). Its owner writes it only at frames
   * handed out or stored into (usedBelow), so a snapshot restores only that part (usedBytes).
   */
  perFrame<A extends PerFrameArray>(make: new (length: number) => A, framesPerElement = 1): A {
    const array = new make(Math.ceil(this.count / framesPerElement));
    this.perFrameArrays.push({ array, framesPerElement });
    return array;
  }

  /**
   * Whether every per-frame array is zero past the frames handed out, as snapshots assume (perFrame);
   * a run's end asks.
   */
  perFrameArraysClean(): boolean {
    for (const a of this.perFrameArrays) if (!zeroFrom(a.array.buffer, this.usedEnd(a))) return false;
    return true;
  }

  /** Where in its buffer the part of a per-frame array that frames in use cover ends (bytes). */
  private usedEnd({ array, framesPerElement }: PerFrameEntry): number {
    return Math.ceil(this.usedBelow / framesPerElement) * array.BYTES_PER_ELEMENT + array.byteOffset;
  }

  /** For a snapshot: each per-frame array's buffer, and how many of its bytes the frames handed out cover. */
  usedBytes(): Map<ArrayBufferLike, () => number> {
    const out = new Map<ArrayBufferLike, () => number>();
    for (const a of this.perFrameArrays) out.set(a.array.buffer, () => this.usedEnd(a));
    return out;
  }

  /**
   * Called each time another FRESH_FRAMES_PER_CALL frames have been handed out for the first time: the
   * host memory mmsim itself uses grows with the frames a run has used (page tables, contents, the
   * checker's records), so a watchdog looks here (cli/host-memory.ts).
   */
  onFreshFrames: (() => void) | null = null;

  /** A free frame with refcount 1, or -1 when memory is exhausted (the caller turns that into ENOMEM). */
  alloc(): number {
    if (FOOTPRINT.on) note(FootprintKind.FrameAlloc, this.serial, 0, Access.Write);
    let pfn = this.freeHead;
    if (pfn !== 0) this.freeHead = this.index[pfn];
    else if (this.fresh < this.count) {
      pfn = this.fresh++;
      if (pfn % FRESH_FRAMES_PER_CALL === 0) this.onFreshFrames?.();
    } else return -1;
    this.freeCount--;
    this.refcount[pfn] = 1;
    this.flags[pfn] = 0;
    this.content[pfn] = 0;
    this.anonVma[pfn] = 0;
    this.index[pfn] = 0;
    this.mapcount8[pfn] = 0;
    this.touched?.add(pfn);
    if (FOOTPRINT.on) this.noteWholeFrame(pfn);
    return pfn;
  }

  /** Note a store into the frame's bytes (a new content id). */
  touchContent(pfn: number): void {
    if (pfn >= this.writtenBelow) this.writtenBelow = pfn + 1;
    this.rewritten?.add(pfn);
  }

  /**
   * A frame's fields are separate footprint keys (index pfn * 8 + field): a guest reading the bytes and
   * ksmd taking a reference do not conflict; ksmd's checksum and a write to the bytes do.
   */
  private noteFrame(pfn: number, mode: Access, field: number): void {
    // (mapcount changes are marks too: page_dup_rmap and page_remove_rmap of two threads commute)
    noteAccess(footprintKey(FootprintKind.Frame, this.serial, pfn * 8 + field), mode);
  }

  /** Every field of the frame: allocation and freeing. */
  private noteWholeFrame(pfn: number): void {
    for (let field = REF; field <= RMAP; field++) this.noteFrame(pfn, WRITE, field);
  }

  isFree(pfn: number): boolean {
    if (FOOTPRINT.on) this.noteFrame(pfn, READ, REF);
    return pfn !== ZERO_PFN && this.refcount[pfn] === 0;
  }

  /** page_count(). */
  refcountOf(pfn: number): number {
    if (FOOTPRINT.on) this.noteFrame(pfn, READ, REF);
    return this.refcount[pfn];
  }

  /**
   * page_ref_add / page_ref_sub: the new count. In footprints a mark: two threads' references commute,
   * and a reader of the count (page_count) or the freeing at zero (release) orders against them.
   */
  addRef(pfn: number, delta: number): number {
    if (FOOTPRINT.on) this.noteFrame(pfn, MARK, REF);
    const count = (this.refcount[pfn] += delta);
    this.touched?.add(pfn);
    return count;
  }

  flagsOf(pfn: number): number {
    if (FOOTPRINT.on) this.noteFrame(pfn, READ, FLAGS);
    return this.flags[pfn];
  }

  /** SetPageX for every bit in `bits`. */
  setFlags(pfn: number, bits: number): void {
    if (FOOTPRINT.on) this.noteFrame(pfn, WRITE, FLAGS);
    this.flags[pfn] |= bits;
  }

  /** ClearPageX for every bit in `bits`. */
  clearFlags(pfn: number, bits: number): void {
    if (FOOTPRINT.on) this.noteFrame(pfn, WRITE, FLAGS);
    this.flags[pfn] &= ~bits;
  }

  /** The content id of the frame's bytes. */
  contentOf(pfn: number): number {
    if (FOOTPRINT.on) this.noteFrame(pfn, READ, DATA);
    return this.content[pfn];
  }

  /** Store new bytes (a content id) in the frame; the caller keeps the content store's references. */
  setContent(pfn: number, content: number): void {
    if (FOOTPRINT.on) this.noteFrame(pfn, WRITE, DATA);
    this.content[pfn] = content;
    this.touchContent(pfn);
  }

  /** page->mapping of an anonymous page: its anon_vma id (0: none). */
  anonVmaOf(pfn: number): number {
    if (FOOTPRINT.on) this.noteFrame(pfn, READ, RMAP);
    return this.anonVma[pfn];
  }

  /** page->index within the anon_vma. */
  pageIndexOf(pfn: number): number {
    if (FOOTPRINT.on) this.noteFrame(pfn, READ, RMAP);
    return this.index[pfn];
  }

  /** page_set_anon_rmap's page->mapping and page->index. */
  setAnonRmap(pfn: number, anonVma: number, index: number): void {
    if (FOOTPRINT.on) this.noteFrame(pfn, WRITE, RMAP);
    this.anonVma[pfn] = anonVma;
    this.index[pfn] = index;
  }

  /** Return a frame whose refcount reached zero (free_unref_page). */
  release(pfn: number): void {
    if (FOOTPRINT.on) {
      note(FootprintKind.FrameAlloc, this.serial, 0, Access.Write);
      this.noteWholeFrame(pfn);
    }
    this.flags[pfn] = 0;
    this.mapcount8[pfn] = 0;
    this.mapcountBig.delete(pfn);
    this.index[pfn] = this.freeHead;
    this.freeHead = pfn;
    this.freeCount++;
    this.touched?.add(pfn);
  }

  mapcount(pfn: number): number {
    if (FOOTPRINT.on) this.noteFrame(pfn, READ, MAP);
    const m = this.mapcount8[pfn];
    return m === MAPCOUNT_OVERFLOW ? this.mapcountBig.get(pfn)! : m;
  }

  incMapcount(pfn: number): void {
    if (FOOTPRINT.on) this.noteFrame(pfn, MARK, MAP);
    this.touched?.add(pfn);
    const m = this.mapcount8[pfn];
    if (m < MAPCOUNT_OVERFLOW - 1) this.mapcount8[pfn] = m + 1;
    else if (m === MAPCOUNT_OVERFLOW) this.mapcountBig.set(pfn, this.mapcountBig.get(pfn)! + 1);
    else {
      this.mapcount8[pfn] = MAPCOUNT_OVERFLOW;
      this.mapcountBig.set(pfn, m + 1);
    }
  }

  decMapcount(pfn: number): void {
    if (FOOTPRINT.on) this.noteFrame(pfn, MARK, MAP);
    this.touched?.add(pfn);
    const m = this.mapcount8[pfn];
    if (m !== MAPCOUNT_OVERFLOW) {
      this.mapcount8[pfn] = m - 1;
      return;
    }
    const big = this.mapcountBig.get(pfn)! - 1;
    if (big < MAPCOUNT_OVERFLOW - 1) {
      this.mapcount8[pfn] = big;
      this.mapcountBig.delete(pfn);
    } else this.mapcountBig.set(pfn, big);
  }
}
