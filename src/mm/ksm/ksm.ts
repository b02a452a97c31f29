/**
 * Kernel samepage merging, modelled on mm/ksm.c of Linux v5.0: ksmd's scan cursor over mm_slots, rmap
 * items with the checksum gate, the unstable tree (rebuilt every full scan), the stable tree of KSM
 * pages with stable_node chains past max_page_sharing, use_zero_pages, and the merge steps
 * write_protect_page / replace_page in the kernel's order of operations, which is what the MMU-notifier
 * story is about. Sources: ../shared/reference/kernel-semantics.md §2.1–2.4 and §2.7.
 *
 * Trees: the kernel's rb-trees are ordered by memcmp of page contents. Here they are maps indexed by
 * content id (ids are equal iff bytes are), and every lookup in the unstable tree re-checks the
 * candidate page's current content — an unstable-tree page may have been written since it was filed.
 * Stable-tree pages are KSM pages: write-protected, so their content never changes while they live.
 *
 * Concurrency: ksmd's paths yield at preemption points and wait for mmap_sem, the page-table lock and
 * page locks like the kernel's, so the model checker can interleave them with faults, GUP and KVM.
 * Only ksmd touches the trees, except ksm_exit, which drops an exiting mm's rmap items at once when
 * ksmd is between pages and at the end of ksmd's current page otherwise.
 */

import { ZERO_CONTENT } from '../../hw/content.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PG_KSM, ZERO_PFN } from '../../hw/frames.js';
import { PAGE_SIZE, PTRS_PER_PTE } from '../../hw/page.js';
import {
  mkPte,
  PTE_ACCESSED,
  PTE_PRESENT,
  PTE_SPECIAL,
  pteDirty,
  pteMkclean,
  ptePfn,
  ptePresent,
  pteSpecial,
  pteWrite,
  pteWrprotect,
} from '../../hw/pte.js';
import {
  type Agent,
  type Lock,
  lock,
  lockShared,
  ModelBug,
  type Path,
  preemptPoint,
  runToCompletion,
  unlock,
  unlockShared,
} from '../../sim/exec.js';
import { followPage } from '../gup.js';
import type { Errno, Kernel } from '../kernel.js';
import type { KsmHooks } from '../ksm-port.js';
import { handleMmFault } from '../memory.js';
import type { Mm } from '../mm.js';
import { MMU_NOTIFIER_USE_CHANGE_PTE, MMU_NOTIFY_CLEAR } from '../notifier-port.js';
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  ptepClearFlush,
  setPteAtNotify,
} from '../notify.js';
import { lockPage, trylockPage, unlockPage } from '../page-lock.js';
import { VM_MERGEABLE, type Vma } from '../vma.js';
import { KSM_COUNTERS } from './counters.js';
import {
  IN_NO_TREE,
  IN_STABLE,
  IN_UNSTABLE,
  IntMap,
  KeyFilter,
  MISSING,
  NO_ITEM,
  NO_NODE,
  RmapItems,
  StableNodes,
} from './store.js';

/** The knobs of /sys/kernel/mm/ksm that change what ksmd does. */
export interface KsmConfig {
  /** pages_to_scan: pages per ksmd batch (ksm_do_scan). */
  pagesToScan: number;
  /** use_zero_pages: merge all-zero pages with the shared zero page instead of with each other. */
  useZeroPages: boolean;
  /** max_page_sharing: rmap items per KSM page before a stable_node chain gets another dup. */
  maxPageSharing: number;
  /** merge_across_nodes: accepted; the model has one NUMA node, so it changes nothing. */
  mergeAcrossNodes: boolean;
}

export const KSM_DEFAULT_CONFIG: Readonly<KsmConfig> = {
  pagesToScan: 100,
  useZeroPages: false,
  maxPageSharing: 256,
  mergeAcrossNodes: true,
};

/** Key of KSM's mm_slot in Mm.attached. */
const ATTACH_KEY = 'ksm';

/** struct mm_slot: an mm registered with ksmd (MMF_VM_MERGEABLE), on the ksm_mm_head list. */
class MmSlot {
  /** First rmap item (the sorted rmap_list). */
  head = NO_ITEM;
  prev: MmSlot = this;
  next: MmSlot = this;
  constructor(
    readonly id: number,
    /** null only for the list head. */
    readonly mm: Mm | null,
  ) {}
}

/** What ksmd did that the sysfs counters do not show (for tests, experiments and reports). */
export interface KsmStats {
  /** write_protect_page found mapcount + 1 + swapped != refcount (a GUP pin) and restored the pte. */
  wpRefusedPinned: number;
  /** replace_page found the pte changed since write_protect_page (pte_same failed). */
  replaceRaced: number;
  /** Pages merged into an existing KSM page (try_to_merge_with_ksm_page succeeded). */
  stableMerges: number;
  /** New KSM pages made from two unstable-tree pages. */
  newKsmPages: number;
  /** Pages merged with the zero page (use_zero_pages). */
  zeroPageMerges: number;
  /** break_cow calls after a failed second half of try_to_merge_two_pages. */
  breakCow: number;
  /** KSM pages broken by MADV_UNMERGEABLE (break_ksm write faults). */
  unmerged: number;
}

/** What cmpAndMergePage leaves to its path. */
const DONE = 0;
const MERGE_WITH_KSM_PAGE = 1;
const MERGE_WITH_ZERO_PAGE = 2;
const MERGE_WITH_TREE_PAGE = 3;
/** scanGetNextRmapItem must wait for an mmap_sem. */
const BLOCKED = -2;
/** scanGetNextRmapItem starts a full scan with lru_add_drain_all, which may sleep: call it again. */
const DRAIN = -3;

const P_SCAN_NEXT = preemptPoint('ksm_do_scan: next page (cond_resched)');
const P_LRU_DRAIN = preemptPoint(
  'scan_get_next_rmap_item: lru_add_drain_all, before taking the first mm_slot',
);
const P_WP_STARTED = preemptPoint('write_protect_page: range started, before the ptl');
const P_REPLACE_STARTED = preemptPoint('replace_page: range started, before the ptl');
const P_BEFORE_REPLACE = preemptPoint('try_to_merge_one_page: page write-protected, before replace_page');
const P_TWO_PAGES = preemptPoint(
  'try_to_merge_two_pages: first page is a KSM page, before merging the second',
);

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

/**
 * ksmd and its data (mm/ksm.c v5.0). Assign `hooks` to `MmSystem.ksm` so madvise, fork and exit reach it;
 * run it with `scan`, `runFullScans` or `runUntilStable`, or drive `doScan` from a model checker.
 */
export class Ksm {
  readonly config: KsmConfig;
  /** ksmd. */
  readonly agent: Agent;
  readonly hooks: KsmHooks;
  readonly stats: KsmStats = {
    wpRefusedPinned: 0,
    replaceRaced: 0,
    stableMerges: 0,
    newKsmPages: 0,
    zeroPageMerges: 0,
    breakCow: 0,
    unmerged: 0,
  };

