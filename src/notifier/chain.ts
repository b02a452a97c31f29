/**
 * One mm's notifier subscriptions and their dispatch (struct mmu_notifier_subscriptions and
 * mm/mmu_notifier.c, v5.0 list dispatch + v5.5 interval tree). Implements the port the primary MMU
 * calls. It also remembers which invalidation ranges are open, for the coherence invariant.
 */
import { PAGE_SIZE } from '../hw/page.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  type MmuNotifierPort,
  type NotifierRange,
} from '../mm/notifier-port.js';
import { type Agent, type Path, waitEvent } from '../sim/exec.js';
import { Access, FOOTPRINT, FootprintKind, note } from '../sim/footprint.js';
import type { MmuIntervalNotifier, MmuNotifier } from './ops.js';
import { mmuNotifierRangeBlockable } from './range.js';

/** The parts of a chain's state that footprints name apart (NotifierChain.noteChain). */
const SUBSCRIPTIONS = 0;
const OPEN_RANGES = 1;
const INTERVAL_SEQ = 2;
type ChainPart = typeof SUBSCRIPTIONS | typeof OPEN_RANGES | typeof INTERVAL_SEQ;

export class NotifierChain implements MmuNotifierPort {
  /** Most recently registered first (hlist_add_head). */
  readonly list: MmuNotifier[] = [];
  /** The interval tree, kept as an array sorted by start. */
  readonly itree: MmuIntervalNotifier[] = [];
  /** Even when idle, odd while an invalidation that hit an interval is in progress (starts at 2). */
  invalidateSeq = 2;
  activeInvalidateRanges = 0;
  /** Inserts and removals that arrived during an invalidation, applied at its end. */
  private readonly deferred: { op: 'insert' | 'remove'; sub: MmuIntervalNotifier }[] = [];
  /** Ranges between start and end right now (more than one when paths interleave). */
  readonly openRanges: NotifierRange[] = [];
  released = false;
  /**
   * Ranges that entered the interval-tree accounting at start, so end leaves it exactly once. A Set, not
   * a WeakSet: end removes each range, and a World snapshot (sim/snapshot.ts) must see the entries.
   */
  private readonly itreeRanges = new Set<NotifierRange>();

  constructor(
    private readonly k: Kernel,
    readonly mm: Mm,
  ) {}

  /**
   * The chain's state in footprints, three keys: the subscriptions (list and interval tree: a dispatch
   * reads them, (un)registering writes them), the open ranges (a start adds one and its end removes it:
   * set operations on distinct ranges commute, so they are marks; `covers` reads them) and the interval
   * tree's invalidation state (invalidate_seq, active ranges, deferred changes). A path that waits in
   * readBegin reads the sequence again when it wakes, inside its own transition.
   */
  private noteChain(part: ChainPart, mode: Access): void {
    note(FootprintKind.NotifierChain, this.mm.id, part, mode);
  }

