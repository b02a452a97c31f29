/**
 * ksmd's scan cursor over the mm_slots (mm/ksm.c v5.0 struct ksm_scan, scan_get_next_rmap_item,
 * get_next_rmap_item, remove_trailing_rmap_items, __ksm_enter, ksm_exit): where the next page comes
 * from, and the sorted rmap_list of each mm that follows the cursor.
 */
import { PG_ANON, PG_KSM } from '../../hw/frames.js';
import { PTRS_PER_PTE, ptePageBase, vpnAddress, vpnOf } from '../../hw/page.js';
import { ptePfn, ptePresent, pteSpecial } from '../../hw/pte.js';
import {
  DONE,
  type Lock,
  lockShared,
  type Path,
  preempt,
  preemptPoint,
  unlockShared,
} from '../../sim/exec.js';
import type { Mm } from '../mm.js';
import { VM_MERGEABLE, type Vma } from '../vma.js';
import { ATTACH_KEY, type KsmState, MmSlot } from './state.js';
import { NO_ITEM } from './store.js';
import type { KsmTrees } from './trees.js';

/** A down_read of `sem` that has to sleep: `acquire`, run to its end, holds it. */
interface MmapSemWait {
  sem: Lock;
  acquire: Path;
}

function isWait(x: number | MmapSemWait): x is MmapSemWait {
  return typeof x !== 'number';
}

/**
 * Did scanGetNextRmapItem answer at once (an rmap item, or NO_ITEM)? Else it has to sleep and answers
 * as a path. ksmd asks millions of times and almost always gets an answer at once, so that is neither
 * wrapped in a path nor in an object.
 */
export function answered(next: number | Path<number>): next is number {
  return typeof next === 'number';
}

const P_LRU_DRAIN = preemptPoint(
  'scan_get_next_rmap_item: lru_add_drain_all, before taking the first mm_slot',
);

/** Where scan_get_next_rmap_item puts the page it found (its `struct page **page` argument). */
export interface ScanPage {
  pfn: number;
}