  private readonly items = new RmapItems();
  private readonly nodes = new StableNodes();
  /** page->mapping for KSM pages: the stable node of each frame (NO_NODE when none). */
  private readonly pfnNode: Int32Array;
  /**
   * root_stable_tree: content id -> a stable node, or a stable_node chain. Both trees are int32 hash
   * maps keyed on `id | 0` (one-to-one on uint32 content ids).
   */
  private readonly stable = new IntMap(12);
  /** Keys ever filed in the stable tree since the filter's last rebuild (a superset of its keys). */
  private readonly stableFilter = new KeyFilter(16);
  private stableRemovals = 0;
  /** stable_node chains: their dups, most recent first (a chain is filed as -(index + 1)). */
  private readonly chains: number[][] = [];
  private readonly freeChains: number[] = [];
  /** root_unstable_tree: content id when filed -> rmap item. */
  private readonly unstable = new IntMap(12);
  /** ksm_mm_head and the slots by id (items record their slot's id). */
  private readonly head = new MmSlot(0, null);
  private readonly slots: (MmSlot | undefined)[] = [this.head];
  /** ksm_scan: the cursor. */
  private scanSlot: MmSlot = this.head;
  private scanVpn = 0;
  /** The item whose `next` is ksm_scan.rmap_list (NO_ITEM: the slot's head). */
  private scanPrev = NO_ITEM;
  /** ksm_scan.seqnr: completed full scans. */
  private seqnr = 0;
  /** ksmd is inside one page's work (holding items and page references across preemption points). */
  private busy = false;
  /** A full scan's lru_add_drain_all has run (and slept) and the first mm_slot is still to be taken. */
  private drained = false;
  private readonly pendingExit: MmSlot[] = [];
  /** Page references KSM's paths hold right now (ksmd's FOLL_GET and get_ksm_page ones, break_ksm's). */
  private held = new Int32Array(8);
  private heldCount = 0;
  /** KSM pages a failed break_cow left outside the stable tree (the kernel tolerates them too). */
  private readonly orphans = new Set<number>();
  /** Out-parameters (a path returns one value). */
  private scanPfn = -1;
  private treePfn = -1;
  private kpfnOut = -1;
  private treeOut = NO_ITEM;
  private blockedOn: Lock | null = null;
  /**
   * Yield at ksmd's preemption points. The sequential helpers below turn this off while they run
   * `doScan` to completion — runToCompletion passes preemption points straight through anyway, so only
   * the cost goes; a model checker driving `doScan` itself gets every point.
   */
  private preempt = true;

  private readonly cv: number[];
  private readonly sShared: number;
  private readonly sSharing: number;
  private readonly sUnshared: number;
  private readonly sVolatile: number;
  private readonly sFullScans: number;
  private readonly sScanned: number;
  private readonly sChains: number;
  private readonly sDups: number;

  constructor(
    private readonly k: Kernel,
    config: Partial<KsmConfig> = {},
  ) {
    this.config = { ...KSM_DEFAULT_CONFIG, ...config };
    this.agent = k.newAgent('ksmd');
    this.pfnNode = new Int32Array(k.frames.count);
    const c = k.counters;
    this.cv = c.values;
    this.sShared = c.slot(KSM_COUNTERS.name('pages_shared'));
    this.sSharing = c.slot(KSM_COUNTERS.name('pages_sharing'));
    this.sUnshared = c.slot(KSM_COUNTERS.name('pages_unshared'));
    this.sVolatile = c.slot(KSM_COUNTERS.name('pages_volatile'));
    this.sFullScans = c.slot(KSM_COUNTERS.name('full_scans'));
    this.sScanned = c.slot(KSM_COUNTERS.name('pages_scanned'));
    this.sChains = c.slot(KSM_COUNTERS.name('stable_node_chains'));
    this.sDups = c.slot(KSM_COUNTERS.name('stable_node_dups'));
    this.hooks = {
      madviseMergeable: (_agent, vma) => this.ksmMadviseMergeable(vma),
      madviseUnmergeable: (agent, vma, start, end) => this.unmergeKsmPages(agent, vma, start, end),
      fork: (parent, child) => this.ksmFork(parent, child),
      exit: (mm) => this.ksmExit(mm),
    };
  }

  // ---- public queries ----

  /** PageKsm. */
  isKsmPage(pfn: number): boolean {
    return pfn > 0 && pfn < this.k.frames.count && (this.k.frames.flags[pfn] & PG_KSM) !== 0;
  }

  /** Completed full scans (ksm_scan.seqnr, sysfs full_scans). */
  get fullScans(): number {
    return this.seqnr;
  }

  /**
   * The page references KSM's paths hold at this moment, per pfn: what an accounting check must add to
   * page tables and pins while ksmd (or break_ksm) is paused inside a page. Empty between pages.
   */
  heldRefs(): Map<number, number> {
    const out = new Map<number, number>();
    for (let i = 0; i < this.heldCount; i++) out.set(this.held[i], (out.get(this.held[i]) ?? 0) + 1);
    return out;
  }

  /** Is this mm registered with ksmd (has an mm_slot)? */
  isRegistered(mm: Mm): boolean {
    return mm.attached.has(ATTACH_KEY);
  }

  // ---- sequential drivers ----

  /**
   * ksmd works until `pages` more pages have been through cmp_and_merge_page, in batches of
   * pages_to_scan (ksm_do_scan), or until a whole full scan finds no page at all.
   */
  scan(pages: number): void {
    let left = pages;
    let idle = 0;
    while (left > 0 && this.hasWork()) {
      const before = this.cv[this.sScanned];
      this.runSequentially(Math.min(left, Math.max(1, this.config.pagesToScan)));
      const done = this.cv[this.sScanned] - before;
      left -= done;
      idle = done === 0 ? idle + 1 : 0;
      if (idle > 2) break;
    }
  }

  /** ksmd runs until `n` more full scans have completed (none if no mm is registered). */
  runFullScans(n: number): void {
    const target = this.seqnr + n;
    while (this.seqnr < target && this.hasWork()) this.runSequentially(Math.max(1, this.config.pagesToScan));
  }

  /** One ksm_do_scan batch, run to completion. */
  private runSequentially(pages: number): void {
    const was = this.preempt;
    this.preempt = false;
    try {
      runToCompletion(this.doScan(pages));
    } finally {
      this.preempt = was;
    }
  }

  /**
   * Full scans until pages_sharing stops growing (at least two: the first only records checksums).
   * Returns the number of full scans done.
   */
  runUntilStable(maxFullScans = 64): number {
    let done = 0;
    let prev = -1;
    while (done < maxFullScans) {
      const before = this.seqnr;
      this.runFullScans(1);
      if (this.seqnr === before) break;
      done++;
      const sharing = this.cv[this.sSharing];
      if (done >= 2 && sharing <= prev) break;
      prev = sharing;
    }
    return done;
  }

  private hasWork(): boolean {
    return this.head.next !== this.head;
  }

  // ---- ksmd ----

  /** ksm_do_scan (mm/ksm.c v5.0): up to `pages` pages; stops early when a full scan completes. */
  *doScan(pages: number): Path {
    const cv = this.cv;
    for (let n = 0; n < pages; n++) {
      if (n > 0 && this.preempt) yield P_SCAN_NEXT;
      this.busy = true;
      let item = this.scanGetNextRmapItem();
      while (item === BLOCKED || item === DRAIN) {
        if (item === BLOCKED)
          yield this.blockedOn!.wait; // down_read on an mm whose mmap_sem is held for write
        else {
          this.busy = false; // ksmd holds no item while it sleeps here: exits are not deferred
          yield P_LRU_DRAIN;
          this.busy = true;
        }
        item = this.scanGetNextRmapItem();
      }
      if (item === NO_ITEM) {
        this.idle();
        return;
      }
      const pfn = this.scanPfn;
      const rest = this.cmpAndMergePage(pfn, item);
      if (rest !== DONE) yield* this.cmpAndMergePageRest(pfn, item, rest);
      this.putPage(pfn);
      cv[this.sScanned]++;
      this.idle();
    }
  }

