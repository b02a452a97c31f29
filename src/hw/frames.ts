/**
 * Physical memory: a configured number of 4 KiB frames as struct-of-arrays typed arrays (the model's
 * struct page), 18 bytes a frame. Frame 0 is the shared zero page. Allocation and freeing are O(1): freed
 * frames form a list threaded through `index` (a free frame has no page index), and frames never handed
 * out are taken in address order after them — the same order a LIFO free stack seeded low-first gives.
 */

import { BigMap } from '../sim/big-map.js';
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

/** mapcount is 8 bits wide in the table; the rarer larger counts (KSM pages, many forks) overflow into a map. */
const MAPCOUNT_OVERFLOW = 0xff;

export class FrameTable {
  readonly refcount: Int32Array;
  readonly flags: Uint8Array;
  /** Hash-consed content id of the frame's bytes (see ContentStore). */
  readonly content: Uint32Array;
  /**
   * anon_vma id (0 = none) and page index within it: the anonymous rmap (page->mapping, page->index).
   * While a frame is free, its `index` links the free list.
   */
  readonly anonVma: Uint32Array;
  readonly index: Uint32Array;
  private readonly mapcount8: Uint8Array;
  private readonly mapcountBig = new BigMap<number, number>();
  /** Frames from here to the end have never been handed out. */
  private fresh = 1;
  /** The most recently freed frame (0: none); each free frame's `index` names the next. */
  private freeHead = 0;
  private freeCount: number;
  /**
   * Frames whose refcount, mapcount or allocation changed since the invariant checker last looked (null
   * when nobody checks). The table's own methods add to it; code that writes `refcount` directly calls
   * `touch`.
   */
  touched: PfnSet | null = null;
  /** Frames whose bytes (content id) changed since the invariant checker last looked (null: nobody checks). */
  rewritten: PfnSet | null = null;

  constructor(readonly count: number) {
    if (count < 2) throw new RangeError('a machine needs at least 2 frames');
    this.refcount = new Int32Array(count);
    this.flags = new Uint8Array(count);
    this.content = new Uint32Array(count);
    this.anonVma = new Uint32Array(count);
    this.index = new Uint32Array(count);
    this.mapcount8 = new Uint8Array(count);
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

  /** A free frame with refcount 1, or -1 when memory is exhausted (the caller turns that into ENOMEM). */
  alloc(): number {
    let pfn = this.freeHead;
    if (pfn !== 0) this.freeHead = this.index[pfn];
    else if (this.fresh < this.count) pfn = this.fresh++;
    else return -1;
    this.freeCount--;
    this.refcount[pfn] = 1;
    this.flags[pfn] = 0;
    this.content[pfn] = 0;
    this.anonVma[pfn] = 0;
    this.index[pfn] = 0;
    this.mapcount8[pfn] = 0;
    this.touched?.add(pfn);
    return pfn;
  }

  /** Note a refcount change made outside this table's methods (get_page / put_page). */
  touch(pfn: number): void {
    this.touched?.add(pfn);
  }

  /** Note a store into the frame's bytes (a new content id). */
  touchContent(pfn: number): void {
    this.rewritten?.add(pfn);
  }

  isFree(pfn: number): boolean {
    return pfn !== ZERO_PFN && this.refcount[pfn] === 0;
  }

  /** Return a frame whose refcount reached zero (free_unref_page). */
  release(pfn: number): void {
    this.flags[pfn] = 0;
    this.mapcount8[pfn] = 0;
    this.mapcountBig.delete(pfn);
    this.index[pfn] = this.freeHead;
    this.freeHead = pfn;
    this.freeCount++;
    this.touched?.add(pfn);
  }

  mapcount(pfn: number): number {
    const m = this.mapcount8[pfn];
    return m === MAPCOUNT_OVERFLOW ? this.mapcountBig.get(pfn)! : m;
  }

  incMapcount(pfn: number): void {
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