/** Index of the first vma whose end is above `addr` (find_vma). */
function findVmaIndex(vmas: readonly Vma[], addr: number): number {
  let lo = 0;
  let hi = vmas.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (vmas[mid].end <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** struct ksm_scan: the cursor, and the list of mm_slots it walks. */
export class KsmScan {
  private slot: MmSlot;
  /** The cursor's address, as a page number. */
  private vpn = 0;
  /** The item whose `next` is ksm_scan.rmap_list (NO_ITEM: the slot's head). */
  private prev = NO_ITEM;
  /** This full scan's lru_add_drain_all has run (and may have slept); the first mm_slot is still to come. */
  private drained = false;

  constructor(
    private readonly s: KsmState,
    private readonly trees: KsmTrees,
  ) {
    this.slot = s.head;
  }

  /** Is any mm registered? */
  hasWork(): boolean {
    return this.s.head.next !== this.s.head;
  }

  /**
   * scan_get_next_rmap_item (v5.0): the rmap item of the next anonymous page under the cursor, the page
   * itself (follow_page FOLL_GET: referenced) in `page`; NO_ITEM when a full scan has just completed (or
   * no mm is registered). Waits, as down_read does, while the next mm's mmap_sem is held for write; the
   * cursor stays where it was meanwhile.
   */
  scanGetNextRmapItem(page: ScanPage): number | Path<number> {
    const head = this.s.head;
    if (this.slot === head && head.next !== head && !this.drained) return this.drainThenScan(page);
    const next = this.walk(null, page);
    return isWait(next) ? this.waitThenScan(next, page) : next;
  }

  /**
   * A full scan starts with lru_add_drain_all, which may sleep; ksmd holds no rmap item meanwhile, so
   * exits are not deferred (and the last mm may leave the list: CVE-2011-2183).
   */
  private *drainThenScan(page: ScanPage): Path<number> {
    this.drained = true;
    this.s.busy = false;
    yield* preempt(P_LRU_DRAIN);
    this.s.busy = true;
    const next = this.scanGetNextRmapItem(page);
    return answered(next) ? next : yield* next;
  }

  /** down_read of the cursor's mm slept until the writer was gone: the walk goes on holding it. */
  private *waitThenScan(wait: MmapSemWait, page: ScanPage): Path<number> {
    let next: number | MmapSemWait = wait;
    while (isWait(next)) {
      yield* next.acquire;
      next = this.walk(next.sem, page);
    }
    return next;
  }

  /**
   * The cursor's walk, under each mm's mmap_sem in turn (down_read, taken here unless `held` already is);
   * when one is write-held, the down_read to wait on (the cursor stays on that mm).
   */
  private walk(held: Lock | null, found: ScanPage): number | MmapSemWait {
    const s = this.s;
    const head = s.head;
    if (held !== null && this.slot.mm?.mmapLock !== held) {
      unlockShared(held); // the cursor's mm_slot went while ksmd slept: nothing to walk under it
      held = null;
    }
    // list_empty was tested before lru_add_drain_all slept: not again after it
    if (head.next === head && !this.drained) return NO_ITEM;
    let slot = this.slot;
    if (slot === head) {
      this.drained = false;
      // a new full scan: the unstable tree starts empty (root_unstable_tree = RB_ROOT)
      this.trees.unstable.clear();
      slot = head.next;
      this.slot = slot;
      if (slot === head) {
        // the last mm exited while ksmd slept (CVE-2011-2183): the fix returns here
        if (s.k.profile.ksmScanRevalidatesSlot) return NO_ITEM;
        const report = {
          invariant: 'use-after-free',
          message:
            'ksmd takes the mm_slot list head for an mm_slot and dereferences its mm (NULL): the last mm left the list while ksmd slept in lru_add_drain_all (CVE-2011-2183)',
          agents: [s.agent.name],
          addresses: [],
        };
        for (const o of s.k.observers) o.onViolation?.(report);
        return NO_ITEM;
      }
      this.vpn = 0;
      this.prev = NO_ITEM;
      s.log('full scan begins', null, -1, `seqnr ${s.seqnr}`);
    }
    for (;;) {
      const mm = slot.mm!;
      if (held !== mm.mmapLock) {
        const acquire = lockShared(s.agent, mm.mmapLock);
        if (acquire !== DONE) return { sem: mm.mmapLock, acquire };
      }
      held = null;
      if (!mm.exiting) {
        const item = this.scanMm(slot, mm, found);
        if (item !== NO_ITEM) {
          unlockShared(mm.mmapLock);
          return item;
        }
      }
      if (mm.exiting) {
        this.vpn = 0;
        this.prev = NO_ITEM;
      }
      // nuke the rmap items above the cursor: no VM_MERGEABLE vma has those addresses now
      this.removeTrailingRmapItems(slot, this.prev);
      const next = slot.next;
      if (this.vpn === 0) this.freeSlot(slot); // no mergeable vma (or exiting): as __ksm_exit would
      unlockShared(mm.mmapLock);
      this.slot = next;
      this.vpn = 0;
      this.prev = NO_ITEM;
      if (next !== head) {
        slot = next;
        continue;
      }
      s.seqnr++;
      s.cv[s.c.fullScans] = s.seqnr;
      s.log('full scan done', null, -1, `full_scans ${s.seqnr}`);
      return NO_ITEM;
    }
  }

  /**
   * The cursor's mm from the cursor on (its mmap_sem held): the rmap item of the next anonymous page of a
   * VM_MERGEABLE vma (the page referenced, in `found`), or NO_ITEM with the cursor past the last one.
   */
  private scanMm(slot: MmSlot, mm: Mm, found: ScanPage): number {
    const s = this.s;
    const f = s.k.frames;
    const vmas = mm.vmas;
    const pt = mm.pt;
    for (let vi = findVmaIndex(vmas, vpnAddress(this.vpn)); vi < vmas.length; vi++) {
      const vma = vmas[vi];
      if ((vma.flags & VM_MERGEABLE) === 0) continue;
      const startVpn = vpnOf(vma.start);
      const endVpn = vpnOf(vma.end);
      if (this.vpn < startVpn) this.vpn = startVpn;
      if (vma.anonVma === null) this.vpn = endVpn;
      let vpn = this.vpn;
      while (vpn < endVpn) {
        if (!pt.ptePageMapped(vpn)) {
          vpn = ptePageBase(vpn) + PTRS_PER_PTE; // no pte page: nothing mapped in the next ones
          continue;
        }
        const pte = pt.get(vpn);
        // follow_page finds a PROT_NONE pte too: pte_present (ksm_functional_tests.c test_prot_none)
        if (ptePresent(pte) && !pteSpecial(pte)) {
          const pfn = ptePfn(pte);
          if ((f.flagsOf(pfn) & PG_ANON) !== 0) {
            s.getPage(pfn); // follow_page(FOLL_GET)
            const item = this.getNextRmapItem(slot, vpn);
            this.prev = item;
            if (!this.shouldSkipRmapItem(pfn, item)) {
              this.vpn = vpn + 1;
              found.pfn = pfn;
              return item;
            }
            s.putPage(pfn);
          }
        }
        vpn++;
      }
      this.vpn = vpn;
    }
    return NO_ITEM;
  }

  /** get_next_rmap_item: the item for `vpn` at the cursor, freeing stale items below it. */
  private getNextRmapItem(slot: MmSlot, vpn: number): number {
    const it = this.s.items;
    const cur = this.prev === NO_ITEM ? slot.head : it.next[this.prev];
    if (cur !== NO_ITEM && it.vpn[cur] === vpn) return cur; // seen at the last scan
    return this.newRmapItem(slot, vpn, cur);
  }

  /** get_next_rmap_item when the cursor's next item is not `vpn`'s: free the stale ones, allocate one. */
  private newRmapItem(slot: MmSlot, vpn: number, cur: number): number {
    const s = this.s;
    const it = s.items;
    const prev = this.prev;
    while (cur !== NO_ITEM) {
      const v = it.vpn[cur];
      if (v === vpn) return cur;
      if (v > vpn) break;
      const nxt = it.next[cur];
      this.setLink(slot, prev, nxt);
      this.trees.removeRmapItemFromTree(cur);
      s.freeItem(cur);
      cur = nxt;
    }
    const id = it.alloc(slot.id, vpn);
    it.next[id] = cur;
    this.setLink(slot, prev, id);
    s.syncVolatile();
    return id;
  }

  /**
   * should_skip_rmap_item (smart scan, 5e924ff54d08, v6.7; mm/ksm.c v6.18): a page that is not a KSM
   * page ages at every visit; from its fourth on, each look is followed by 1, 2, 4, then 8 skipped
   * visits (skip_age), and a skipped item leaves its tree.
   */
  private shouldSkipRmapItem(pfn: number, item: number): boolean {
    const s = this.s;
    if (!s.k.profile.ksmSmartScan || (s.k.frames.flagsOf(pfn) & PG_KSM) !== 0) return false;
    const it = s.items;
    const age = it.age[item];
    if (age !== 0xff) it.age[item] = age + 1;
    if (age < 3) return false;
    if (it.remainingSkips[item] === 0) {
      it.remainingSkips[item] = age <= 3 ? 1 : age <= 5 ? 2 : age <= 8 ? 4 : 8;
      return false;
    }
    s.stats.smartScanSkipped++;
    it.remainingSkips[item]--;
    this.trees.removeRmapItemFromTree(item);
    return true;
  }

  private setLink(slot: MmSlot, prev: number, to: number): void {
    if (prev === NO_ITEM) slot.head = to;
    else this.s.items.next[prev] = to;
  }

  /** remove_trailing_rmap_items: every item after `prev` in the slot's list. */
  private removeTrailingRmapItems(slot: MmSlot, prev: number): void {
    const it = this.s.items;
    let cur = prev === NO_ITEM ? slot.head : it.next[prev];
    if (cur === NO_ITEM) return;
    this.setLink(slot, prev, NO_ITEM);
    while (cur !== NO_ITEM) {
      const nxt = it.next[cur];
      this.trees.removeRmapItemFromTree(cur);
      this.s.freeItem(cur);
      cur = nxt;
    }
  }

  /** __ksm_enter: a new mm_slot just behind the scan cursor ("to let the area settle down a little"). */
  enter(mm: Mm): void {
    const s = this.s;
    const slot = new MmSlot(s.slots.length, mm);
    s.slots.push(slot);
    const before = this.slot;
    slot.next = before;
    slot.prev = before.prev;
    before.prev.next = slot;
    before.prev = slot;
    mm.attached.set(ATTACH_KEY, slot);
    s.log('ksm_enter', mm, -1);
  }

  /**
   * __ksm_exit (mm/ksm.c, v5.0 and v6.18 alike): a slot with no rmap item that is not under the cursor
   * is freed at once ("easy to free"); any other is moved just behind the cursor and left to ksmd, whose
   * next visit finds the mm exiting (ksm_test_exit) and drops its rmap items, so the counters change
   * only then. A slot under the cursor is left where it is, for the same reason.
   */
  exit(slot: MmSlot): void {
    const s = this.s;
    if (this.slot !== slot) {
      if (slot.head === NO_ITEM) this.freeSlot(slot);
      else {
        // list_move(&mm_slot->mm_node, &ksm_scan.mm_slot->mm_node)
        slot.prev.next = slot.next;
        slot.next.prev = slot.prev;
        const at = this.slot;
        slot.prev = at;
        slot.next = at.next;
        at.next.prev = slot;
        at.next = slot;
      }
    }
    s.log('ksm_exit', slot.mm, -1);
  }

  /** Unlink and forget an mm_slot whose rmap list is empty. */
  private freeSlot(slot: MmSlot): void {
    slot.prev.next = slot.next;
    slot.next.prev = slot.prev;
    slot.prev = slot;
    slot.next = slot;
    this.s.slots[slot.id] = undefined;
    slot.mm?.attached.delete(ATTACH_KEY);
  }
}