  /** ksmd leaves the page it worked on: exits that came meanwhile drop their rmap items now. */
  private idle(): void {
    this.busy = false;
    while (this.pendingExit.length > 0) this.dropSlotItems(this.pendingExit.pop()!);
  }

  /**
   * scan_get_next_rmap_item (v5.0): the next anonymous page under the cursor, with a reference held
   * (follow_page FOLL_GET, in `scanPfn`), and its rmap item; NO_ITEM when a full scan has just completed;
   * BLOCKED (lock in `blockedOn`) when the next mm's mmap_sem is held for write — the cursor is left
   * where it was, so calling again after the lock is free continues exactly as down_read would.
   */
  private scanGetNextRmapItem(): number {
    const head = this.head;
    // list_empty was tested before lru_add_drain_all slept: not again after it
    if (head.next === head && !this.drained) return NO_ITEM;
    let slot = this.scanSlot;
    if (slot === head) {
      if (this.preempt && !this.drained) {
        this.drained = true;
        return DRAIN;
      }
      this.drained = false;
      // a new full scan: the unstable tree starts empty (root_unstable_tree = RB_ROOT)
      this.unstable.clear();
      slot = head.next;
      this.scanSlot = slot;
      if (slot === head) {
        // the last mm exited while ksmd slept (CVE-2011-2183): the fix returns here
        if (this.k.profile.ksmScanRevalidatesSlot) return NO_ITEM;
        this.k.reportViolation({
          invariant: 'use-after-free',
          message:
            'ksmd takes the mm_slot list head for an mm_slot and dereferences its mm (NULL): the last mm left the list while ksmd slept in lru_add_drain_all (CVE-2011-2183)',
          agents: [this.agent.name],
          addresses: [],
        });
        return NO_ITEM;
      }
      this.scanVpn = 0;
      this.scanPrev = NO_ITEM;
      this.log('full scan begins', null, -1, `seqnr ${this.seqnr}`);
    }
    const f = this.k.frames;
    const flags = f.flags;
    for (;;) {
      const mm = slot.mm!;
      const sem = mm.mmapLock;
      if (sem.owner !== null) {
        this.blockedOn = sem;
        return BLOCKED;
      }
      sem.readers++;
      if (!mm.exiting) {
        const vmas = mm.vmas;
        const pt = mm.pt;
        for (let vi = findVmaIndex(vmas, this.scanVpn * PAGE_SIZE); vi < vmas.length; vi++) {
          const vma = vmas[vi];
          if ((vma.flags & VM_MERGEABLE) === 0) continue;
          const startVpn = vma.start / PAGE_SIZE;
          const endVpn = vma.end / PAGE_SIZE;
          if (this.scanVpn < startVpn) this.scanVpn = startVpn;
          if (vma.anonVma === null) this.scanVpn = endVpn;
          let vpn = this.scanVpn;
          while (vpn < endVpn) {
            const page = pt.lookupPage(vpn);
            if (page === undefined || page.used === 0) {
              vpn = vpn - (vpn % PTRS_PER_PTE) + PTRS_PER_PTE; // no pte page: nothing mapped in the next ones
              continue;
            }
            const i = vpn & (PTRS_PER_PTE - 1);
            const bits = page.bits[i];
            if ((bits & PTE_PRESENT) !== 0 && (bits & PTE_SPECIAL) === 0) {
              const pfn = page.pfn[i];
              if ((flags[pfn] & PG_ANON) !== 0) {
                f.refcount[pfn]++; // follow_page(FOLL_GET)
                this.hold(pfn);
                const item = this.getNextRmapItem(slot, vpn);
                this.scanPrev = item;
                this.scanVpn = vpn + 1;
                unlockShared(sem);
                this.scanPfn = pfn;
                return item;
              }
            }
            vpn++;
          }
          this.scanVpn = vpn;
        }
      }
      if (mm.exiting) {
        this.scanVpn = 0;
        this.scanPrev = NO_ITEM;
      }
      // nuke the rmap items above the cursor: no VM_MERGEABLE vma has those addresses now
      this.removeTrailingRmapItems(slot, this.scanPrev);
      const next = slot.next;
      if (this.scanVpn === 0) this.freeSlot(slot); // no mergeable vma (or exiting): as __ksm_exit would
      unlockShared(sem);
      this.scanSlot = next;
      this.scanVpn = 0;
      this.scanPrev = NO_ITEM;
      if (next !== head) {
        slot = next;
        continue;
      }
      this.seqnr++;
      this.cv[this.sFullScans] = this.seqnr;
      this.log('full scan done', null, -1, `full_scans ${this.seqnr}`);
      return NO_ITEM;
    }
  }

  /** get_next_rmap_item: the item for `vpn` at the cursor, freeing stale items below it. */
  private getNextRmapItem(slot: MmSlot, vpn: number): number {
    const it = this.items;
    const prev = this.scanPrev;
    let cur = prev === NO_ITEM ? slot.head : it.next[prev];
    while (cur !== NO_ITEM) {
      const v = it.vpn[cur];
      if (v === vpn) return cur;
      if (v > vpn) break;
      const nxt = it.next[cur];
      this.setLink(slot, prev, nxt);
      this.removeRmapItemFromTree(cur);
      this.freeItem(cur);
      cur = nxt;
    }
    const id = it.alloc(slot.id, vpn);
    it.next[id] = cur;
    this.setLink(slot, prev, id);
    this.syncVolatile();
    return id;
  }

  private setLink(slot: MmSlot, prev: number, to: number): void {
    if (prev === NO_ITEM) slot.head = to;
    else this.items.next[prev] = to;
  }

  /** remove_trailing_rmap_items: every item after `prev` in the slot's list. */
  private removeTrailingRmapItems(slot: MmSlot, prev: number): void {
    const it = this.items;
    let cur = prev === NO_ITEM ? slot.head : it.next[prev];
    if (cur === NO_ITEM) return;
    this.setLink(slot, prev, NO_ITEM);
    while (cur !== NO_ITEM) {
      const nxt = it.next[cur];
      this.removeRmapItemFromTree(cur);
      this.freeItem(cur);
      cur = nxt;
    }
  }

  private freeItem(id: number): void {
    this.items.free(id);
    this.syncVolatile();
  }

  /**
   * cmp_and_merge_page (v5.0), the heart of ksmd, for one page (referenced) and its rmap item — up to
   * its first step that may wait: the page merged already, the stable-tree search, the checksum gate,
   * and the unstable-tree lookup. Returns DONE, or what cmpAndMergePageRest still has to do.
   */
  private cmpAndMergePage(pfn: number, item: number): number {
    const it = this.items;
    const node = this.pageStableNode(pfn);
    if (node !== NO_NODE && it.tree[item] === IN_STABLE && it.node[item] === node) return DONE; // merged here
    // (the kernel checks `kpage == page && rmap_item->head == stable_node` again after the search: with
    // one NUMA node that is the test just made)
    const kpfn = this.stableTreeSearch(pfn);
    this.removeRmapItemFromTree(item);
    if (kpfn >= 0) {
      this.kpfnOut = kpfn;
      return MERGE_WITH_KSM_PAGE;
    }
    // the checksum gate: a page that changed since the last scan is volatile, not worth a tree slot
    const checksum = this.k.frames.content[pfn];
    if (it.checksum[item] !== checksum) {
      it.checksum[item] = checksum;
      return DONE;
    }
    if (this.config.useZeroPages && checksum === ZERO_CONTENT) return MERGE_WITH_ZERO_PAGE;
    return this.unstableTreeLookup(item, pfn);
  }