  get empty(): boolean {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Read);
    return this.list.length === 0 && this.itree.length === 0;
  }

  /** Is `address` inside a range whose start has run and whose end has not? */
  covers(address: number): boolean {
    if (FOOTPRINT.on) this.noteChain(OPEN_RANGES, Access.Read);
    for (const r of this.openRanges) if (address >= r.start && address < r.end) return true;
    return false;
  }

  // ---- subscriptions ----

  add(mn: MmuNotifier): void {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Write);
    this.list.unshift(mn);
  }

  remove(mn: MmuNotifier): void {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Write);
    const i = this.list.indexOf(mn);
    if (i >= 0) this.list.splice(i, 1);
  }

  /** mmu_interval_notifier_insert (mm/mmu_notifier.c v5.5 __mmu_interval_notifier_insert). */
  insertInterval(sub: MmuIntervalNotifier): void {
    if (FOOTPRINT.on) {
      this.noteChain(SUBSCRIPTIONS, Access.Write);
      this.noteChain(INTERVAL_SEQ, Access.Write);
    }
    if (this.activeInvalidateRanges > 0) {
      if (this.invalidateSeq & 1) {
        // an invalidation is running: it must not see the new interval; insert when it ends
        this.deferred.push({ op: 'insert', sub });
      } else {
        this.invalidateSeq |= 1;
        this.itreeInsert(sub);
      }
      sub.invalidateSeq = this.invalidateSeq;
    } else {
      this.itreeInsert(sub);
      sub.invalidateSeq = this.invalidateSeq - 1; // odd and not current: read_begin will not wait
    }
  }

  /** mmu_interval_notifier_remove: waits for a running invalidation to finish first. */
  *removeInterval(agent: Agent, sub: MmuIntervalNotifier): Path {
    if (FOOTPRINT.on) {
      this.noteChain(SUBSCRIPTIONS, Access.Write);
      this.noteChain(INTERVAL_SEQ, Access.Write);
    }
    void agent;
    if (this.activeInvalidateRanges > 0 && this.invalidateSeq & 1) {
      this.deferred.push({ op: 'remove', sub });
      const seq = this.invalidateSeq;
      yield* waitEvent('mmu_interval_notifier_remove', () => this.invalidateSeq !== seq);
    } else this.itreeRemove(sub);
  }

  private itreeInsert(sub: MmuIntervalNotifier): void {
    let i = 0;
    while (i < this.itree.length && this.itree[i].start <= sub.start) i++;
    this.itree.splice(i, 0, sub);
  }

  private itreeRemove(sub: MmuIntervalNotifier): void {
    const i = this.itree.indexOf(sub);
    if (i >= 0) this.itree.splice(i, 1);
  }

  // ---- interval-notifier read side (mmu_interval_read_begin / read_retry) ----

  /** mmu_interval_read_begin: the sequence to check later; sleeps while an invalidation of it runs. */
  *readBegin(sub: MmuIntervalNotifier): Path<number> {
    if (FOOTPRINT.on) this.noteChain(INTERVAL_SEQ, Access.Read);
    const seq = sub.invalidateSeq;
    if (seq === this.invalidateSeq) {
      yield* waitEvent(`mmu_interval_read_begin(${sub.name})`, () => this.invalidateSeq !== seq);
      if (FOOTPRINT.on) this.noteChain(INTERVAL_SEQ, Access.Read);
    }
    return seq;
  }

  // ---- dispatch: the port the primary MMU calls ----

  *invalidateRangeStart(agent: Agent, range: NotifierRange): Path<number> {
    if (FOOTPRINT.on) {
      this.noteChain(SUBSCRIPTIONS, Access.Read);
      this.noteChain(OPEN_RANGES, Access.Mark);
      if (this.itree.length > 0) this.noteChain(INTERVAL_SEQ, Access.Write);
    }
    this.k.notifierCounters.invalidateRangeStart.inc();
    this.openRanges.push(range);
    let ret = 0;
    if (this.itree.length > 0) {
      this.itreeRanges.add(range);
      ret = yield* this.itreeInvalidate(agent, range);
      if (ret !== 0) return ret;
    }
    for (const mn of [...this.list]) {
      if (mn.ops.invalidateRangeStart === undefined) continue;
      const r = yield* mn.ops.invalidateRangeStart(agent, range);
      if (r !== 0) ret = r; // only non-blockable starts may fail; the loop goes on
    }
    return ret;
  }

  /** mn_itree_invalidate: mark the sequence odd if any interval overlaps, then call each overlapping one. */
  private *itreeInvalidate(agent: Agent, range: NotifierRange): Path<number> {
    this.activeInvalidateRanges++;
    const hits = this.itree.filter((s) => s.overlaps(range.start, range.end));
    if (hits.length > 0) this.invalidateSeq |= 1;
    const seq = this.invalidateSeq;
    for (const sub of hits) {
      const ok = yield* sub.ops.invalidate(agent, sub, range, seq);
      if (!ok && !mmuNotifierRangeBlockable(range)) {
        this.itreeRanges.delete(range);
        this.itreeInvEnd();
        return -11; // -EAGAIN
      }
    }
    return 0;
  }

  /** mn_itree_inv_end: the last active range to finish makes the sequence even and wakes readers. */
  private itreeInvEnd(): void {
    this.activeInvalidateRanges--;
    if (this.activeInvalidateRanges > 0 || !(this.invalidateSeq & 1)) return;
    this.invalidateSeq++;
    for (const d of this.deferred.splice(0)) {
      if (d.op === 'insert') this.itreeInsert(d.sub);
      else this.itreeRemove(d.sub);
    }
  }

  *invalidateRangeEnd(agent: Agent, range: NotifierRange, onlyEnd: boolean): Path {
    if (FOOTPRINT.on) {
      this.noteChain(SUBSCRIPTIONS, Access.Read);
      this.noteChain(OPEN_RANGES, Access.Mark);
      this.noteChain(INTERVAL_SEQ, this.itreeRanges.has(range) ? Access.Write : Access.Read);
    }
    this.k.notifierCounters.invalidateRangeEnd.inc();
    if (this.itreeRanges.has(range)) {
      this.itreeRanges.delete(range);
      this.itreeInvEnd();
    }
    for (const mn of [...this.list]) {
      if (!onlyEnd && mn.ops.invalidateRange !== undefined)
        yield* mn.ops.invalidateRange(agent, range.mm, range.start, range.end);
      if (mn.ops.invalidateRangeEnd !== undefined) yield* mn.ops.invalidateRangeEnd(agent, range);
    }
    const i = this.openRanges.indexOf(range);
    if (i >= 0) this.openRanges.splice(i, 1);
  }

  *invalidateRange(agent: Agent, mm: Mm, start: number, end: number): Path {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Read);
    for (const mn of [...this.list]) {
      if (mn.ops.invalidateRange !== undefined) yield* mn.ops.invalidateRange(agent, mm, start, end);
    }
  }

  *cpuTlbFlushed(agent: Agent, mm: Mm, start: number, end: number): Path {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Read);
    yield* this.invalidateRange(agent, mm, start, end);
  }

  *changePte(agent: Agent, mm: Mm, address: number, pte: number): Path {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Read);
    this.k.notifierCounters.changePte.inc();
    const fallback = this.k.profile.changePteFallsBackToInvalidatePage;
    for (const mn of [...this.list]) {
      if (mn.ops.changePte !== undefined) yield* mn.ops.changePte(agent, mm, address, pte);
      else if (fallback) yield* this.invalidatePage(agent, mn, address);
    }
    if (fallback) {
      // interval subscribers have no change_pte: before v3.7 they would have been told invalidate_page
      const hits = this.itree.filter((s) => s.overlaps(address, address + PAGE_SIZE));
      if (hits.length > 0) {
        if (FOOTPRINT.on) this.noteChain(INTERVAL_SEQ, Access.Write);
        const range = this.pageRange(address);
        this.invalidateSeq |= 1;
        this.activeInvalidateRanges++;
        for (const sub of hits) yield* sub.ops.invalidate(agent, sub, range, this.invalidateSeq);
        this.itreeInvEnd();
      }
    }
  }

  /** The pre-v3.7 ->invalidate_page fallback, expressed as a one-page start/end on one subscriber. */
  private *invalidatePage(agent: Agent, mn: MmuNotifier, address: number): Path {
    const range = this.pageRange(address);
    if (mn.ops.invalidateRangeStart !== undefined) yield* mn.ops.invalidateRangeStart(agent, range);
    if (mn.ops.invalidateRangeEnd !== undefined) yield* mn.ops.invalidateRangeEnd(agent, range);
  }

  private pageRange(address: number): NotifierRange {
    return {
      by: 'invalidate_page',
      mm: this.mm,
      vma: this.mm.findVma(address) ?? null,
      start: address,
      end: address + PAGE_SIZE,
      event: MMU_NOTIFY_CLEAR,
      flags: MMU_NOTIFIER_RANGE_BLOCKABLE,
    };
  }

  *clearFlushYoung(agent: Agent, mm: Mm, start: number, end: number): Path<boolean> {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Read);
    let young = false;
    for (const mn of [...this.list]) {
      if (mn.ops.clearFlushYoung !== undefined)
        young = (yield* mn.ops.clearFlushYoung(agent, mm, start, end)) || young;
    }
    return young;
  }

  *clearYoung(agent: Agent, mm: Mm, start: number, end: number): Path<boolean> {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Read);
    this.k.notifierCounters.clearYoung.inc();
    let young = false;
    for (const mn of [...this.list]) {
      if (mn.ops.clearYoung !== undefined) young = (yield* mn.ops.clearYoung(agent, mm, start, end)) || young;
    }
    return young;
  }

  *testYoung(agent: Agent, mm: Mm, address: number): Path<boolean> {
    if (FOOTPRINT.on) this.noteChain(SUBSCRIPTIONS, Access.Read);
    for (const mn of [...this.list]) {
      if (mn.ops.testYoung !== undefined && (yield* mn.ops.testYoung(agent, mm, address))) return true;
    }
    return false;
  }

  /**
   * __mmu_notifier_release (exit_mmap): every subscriber's ->release, and they leave the list; interval
   * subscribers get a RELEASE invalidation of the whole address space.
   */
  *release(agent: Agent, mm: Mm): Path {
    if (FOOTPRINT.on) {
      this.noteChain(SUBSCRIPTIONS, Access.Write);
      this.noteChain(INTERVAL_SEQ, Access.Write);
    }
    this.k.notifierCounters.release.inc();
    this.released = true;
    if (this.itree.length > 0) {
      const range: NotifierRange = {
        by: 'exit_mmap',
        mm,
        vma: null,
        start: 0,
        end: 2 ** 48,
        event: 5, // MMU_NOTIFY_RELEASE
        flags: MMU_NOTIFIER_RANGE_BLOCKABLE,
      };
      this.activeInvalidateRanges++;
      this.invalidateSeq |= 1;
      for (const sub of [...this.itree]) yield* sub.ops.invalidate(agent, sub, range, this.invalidateSeq);
      this.itreeInvEnd();
    }
    for (const mn of this.list.splice(0)) {
      if (mn.ops.release !== undefined) yield* mn.ops.release(agent, mm);
    }
  }
}