  /** The rest of cmp_and_merge_page: the merges, which take locks and notify. */
  private *cmpAndMergePageRest(pfn: number, item: number, what: number): Path {
    const it = this.items;
    if (what === MERGE_WITH_KSM_PAGE) {
      const kpfn = this.kpfnOut;
      const ok = yield* this.tryToMergeWithKsmPage(item, pfn, kpfn);
      if (ok) {
        // the page was merged: its rmap item joins kpage's stable node
        yield* lockPage(this.k, this.agent, kpfn);
        const kn = this.pageStableNode(kpfn);
        if (kn !== NO_NODE) this.stableTreeAppend(item, kn);
        unlockPage(this.k, this.agent, kpfn);
        if (kpfn !== pfn) {
          this.stats.stableMerges++;
          if (this.k.recording) {
            this.log('merge into KSM page', this.slotMm(item), it.vpn[item], `pfn ${pfn} -> kpfn ${kpfn}`);
          }
        }
      }
      this.putPage(kpfn);
      return;
    }
    if (what === MERGE_WITH_ZERO_PAGE) {
      // same checksum as an empty page: merge with the zero page (use_zero_pages)
      const mm = this.slotMm(item);
      const vpn = it.vpn[item];
      const sem = mm.mmapLock;
      yield* lockShared(this.agent, sem);
      const vma = this.findMergeableVma(mm, vpn * PAGE_SIZE);
      const ok = vma !== undefined && (yield* this.tryToMergeOnePage(vma, pfn, ZERO_PFN, vpn));
      unlockShared(sem);
      if (ok) {
        this.stats.zeroPageMerges++;
        this.log('merge with the zero page', mm, vpn);
        return;
      }
      // the page was not really empty: carry on with the unstable tree
      what = this.unstableTreeLookup(item, pfn);
      if (what === DONE) return;
    }
    const treeItem = yield* this.unstableTreeSearchInsert(item, pfn, this.treeOut);
    if (treeItem === NO_ITEM) return;
    const treePfn = this.treePfn;
    const merged = yield* this.tryToMergeTwoPages(item, pfn, treeItem, treePfn);
    this.putPage(treePfn);
    if (merged < 0) return;
    // both pages map the new KSM page: a stable node for it, holding both rmap items
    yield* lockPage(this.k, this.agent, merged);
    const sn = this.stableTreeInsert(merged);
    this.stableTreeAppend(treeItem, sn);
    this.stableTreeAppend(item, sn);
    unlockPage(this.k, this.agent, merged);
    this.stats.newKsmPages++;
    if (this.k.recording) {
      this.log('new KSM page', this.slotMm(item), it.vpn[item], `kpfn ${merged} replaces pfn ${treePfn}`);
    }
  }

  // ---- the stable tree ----

  /** page_stable_node. */
  private pageStableNode(pfn: number): number {
    return (this.k.frames.flags[pfn] & PG_KSM) !== 0 ? this.pfnNode[pfn] : NO_NODE;
  }

  /** get_ksm_page's test: the node's page is still the KSM page of this node. */
  private nodeValid(node: number): boolean {
    const kpfn = this.nodes.kpfn[node];
    const f = this.k.frames;
    return (f.flags[kpfn] & PG_KSM) !== 0 && f.refcount[kpfn] > 0 && this.pfnNode[kpfn] === node;
  }

  /** is_page_sharing_candidate. */
  private isCandidate(node: number): boolean {
    const len = this.nodes.len[node];
    return len > 0 && len < this.config.maxPageSharing;
  }

  /**
   * stable_tree_search (v5.0): a KSM page with this page's content that can take one more sharer,
   * referenced; -1 if none. A KSM page that was forked is its own answer. Stale nodes met on the way are
   * pruned; a chain left with one dup below the limit collapses back to a plain node (chain_prune).
   */
  private stableTreeSearch(pfn: number): number {
    const f = this.k.frames;
    if (this.pageStableNode(pfn) !== NO_NODE) {
      f.refcount[pfn]++; // ksm page forked
      this.hold(pfn);
      return pfn;
    }
    const key = f.content[pfn];
    if (!this.stableFilter.mayHave(key | 0)) return -1;
    const entry = this.stable.get(key | 0);
    if (entry === MISSING) return -1;
    let found = NO_NODE;
    if (entry > 0) {
      if (!this.nodeValid(entry)) this.removeNodeFromStableTree(entry);
      else if (this.isCandidate(entry)) found = entry;
    } else {
      const chain = this.chains[-entry - 1];
      let live = 0;
      let best = -1;
      for (const dup of [...chain]) {
        if (!this.nodeValid(dup)) {
          this.removeNodeFromStableTree(dup);
          continue;
        }
        live++;
        if (this.isCandidate(dup) && this.nodes.len[dup] > best) {
          found = dup;
          best = this.nodes.len[dup];
        }
      }
      if (found !== NO_NODE && live === 1 && this.stable.get(key | 0) === entry) {
        // one dup left, below the limit: drop the chain
        this.stable.set(key | 0, found);
        this.freeChain(entry);
        this.cv[this.sChains]--;
        this.cv[this.sDups]--;
      }
    }
    if (found === NO_NODE) return -1; // none, or every dup is full: wait for an unstable-tree match
    const kpfn = this.nodes.kpfn[found];
    if (f.content[kpfn] !== key)
      throw new ModelBug(`KSM page ${kpfn} changed content while in the stable tree`);
    f.refcount[kpfn]++;
    this.hold(kpfn);
    return kpfn;
  }

  /** stable_tree_insert: a new stable node for kpage, as a new dup of a chain if its content is there. */
  private stableTreeInsert(kpfn: number): number {
    const key = this.k.frames.content[kpfn];
    let entry = this.stable.get(key | 0);
    if (entry !== MISSING) {
      const list = entry > 0 ? [entry] : [...this.chains[-entry - 1]];
      for (const n of list) if (!this.nodeValid(n)) this.removeNodeFromStableTree(n);
      entry = this.stable.get(key | 0);
    }
    const node = this.nodes.alloc(kpfn, key);
    this.pfnNode[kpfn] = node;
    this.orphans.delete(kpfn);
    if (entry === MISSING) {
      this.stable.set(key | 0, node);
      this.fileStableKey(key | 0);
    } else if (entry > 0) {
      // alloc_stable_node_chain + stable_node_chain_add_dup: the full node and the new one become dups
      this.stable.set(key | 0, this.newChain([node, entry]));
      this.cv[this.sChains]++;
      this.cv[this.sDups] += 2;
      this.log('stable_node chain', null, -1, `max_page_sharing ${this.config.maxPageSharing} reached`);
    } else {
      this.chains[-entry - 1].unshift(node);
      this.cv[this.sDups]++;
    }
    return node;
  }

  /** A new key in the stable tree: into the filter, which is rebuilt when it gets crowded or stale. */
  private fileStableKey(key: number): void {
    const size = this.stable.size;
    if (size * 16 > this.stableFilter.size || this.stableRemovals > Math.max(PAGE_SIZE, size)) {
      this.stableFilter.reset(Math.max(16, Math.ceil(Math.log2(size * 32))));
      this.stableRemovals = 0;
      this.stable.forEach((k) => {
        this.stableFilter.add(k);
      });
    } else this.stableFilter.add(key);
  }

  private newChain(dups: number[]): number {
    const c = this.freeChains.pop();
    if (c === undefined) {
      this.chains.push(dups);
      return -this.chains.length;
    }
    this.chains[c] = dups;
    return -c - 1;
  }

  private freeChain(ref: number): void {
    this.chains[-ref - 1] = [];
    this.freeChains.push(-ref - 1);
  }

  /** stable_tree_append: the item shares the node's KSM page. */
  private stableTreeAppend(item: number, node: number): void {
    const it = this.items;
    const nd = this.nodes;
    const first = nd.first[node];
    it.hnext[item] = first;
    it.hprev[item] = NO_ITEM;
    if (first !== NO_ITEM) it.hprev[first] = item;
    nd.first[node] = item;
    nd.len[node]++;
    it.node[item] = node;
    it.tree[item] = IN_STABLE;
    if (first !== NO_ITEM) this.cv[this.sSharing]++;
    else this.cv[this.sShared]++;
    this.syncVolatile();
  }

  /** remove_node_from_stable_tree: a stale node (its page is gone) and all its items. */
  private removeNodeFromStableTree(node: number): void {
    const it = this.items;
    const nd = this.nodes;
    const cv = this.cv;
    for (let i = nd.first[node]; i !== NO_ITEM; ) {
      const nxt = it.hnext[i];
      if (nxt !== NO_ITEM) cv[this.sSharing]--;
      else cv[this.sShared]--;
      it.tree[i] = IN_NO_TREE;
      it.node[i] = NO_NODE;
      it.hnext[i] = NO_ITEM;
      it.hprev[i] = NO_ITEM;
      i = nxt;
    }
    nd.first[node] = NO_ITEM;
    nd.len[node] = 0;
    const key = nd.key[node] | 0;
    const entry = this.stable.get(key);
    if (entry === node) {
      this.stable.delete(key);
      this.stableRemovals++;
    } else if (entry !== MISSING && entry < 0) {
      const chain = this.chains[-entry - 1];
      const i = chain.indexOf(node);
      if (i >= 0) {
        chain.splice(i, 1); // stable_node_dup_del
        cv[this.sDups]--;
        if (chain.length === 0) {
          this.stable.delete(key);
          this.stableRemovals++;
          this.freeChain(entry);
          cv[this.sChains]--;
        }
      }
    }
    const kpfn = nd.kpfn[node];
    if (this.pfnNode[kpfn] === node) this.pfnNode[kpfn] = NO_NODE;
    nd.free(node);
    this.syncVolatile();
  }

  /** remove_rmap_item_from_tree. */
  private removeRmapItemFromTree(item: number): void {
    const it = this.items;
    const t = it.tree[item];
    if (t === IN_STABLE) {
      const node = it.node[item];
      if (!this.nodeValid(node)) {
        this.removeNodeFromStableTree(node); // get_ksm_page found it stale
        return;
      }
      const nd = this.nodes;
      const prev = it.hprev[item];
      const next = it.hnext[item];
      if (prev === NO_ITEM) nd.first[node] = next;
      else it.hnext[prev] = next;
      if (next !== NO_ITEM) it.hprev[next] = prev;
      nd.len[node]--;
      if (nd.first[node] !== NO_ITEM) this.cv[this.sSharing]--;
      else this.cv[this.sShared]--;
      it.tree[item] = IN_NO_TREE;
      it.node[item] = NO_NODE;
      it.hnext[item] = NO_ITEM;
      it.hprev[item] = NO_ITEM;
      this.syncVolatile();
    } else if (t === IN_UNSTABLE) {
      const age = (this.seqnr - it.seqnr[item]) & 0xff;
      if (age > 1) throw new ModelBug(`rmap item ${item} stayed in the unstable tree for ${age} scans`);
      const key = it.key[item] | 0;
      if (age === 0 && this.unstable.get(key) === item) this.unstable.delete(key);
      it.tree[item] = IN_NO_TREE;
      this.cv[this.sUnshared]--;
      this.syncVolatile();
    }
  }

  // ---- the unstable tree ----

  /**
   * unstable_tree_search_insert (v5.0), the part that needs no lock: with no item of this content in the
   * tree, file this one (UNSTABLE_FLAG | seqnr) and return DONE; else MERGE_WITH_TREE_PAGE (`treeOut`).
   */
  private unstableTreeLookup(item: number, pfn: number): number {
    const key = this.k.frames.content[pfn];
    const tree = this.unstable.get(key | 0);
    if (tree !== MISSING && tree !== item) {
      this.treeOut = tree;
      return MERGE_WITH_TREE_PAGE;
    }
    this.unstableTreeFile(item, key);
    return DONE;
  }

  private unstableTreeFile(item: number, key: number): void {
    const it = this.items;
    it.tree[item] = IN_UNSTABLE;
    it.seqnr[item] = this.seqnr & 0xff;
    it.key[item] = key;
    this.unstable.set(key | 0, item);
    this.cv[this.sUnshared]++;
    this.syncVolatile();
  }

  /**
   * unstable_tree_search_insert (v5.0), with a candidate: its page now (get_mergeable_page) must still
   * hold this page's content. Returns the tree item (its page referenced, in `treePfn`), or NO_ITEM —
   * after filing this item in its place if the candidate's page has changed since it was filed.
   */
  private *unstableTreeSearchInsert(item: number, pfn: number, tree: number): Path<number> {
    const content = this.k.frames.content;
    const treePfn = yield* this.getMergeablePage(tree);
    if (treePfn < 0) return NO_ITEM;
    if (treePfn === pfn) {
      this.putPage(treePfn); // don't substitute a KSM page for a forked page
      return NO_ITEM;
    }
    if (content[treePfn] === content[pfn]) {
      this.treePfn = treePfn;
      return tree;
    }
    // the tree page changed since it was filed: memcmp walks past it and this item is filed instead
    this.putPage(treePfn);
    this.unstableTreeFile(item, content[pfn]);
    return NO_ITEM;
  }

  /** get_mergeable_page: the anonymous page an item's address maps now, referenced; -1 if none. */
  private *getMergeablePage(item: number): Path<number> {
    const mm = this.slotMm(item);
    const addr = this.items.vpn[item] * PAGE_SIZE;
    const sem = mm.mmapLock;
    yield* lockShared(this.agent, sem);
    let pfn = -1;
    if (this.findMergeableVma(mm, addr) !== undefined) {
      const p = followPage(mm, addr, false);
      if (p > 0 && (this.k.frames.flags[p] & PG_ANON) !== 0) {
        this.k.frames.refcount[p]++;
        this.hold(p);
        pfn = p;
      }
    }
    unlockShared(sem);
    return pfn;
  }

  // ---- merging ----

  /** find_mergeable_vma: the VM_MERGEABLE vma with an anon_vma at addr, unless the mm is exiting. */
  private findMergeableVma(mm: Mm, addr: number): Vma | undefined {
    if (mm.exiting) return undefined; // ksm_test_exit
    const vma = mm.findVma(addr);
    if (vma === undefined || (vma.flags & VM_MERGEABLE) === 0 || vma.anonVma === null) return undefined;
    return vma;
  }

  /** try_to_merge_two_pages: make `pfn` a KSM page, then merge the tree page into it; break_cow on failure. */
  private *tryToMergeTwoPages(item: number, pfn: number, treeItem: number, treePfn: number): Path<number> {
    let ok = yield* this.tryToMergeWithKsmPage(item, pfn, -1);
    if (ok) {
      if (this.preempt) yield P_TWO_PAGES;
      ok = yield* this.tryToMergeWithKsmPage(treeItem, treePfn, pfn);
      if (!ok) {
        // "ksm page with only one pte pointing to it: so break it"
        yield* this.breakCow(item);
        // break_cow breaks only this item's pte: if forked mms map the page too (or break_cow could
        // not run), it stays a KSM page outside the stable tree until they unmap or write it — as in
        // the kernel, where set_page_stable_node(page, NULL) marked the page itself
        if ((this.k.frames.flags[pfn] & PG_KSM) !== 0 && this.k.frames.mapcount(pfn) > 0)
          this.orphans.add(pfn);
      }
    }
    return ok ? pfn : -1;
  }

  /** try_to_merge_with_ksm_page: under the item's mmap_sem; on success the item leaves its tree. */
  private *tryToMergeWithKsmPage(item: number, pfn: number, kpfn: number): Path<boolean> {
    const mm = this.slotMm(item);
    const vpn = this.items.vpn[item];
    const sem = mm.mmapLock;
    yield* lockShared(this.agent, sem);
    const vma = this.findMergeableVma(mm, vpn * PAGE_SIZE);
    let ok = false;
    if (vma !== undefined) {
      ok = yield* this.tryToMergeOnePage(vma, pfn, kpfn, vpn);
      if (ok) this.removeRmapItemFromTree(item);
    }
    unlockShared(sem);
    return ok;
  }

  /**
   * try_to_merge_one_page (v5.0): with the page lock (trylock: come back next scan), write-protect the
   * page; then either mark it a KSM page (kpfn < 0) or, if it still equals kpage, replace it by kpage.
   */
  private *tryToMergeOnePage(vma: Vma, pfn: number, kpfn: number, vpn: number): Path<boolean> {
    if (pfn === kpfn) return true; // a KSM page forked
    const f = this.k.frames;
    if ((f.flags[pfn] & PG_ANON) === 0) return false;
    if (!trylockPage(this.k, this.agent, pfn)) return false; // don't wait: come back next scan
    let ok = false;
    const orig = yield* this.writeProtectPage(vma, pfn, vpn);
    if (orig >= 0) {
      if (kpfn < 0) {
        // set_page_stable_node(page, NULL): PageKsm from now on, its stable node still to come
        f.flags[pfn] = (f.flags[pfn] | PG_KSM | PG_DIRTY) & ~PG_ANON_EXCLUSIVE;
        this.pfnNode[pfn] = NO_NODE;
        ok = true;
      } else if (f.content[pfn] === f.content[kpfn]) {
        if (this.preempt) yield P_BEFORE_REPLACE;
        ok = yield* this.replacePage(vma, pfn, kpfn, orig, vpn);
      }
    }
    unlockPage(this.k, this.agent, pfn);
    return ok;
  }

  /**
   * write_protect_page (mm/ksm.c v5.0): range start; under the ptl, if the pte is writable or dirty,
   * ptep_clear_flush, then the pin check `mapcount + 1 + swapped == refcount` (ksmd's own reference is
   * the 1; a GUP pin makes it fail and the pte is restored by a plain set_pte_at); else
   * set_pte_at_notify of the clean read-only pte; range end. Returns the pte now mapped, or -1.
   * On a profile without the 2012 wrap (v3.2) there is no start/end.
   */
  private *writeProtectPage(vma: Vma, pfn: number, vpn: number): Path<number> {
    const k = this.k;
    const agent = this.agent;
    const mm = vma.mm;
    const addr = vpn * PAGE_SIZE;
    if (addr < vma.start || addr >= vma.end) return -1; // page_address_in_vma
    const p = k.profile;
    const wrap = p.wrapChangePteInRange && this.rangeObserved(mm);
    const flag = p.useChangePteFlagAt.writeProtectPage ? MMU_NOTIFIER_USE_CHANGE_PTE : 0;
    const range = wrap
      ? mmuNotifierRangeInit('write_protect_page', MMU_NOTIFY_CLEAR, flag, vma, mm, addr, addr + PAGE_SIZE)
      : null;
    if (range !== null) yield* mmuNotifierInvalidateRangeStart(k, agent, range);
    if (this.preempt) yield P_WP_STARTED;
    let result = -1;
    // page_vma_mapped_walk: the ptl, and the pte must still map this page
    const ptl: Lock = mm.ptl;
    yield* lock(agent, ptl);
    const pte = mm.pt.get(vpn);
    if (ptePresent(pte) && !pteSpecial(pte) && ptePfn(pte) === pfn) {
      result = pte;
      if (pteWrite(pte) || pteDirty(pte)) {
        const f = k.frames;
        const swapped = 0; // no swap cache in the model
        // clear and flush before the check, so no O_DIRECT can start after it or during it
        const entry = yield* ptepClearFlush(k, agent, mm, addr);
        if (p.ksmWriteProtectChecksPins && f.mapcount(pfn) + 1 + swapped !== f.refcount[pfn]) {
          k.writePte(agent, mm, vpn, entry, 'set_pte_at');
          this.stats.wpRefusedPinned++;
          this.log(
            'write_protect_page refused',
            mm,
            vpn,
            `pfn ${pfn}: mapcount ${f.mapcount(pfn)} + 1 != refcount ${f.refcount[pfn]} (pinned)`,
          );
          result = -1;
        } else {
          if (pteDirty(entry)) f.flags[pfn] |= PG_DIRTY;
          const clean = pteMkclean(pteWrprotect(entry));
          yield* setPteAtNotify(k, agent, mm, addr, clean);
          result = clean;
        }
      }
    }
    unlock(agent, ptl);
    if (range !== null) yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
    return result;
  }

  /**
   * replace_page (mm/ksm.c v5.0): range start; under the ptl, if the pte is still `orig`, take kpage
   * (or map the zero page, pte_special, one anonymous page less), ptep_clear_flush, set_pte_at_notify
   * of the read-only pte to the new pfn, drop the old page's mapping and reference; range end.
   */
  private *replacePage(vma: Vma, pfn: number, kpfn: number, orig: number, vpn: number): Path<boolean> {
    const k = this.k;
    const agent = this.agent;
    const mm = vma.mm;
    const addr = vpn * PAGE_SIZE;
    if (addr < vma.start || addr >= vma.end) return false;
    if (mm.pt.lookupPage(vpn) === undefined) return false; // mm_find_pmd
    const p = k.profile;
    const wrap = p.wrapChangePteInRange && this.rangeObserved(mm);
    const flag = p.useChangePteFlagAt.replacePage ? MMU_NOTIFIER_USE_CHANGE_PTE : 0;
    const range = wrap
      ? mmuNotifierRangeInit('replace_page', MMU_NOTIFY_CLEAR, flag, vma, mm, addr, addr + PAGE_SIZE)
      : null;
    if (range !== null) yield* mmuNotifierInvalidateRangeStart(k, agent, range);
    if (this.preempt) yield P_REPLACE_STARTED;
    const ptl: Lock = mm.ptl;
    yield* lock(agent, ptl);
    let ok = false;
    if (mm.pt.get(vpn) !== orig) {
      this.stats.replaceRaced++;
      this.log('replace_page: pte changed', mm, vpn);
    } else {
      const prot = vma.pageProt();
      const bits = prot === 0 ? 0 : prot | PTE_ACCESSED;
      let newPte: number;
      if (kpfn !== ZERO_PFN) {
        k.getPage(kpfn);
        k.pageDupRmap(kpfn, mm); // page_add_anon_rmap
        newPte = mkPte(kpfn, bits);
      } else {
        newPte = mkPte(ZERO_PFN, bits | PTE_SPECIAL); // dec_mm_counter: the old page's rmap removal below
      }
      // no need to notify: a read-only page becomes another read-only page with the same content
      yield* ptepClearFlush(k, agent, mm, addr);
      yield* setPteAtNotify(k, agent, mm, addr, newPte);
      k.pageRemoveRmap(pfn, mm);
      k.putPage(pfn);
      ok = true;
    }
    unlock(agent, ptl);
    if (range !== null) yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
    return ok;
  }

  /** break_cow: COW the item's page back to a private copy, under its mm's mmap_sem; did it run? */
  private *breakCow(item: number): Path<boolean> {
    const mm = this.slotMm(item);
    const addr = this.items.vpn[item] * PAGE_SIZE;
    const sem = mm.mmapLock;
    yield* lockShared(this.agent, sem);
    const vma = this.findMergeableVma(mm, addr);
    const broken = vma !== undefined && (yield* this.breakKsm(this.agent, vma, addr)) === null;
    unlockShared(sem);
    this.stats.breakCow++;
    this.log('break_cow', mm, addr / PAGE_SIZE);
    return broken;
  }

  /**
   * break_ksm (v5.0): while the address maps a KSM page, take a write fault on it (handle_mm_fault with
   * FAULT_FLAG_WRITE); do_wp_page never reuses a KSM page, so wp_page_copy gives a private copy.
   * Caller holds mmap_sem.
   */
  private *breakKsm(agent: Agent, vma: Vma, addr: number): Path<Errno | null> {
    const k = this.k;
    const mm = vma.mm;
    for (let tries = 0; tries < 64; tries++) {
      const pfn = followPage(mm, addr, false);
      if (pfn <= 0 || (k.frames.flags[pfn] & PG_KSM) === 0) return null;
      k.getPage(pfn); // follow_page(FOLL_GET)
      this.hold(pfn);
      const r = yield* handleMmFault(k, agent, vma, addr, true);
      this.putPage(pfn);
      if (r === 'oom') return 'ENOMEM';
      if (r === 'sigbus') return null;
    }
    throw new ModelBug(`break_ksm at 0x${addr.toString(16)} keeps finding a KSM page`);
  }

  // ---- the hooks: madvise, fork, exit ----

  /** ksm_madvise(MADV_MERGEABLE): __ksm_enter the mm if it is not registered yet. */
  private *ksmMadviseMergeable(vma: Vma): Path<Errno | null> {
    if (!vma.mm.exiting && !vma.mm.attached.has(ATTACH_KEY)) this.ksmEnter(vma.mm);
    return null;
  }

  /** ksm_madvise(MADV_UNMERGEABLE) → unmerge_ksm_pages: break every KSM page in [start, end). */
  private *unmergeKsmPages(agent: Agent, vma: Vma, start: number, end: number): Path<Errno | null> {
    if (vma.anonVma === null) return null;
    const mm = vma.mm;
    let broken = 0;
    for (let addr = start; addr < end; addr += PAGE_SIZE) {
      if (mm.exiting) break;
      const vpn = addr / PAGE_SIZE;
      const page = mm.pt.lookupPage(vpn);
      if (page === undefined || page.used === 0) {
        addr = (vpn - (vpn % PTRS_PER_PTE) + PTRS_PER_PTE - 1) * PAGE_SIZE; // nothing mapped in this pte page
        continue;
      }
      const pfn = followPage(mm, addr, false);
      if (pfn <= 0 || (this.k.frames.flags[pfn] & PG_KSM) === 0) continue;
      const err = yield* this.breakKsm(agent, vma, addr);
      if (err !== null) return err;
      broken++;
    }
    this.stats.unmerged += broken;
    if (broken > 0)
      this.log('unmerge', mm, start / PAGE_SIZE, `${broken} KSM pages broken by MADV_UNMERGEABLE`);
    return null;
  }

  /** __ksm_enter: a new mm_slot just behind the scan cursor ("to let the area settle down a little"). */
  private ksmEnter(mm: Mm): void {
    const slot = new MmSlot(this.slots.length, mm);
    this.slots.push(slot);
    const before = this.scanSlot;
    slot.next = before;
    slot.prev = before.prev;
    before.prev.next = slot;
    before.prev = slot;
    mm.attached.set(ATTACH_KEY, slot);
    this.log('ksm_enter', mm, -1);
  }

  /** ksm_fork: the child of a registered mm is registered too. */
  private ksmFork(parent: Mm, child: Mm): void {
    if (parent.attached.has(ATTACH_KEY) && !child.attached.has(ATTACH_KEY)) this.ksmEnter(child);
  }

  /**
   * ksm_exit: the mm's rmap items leave the trees (and the counters) now — or when ksmd finishes the
   * page it is working on, if it is inside one. The slot itself goes too, unless it is under ksmd's
   * cursor: then ksmd frees it when it resumes there, as in the kernel.
   */
  private ksmExit(mm: Mm): void {
    const slot = mm.attached.get(ATTACH_KEY) as MmSlot | undefined;
    if (slot === undefined) return;
    if (this.busy) this.pendingExit.push(slot);
    else this.dropSlotItems(slot);
  }

  private dropSlotItems(slot: MmSlot): void {
    const it = this.items;
    for (let i = slot.head; i !== NO_ITEM; ) {
      const nxt = it.next[i];
      this.removeRmapItemFromTree(i);
      this.freeItem(i);
      i = nxt;
    }
    slot.head = NO_ITEM;
    if (this.scanSlot === slot) {
      this.scanPrev = NO_ITEM;
      this.scanVpn = 0;
    } else if (this.slots[slot.id] !== undefined) this.freeSlot(slot);
    this.log('ksm_exit', slot.mm, -1);
  }

  /** Unlink and forget an mm_slot whose rmap list is empty. */
  private freeSlot(slot: MmSlot): void {
    slot.prev.next = slot.next;
    slot.next.prev = slot.prev;
    slot.prev = slot;
    slot.next = slot;
    this.slots[slot.id] = undefined;
    slot.mm?.attached.delete(ATTACH_KEY);
  }

  // ---- helpers ----

  /**
   * Does anything see this mm's invalidation ranges: a notifier subscriber, a kernel observer (the
   * invariant checker, the USE_CHANGE_PTE validator), or a forced flag? With none of them,
   * mmu_notifier_invalidate_range_start/end do nothing at all, and ksmd skips the calls (and the
   * range object) — a saving that matters at millions of merges, not a change of behaviour.
   */
  private rangeObserved(mm: Mm): boolean {
    const k = this.k;
    return mm.notifiers !== null || k.observers.length > 0 || k.forceUseChangePteAt.size > 0;
  }

  private slotMm(item: number): Mm {
    const slot = this.slots[this.items.slot[item]];
    if (slot === undefined || slot.mm === null) throw new ModelBug(`rmap item ${item} has no mm_slot`);
    return slot.mm;
  }

  /** A page reference KSM's path just took. */
  private hold(pfn: number): void {
    if (this.heldCount === this.held.length) {
      const bigger = new Int32Array(this.held.length * 2);
      bigger.set(this.held);
      this.held = bigger;
    }
    this.held[this.heldCount++] = pfn;
  }

  /** put_page of a reference KSM took (follow_page, get_ksm_page). */
  private putPage(pfn: number): void {
    const held = this.held;
    let i = this.heldCount - 1;
    while (i >= 0 && held[i] !== pfn) i--;
    if (i < 0) throw new ModelBug(`ksmd puts pfn ${pfn}, which it does not hold`);
    held[i] = held[--this.heldCount];
    const k = this.k;
    if (k.frames.refcount[pfn] === 1) this.orphans.delete(pfn);
    k.putPage(pfn);
  }

  /** pages_volatile, as sysfs computes it: rmap items that are in neither tree. */
  private syncVolatile(): void {
    const cv = this.cv;
    cv[this.sVolatile] = this.items.live - cv[this.sShared] - cv[this.sSharing] - cv[this.sUnshared];
  }

  private log(what: string, mm: Mm | null, vpn: number, detail?: string): void {
    if (!this.k.recording) return;
    this.k.log({
      agent: this.agent.name,
      cpu: this.agent.cpu,
      kind: 'ksm',
      what,
      mm: mm?.id,
      start: vpn >= 0 ? vpn * PAGE_SIZE : undefined,
      detail,
    });
  }

  // ---- consistency ----

  /**
   * Counters against a recount of the trees and rmap items, and every KSM page against its stable node
   * and the page tables: PG_KSM with a live node, mapcount equal to the ptes that map it, none of them
   * writable, content unchanged. Empty when consistent.
   */
  problems(): string[] {
    const out: string[] = [];
    const it = this.items;
    const nd = this.nodes;
    const k = this.k;
    const f = k.frames;
    const cv = this.cv;
    let items = 0;
    let unstable = 0;
    let stableItems = 0;
    for (let s = this.head.next; s !== this.head; s = s.next) {
      if (this.slots[s.id] !== s) out.push(`mm_slot ${s.id} is on the list but not registered`);
      let prevVpn = -1;
      let n = 0;
      for (let i = s.head; i !== NO_ITEM; i = it.next[i]) {
        if (++n > it.live) {
          out.push(`mm_slot ${s.id}: rmap_list has a cycle`);
          break;
        }
        items++;
        if (it.slot[i] !== s.id)
          out.push(`rmap item ${i} is on mm_slot ${s.id}'s list but says ${it.slot[i]}`);
        if (it.vpn[i] <= prevVpn) out.push(`mm_slot ${s.id}: rmap_list not in ascending address order`);
        prevVpn = it.vpn[i];
        if (it.tree[i] === IN_UNSTABLE) unstable++;
        else if (it.tree[i] === IN_STABLE) {
          stableItems++;
          if (!nd.alive[it.node[i]]) out.push(`rmap item ${i} is on freed stable node ${it.node[i]}`);
        }
      }
    }
    if (items !== it.live) out.push(`${it.live} rmap items allocated, ${items} on mm_slot lists`);
    let inTree = 0;
    let chains = 0;
    let dups = 0;
    this.stable.forEach((key: number, entry: number) => {
      const list = entry > 0 ? [entry] : this.chains[-entry - 1];
      if (entry < 0) {
        chains++;
        dups += list.length;
      }
      for (const node of list) {
        inTree++;
        if (!nd.alive[node]) out.push(`stable tree holds freed node ${node}`);
        else if ((nd.key[node] | 0) !== key) out.push(`stable node ${node} filed under the wrong content`);
      }
    });
    if (inTree !== nd.live) out.push(`${nd.live} stable nodes allocated, ${inTree} in the stable tree`);
    let shared = 0;
    let sharing = 0;
    let onNodes = 0;
    for (const node of nd.ids()) {
      let n = 0;
      let prev = NO_ITEM;
      for (let i = nd.first[node]; i !== NO_ITEM; i = it.hnext[i]) {
        if (++n > it.live) {
          out.push(`stable node ${node}: hlist has a cycle`);
          break;
        }
        if (it.node[i] !== node || it.tree[i] !== IN_STABLE)
          out.push(`rmap item ${i} on node ${node}'s hlist says otherwise`);
        if (it.hprev[i] !== prev) out.push(`rmap item ${i}: broken hlist back link`);
        prev = i;
      }
      if (n !== nd.len[node]) out.push(`stable node ${node}: rmap_hlist_len ${nd.len[node]} but ${n} items`);
      if (n > 0) {
        shared++;
        sharing += n - 1;
      }
      onNodes += n;
      if (this.nodeValid(node) && f.content[nd.kpfn[node]] !== nd.key[node]) {
        out.push(`KSM page ${nd.kpfn[node]} (node ${node}) changed content`);
      }
    }
    if (onNodes !== stableItems) out.push(`${stableItems} items marked stable, ${onNodes} on stable nodes`);
    const expect = (name: string, slot: number, want: number): void => {
      if (cv[slot] !== want) out.push(`ksm.${name} is ${cv[slot]}, recount gives ${want}`);
    };
    expect('pages_shared', this.sShared, shared);
    expect('pages_sharing', this.sSharing, sharing);
    expect('pages_unshared', this.sUnshared, unstable);
    expect('pages_volatile', this.sVolatile, items - shared - sharing - unstable);
    expect('full_scans', this.sFullScans, this.seqnr);
    expect('stable_node_chains', this.sChains, chains);
    expect('stable_node_dups', this.sDups, dups);
    if (cv[this.sVolatile] < 0) out.push(`ksm.pages_volatile is negative (${cv[this.sVolatile]})`);
    // KSM pages against the page tables
    const maps = new Map<number, number>();
    for (const mm of k.mms.values()) {
      for (const vma of mm.vmas) {
        mm.pt.forEachMapped(vma.start / PAGE_SIZE, vma.end / PAGE_SIZE, (vpn, pte) => {
          if (!ptePresent(pte) || pteSpecial(pte)) return;
          const pfn = ptePfn(pte);
          if ((f.flags[pfn] & PG_KSM) === 0) return;
          maps.set(pfn, (maps.get(pfn) ?? 0) + 1);
          if (pteWrite(pte))
            out.push(`mm${mm.id} maps KSM page ${pfn} writable at 0x${(vpn * PAGE_SIZE).toString(16)}`);
        });
      }
    }
    for (let pfn = 1; pfn < f.count; pfn++) {
      if ((f.flags[pfn] & PG_KSM) === 0 || f.refcount[pfn] === 0) continue;
      const node = this.pfnNode[pfn];
      if (node === NO_NODE) {
        if (!this.busy && !this.orphans.has(pfn)) out.push(`KSM page ${pfn} has no stable node`);
      } else if (!nd.alive[node] || nd.kpfn[node] !== pfn) {
        out.push(`KSM page ${pfn} points at stable node ${node}, which is not its node`);
      }
      const m = maps.get(pfn) ?? 0;
      if (f.mapcount(pfn) !== m)
        out.push(`KSM page ${pfn}: mapcount ${f.mapcount(pfn)} but ${m} ptes map it`);
      if (f.refcount[pfn] < f.mapcount(pfn))
        out.push(`KSM page ${pfn}: refcount ${f.refcount[pfn]} below mapcount`);
      if (out.length > 50) break;
    }
    return out;
  }
}
