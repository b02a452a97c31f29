/**
 * Kernel samepage merging, modelled on mm/ksm.c of Linux v5.0: ksmd (ksm_scan_thread, ksm_do_scan,
 * cmp_and_merge_page) and the hooks madvise, fork and exit call. The parts follow the kernel's seams:
 * the scan cursor (scan.ts), the stable and unstable trees (stable-tree.ts, unstable-tree.ts), the
 * merge paths with their notifier calls (merge.ts) and the self-check (check.ts), over the shared state
 * in state.ts. Sources: ../shared/reference/kernel-semantics.md §2.1–2.4 and §2.7.
 *
 * Concurrency: ksmd's paths yield at preemption points and wait for mmap_sem, the page-table lock and
 * page locks like the kernel's, so the model checker can interleave them with faults, GUP and KVM.
 * Only ksmd touches the trees: ksm_exit leaves an exiting mm's rmap items to ksmd's next visit.
 */
import { ZERO_CONTENT } from '../../hw/content.js';
import { PG_KSM, ZERO_PFN } from '../../hw/frames.js';
import {
  type Agent,
  DONE,
  lockShared,
  type Path,
  preempt,
  preemptPoint,
  runToCompletion,
  unlockShared,
} from '../../sim/exec.js';
import { Access, FOOTPRINT, FootprintKind, note } from '../../sim/footprint.js';
import { detailFormat } from '../../sim/log.js';
import type { Kernel } from '../kernel.js';
import type { KsmHooks } from '../ksm-port.js';
import type { Mm } from '../mm.js';
import { lockPage, unlockPage } from '../page-lock.js';
import { ksmFrameProblems, ksmMappingProblem, ksmProblems, ksmStructureProblems } from './check.js';
import { tryToMergeOnePage, tryToMergeTwoPages, tryToMergeWithKsmPage, unmergeKsmPages } from './merge.js';
import { answered, KsmScan, type ScanPage } from './scan.js';
import {
  ATTACH_KEY,
  findMergeableVma,
  type KsmConfig,
  KsmState,
  type KsmStats,
  type MmSlot,
} from './state.js';
import { IN_STABLE, NO_ITEM, NO_NODE } from './store.js';
import { KsmTrees } from './trees.js';
import { NO_TWIN, type TreeMatch } from './unstable-tree.js';

/** What ksmd is asked to do: `pages` more pages through cmp_and_merge_page, or `fullScans` more full scans. */
export type KsmdWork = { pages: number } | { fullScans: number };

const P_SCAN_NEXT = preemptPoint('ksm_do_scan: next page (cond_resched)');
// the details of ksmd's frequent events, made only when shown (sim/log.ts DetailFormat)
const MERGED = detailFormat('ksm merge into KSM page', (page, kpage) => `pfn ${page} -> kpfn ${kpage}`);
const NEW_KSM_PAGE = detailFormat('ksm new KSM page', (kpfn, page) => `kpfn ${kpfn} replaces pfn ${page}`);

/**
 * ksmd and its data (mm/ksm.c v5.0). Assign `hooks` to `MmSystem.ksm` so madvise, fork and exit reach it.
 * `scanThread(work)` is ksmd's path: a scenario step's, whichever driver runs it; `scan`, `runFullScans`
 * and `runUntilStable` run it to completion.
 */
export class Ksm {
  readonly config: KsmConfig;
  /** ksmd. */
  readonly agent: Agent;
  readonly hooks: KsmHooks;
  readonly stats: KsmStats;
  private readonly s: KsmState;
  private readonly trees: KsmTrees;
  private readonly cursor: KsmScan;
  /** Paths of KSM's under way (a scan, a hook) and how many have run: see `version`. */
  private active = 0;
  private changes = 0;

  constructor(k: Kernel, config: Partial<KsmConfig> = {}) {
    const s = new KsmState(k, config);
    this.s = s;
    this.config = s.config;
    this.agent = s.agent;
    this.stats = s.stats;
    this.trees = new KsmTrees(s);
    this.cursor = new KsmScan(s, this.trees);
    this.hooks = {
      madviseMergeable: (_agent, vma) => this.changing(this.ksmMadviseMergeable(vma.mm)),
      madviseUnmergeable: (agent, vma, start, end) =>
        this.changing(unmergeKsmPages(s, agent, vma, start, end)),
      fork: (parent, child) => {
        if (FOOTPRINT.on) note(FootprintKind.Ksm, 0, 0, Access.Write);
        this.changes++;
        if (parent.attached.has(ATTACH_KEY) && !child.attached.has(ATTACH_KEY)) this.cursor.enter(child);
      },
      exit: (mm) => {
        if (FOOTPRINT.on) note(FootprintKind.Ksm, 0, 0, Access.Write);
        this.changes++;
        this.ksmExit(mm);
      },
    };
  }

  // ---- public queries ----

  /**
   * Changes whenever KSM's own state may have changed, NaN while one of its paths is under way (its
   * state may change at every step then): the invariant checker reruns the self-check only then.
   */
  get version(): number {
    return this.active > 0 ? Number.NaN : this.changes;
  }

  /** Run a path that may change KSM's state, counted in `version`. */
  private *changing<R>(path: Path<R>): Path<R> {
    this.active++;
    try {
      // every transition of a KSM path reads and writes KSM's state: one footprint object (check/dpor.ts),
      // as ksm_thread_mutex and ksm_mmlist_lock serialise it in the kernel
      for (;;) {
        if (FOOTPRINT.on) note(FootprintKind.Ksm, 0, 0, Access.Write);
        const r = path.next();
        if (r.done === true) return r.value;
        yield r.value;
      }
    } finally {
      this.active--;
      this.changes++;
    }
  }

  /** PageKsm. */
  isKsmPage(pfn: number): boolean {
    const f = this.s.k.frames;
    return pfn > 0 && pfn < f.count && (f.flagsOf(pfn) & PG_KSM) !== 0;
  }

  /** Completed full scans (ksm_scan.seqnr, sysfs full_scans). */
  get fullScans(): number {
    return this.s.seqnr;
  }

  /**
   * The page references KSM's paths hold at this moment, per pfn: what an accounting check must add to
   * page tables and pins while ksmd (or break_ksm) is paused inside a page. Empty between pages.
   */
  heldRefs(): Map<number, number> {
    return this.s.heldRefs();
  }

  /** Is this mm registered with ksmd (has an mm_slot)? */
  isRegistered(mm: Mm): boolean {
    return mm.attached.has(ATTACH_KEY);
  }

  /** Counters against a recount of the trees and rmap items, KSM pages against the page tables. */
  problems(): string[] {
    return ksmProblems(this.s, this.trees);
  }

  /** The self-check's part about KSM's own structures (see ksmStructureProblems). */
  structureProblems(): string[] {
    return ksmStructureProblems(this.s, this.trees);
  }

  /** The self-check's part about frames `pfns` alone (see ksmFrameProblems): for checks of what changed. */
  frameProblems(pfns: ArrayLike<number>, ptesOf: (pfn: number) => number): string[] {
    return ksmFrameProblems(this.s, this.trees, pfns, ptesOf);
  }

  /** The self-check's complaint about one pte (a KSM page mapped writable), or null. */
  mappingProblem(mm: Mm, vpn: number, pte: number): string | null {
    return ksmMappingProblem(this.s.k, mm, vpn, pte);
  }

  // ---- ksmd ----

  /**
   * ksm_scan_thread's work: `pages` more pages in batches of pages_to_scan (ksm_do_scan), until three
   * batches in a row find no page; or until `fullScans` more full scans have completed. Nothing to do
   * when no mm is registered.
   */
  scanThread(work: KsmdWork): Path {
    return this.changing(this.scanWork(work));
  }

  private *scanWork(work: KsmdWork): Path {
    const s = this.s;
    const batch = Math.max(1, this.config.pagesToScan);
    if ('fullScans' in work) {
      const target = s.seqnr + work.fullScans;
      while (s.seqnr < target && this.cursor.hasWork()) yield* this.doScan(batch);
      return;
    }
    let left = work.pages;
    let idle = 0;
    while (left > 0 && this.cursor.hasWork()) {
      const before = s.cv[s.c.scanned];
      yield* this.doScan(Math.min(left, batch));
      const done = s.cv[s.c.scanned] - before;
      left -= done;
      idle = done === 0 ? idle + 1 : 0;
      if (idle > 2) break;
    }
  }

  /** ksm_do_scan (mm/ksm.c v5.0): up to `pages` pages; stops early when a full scan completes. */
  *doScan(pages: number): Path {
    const s = this.s;
    const page: ScanPage = { pfn: -1 };
    for (let n = 0; n < pages; n++) {
      if (n > 0) yield* preempt(P_SCAN_NEXT);
      this.s.busy = true;
      const asked = this.cursor.scanGetNextRmapItem(page);
      const item = answered(asked) ? asked : yield* asked;
      if (item === NO_ITEM) {
        this.idle();
        return;
      }
      yield* this.cmpAndMergePage(page.pfn, item);
      s.putPage(page.pfn);
      s.cv[s.c.scanned]++;
      this.idle();
    }
  }

  /**
   * cmp_and_merge_page (v5.0), the heart of ksmd, for one page (referenced) and its rmap item: into a
   * KSM page of the stable tree if one has its content; else, past the checksum gate (a page that changed
   * since the last scan is volatile), with the zero page (use_zero_pages) or with an unstable-tree twin
   * into a new KSM page. Where the kernel returns without sleeping, so does this (a complete path).
   */
  private cmpAndMergePage(page: number, item: number): Path {
    const { s, trees } = this;
    const items = s.items;
    const stable = trees.stable;
    const node = stable.pageStableNode(page);
    if (node !== NO_NODE && items.tree[item] === IN_STABLE && items.node[item] === node) return DONE; // merged here
    if (this.s.k.profile.ksmChecksumBeforeStableSearch && node === NO_NODE)
      return this.volatileFirst(page, item);
    // (the kernel checks `kpage == page && rmap_item->head == stable_node` again after the search: with
    // one NUMA node that is the test just made)
    const kpage = stable.search(page);
    trees.removeRmapItemFromTree(item);
    if (kpage >= 0) return this.mergeWithKsmPage(page, item, kpage);
    // the checksum gate: a page that changed since the last scan is volatile, not worth a tree slot
    if (!this.checksumSteady(page, item)) return DONE;
    if (this.config.useZeroPages && s.k.frames.contentOf(page) === ZERO_CONTENT)
      return this.mergeWithZeroPage(page, item);
    return this.mergeWithUnstableTwin(page, item);
  }

  /** The checksum gate: false (and the new checksum kept) when the page changed since the last scan. */
  private checksumSteady(page: number, item: number): boolean {
    const items = this.s.items;
    const checksum = this.s.k.frames.contentOf(page);
    if (items.checksum[item] === checksum) return true;
    items.checksum[item] = checksum;
    return false;
  }

  /**
   * cmp_and_merge_page since 2024 (v6.11, Chengming Zhou, "mm/ksm: don't waste time searching stable tree
   * for fast changing page"; mm/ksm.c v6.18) for a page that is not a KSM page: its item leaves its tree,
   * then the checksum gate and the zero page come before the stable tree. So a changed page waits a scan
   * even when a KSM page has its content, and a stale item no longer counts against max_page_sharing
   * while the stable tree is searched.
   */
  private *volatileFirst(page: number, item: number): Path {
    const { trees } = this;
    trees.removeRmapItemFromTree(item);
    if (!this.checksumSteady(page, item)) return;
    if (this.config.useZeroPages && this.s.k.frames.contentOf(page) === ZERO_CONTENT) {
      if (yield* this.tryZeroPage(page, item)) return;
    }
    const kpage = trees.stable.search(page);
    if (kpage >= 0) return yield* this.mergeWithKsmPage(page, item, kpage);
    yield* this.mergeWithUnstableTwin(page, item);
  }

  /** cmp_and_merge_page, `if (kpage)`: try_to_merge_with_ksm_page, then the item joins kpage's node. */
  private *mergeWithKsmPage(page: number, item: number, kpage: number): Path {
    const { s, trees } = this;
    const { k, agent } = s;
    if (yield* tryToMergeWithKsmPage(s, trees, item, page, kpage)) {
      yield* lockPage(k, agent, kpage);
      const kn = trees.stable.pageStableNode(kpage);
      if (kn !== NO_NODE) trees.stable.append(item, kn);
      unlockPage(k, agent, kpage);
      if (kpage !== page) {
        s.stats.stableMerges++;
        if (k.recording)
          s.logAs('merge into KSM page', s.slotMm(item), s.itemAddress(item), MERGED, page, kpage);
      }
    }
    s.putPage(kpage);
  }

  /** cmp_and_merge_page, use_zero_pages: an empty page maps the zero page; else on to the unstable tree. */
  private *mergeWithZeroPage(page: number, item: number): Path {
    if (yield* this.tryZeroPage(page, item)) return;
    // the page was not really empty: carry on with the unstable tree
    yield* this.mergeWithUnstableTwin(page, item);
  }

  /** try_to_merge_with_zero_page: did the page become the zero page? */
  private *tryZeroPage(page: number, item: number): Path<boolean> {
    const s = this.s;
    const mm = s.slotMm(item);
    const addr = s.itemAddress(item);
    yield* lockShared(s.agent, mm.mmapLock);
    const vma = findMergeableVma(mm, addr);
    const ok = vma !== undefined && (yield* tryToMergeOnePage(s, vma, page, ZERO_PFN, addr));
    unlockShared(mm.mmapLock);
    if (ok) {
      s.stats.zeroPageMerges++;
      s.log('merge with the zero page', mm, addr);
    }
    return ok;
  }

  /**
   * cmp_and_merge_page, the unstable tree: unstable_tree_search_insert files the page or finds its twin;
   * try_to_merge_two_pages makes both map one new KSM page, which gets a stable node holding both items.
   */
  private mergeWithUnstableTwin(page: number, item: number): Path {
    const search = this.trees.unstable.searchInsert(item, page);
    return search === NO_TWIN ? DONE : this.mergeTwoPages(page, item, search);
  }

  private *mergeTwoPages(page: number, item: number, search: Path<TreeMatch | null>): Path {
    const { s, trees } = this;
    const { k, agent } = s;
    const twin = yield* search;
    if (twin === null) return;
    const kpfn = yield* tryToMergeTwoPages(s, trees, item, page, twin.item, twin.page);
    s.putPage(twin.page);
    if (kpfn < 0) return;
    yield* lockPage(k, agent, kpfn);
    const sn = trees.stable.insert(kpfn);
    trees.stable.append(twin.item, sn);
    trees.stable.append(item, sn);
    unlockPage(k, agent, kpfn);
    s.stats.newKsmPages++;
    if (k.recording)
      s.logAs('new KSM page', s.slotMm(item), s.itemAddress(item), NEW_KSM_PAGE, kpfn, twin.page);
  }

  /** ksmd leaves the page it worked on. */
  private idle(): void {
    this.s.busy = false;
  }

  // ---- sequential drivers ----

  /** ksmd works until `pages` more pages have been through cmp_and_merge_page (see scanThread). */
  scan(pages: number): void {
    runToCompletion(this.scanThread({ pages }));
  }

  /** ksmd runs until `n` more full scans have completed (none if no mm is registered). */
  runFullScans(n: number): void {
    runToCompletion(this.scanThread({ fullScans: n }));
  }

  /**
   * Full scans until pages_sharing stops growing (at least two: the first only records checksums).
   * Returns the number of full scans done.
   */
  runUntilStable(maxFullScans = 64): number {
    const s = this.s;
    let done = 0;
    let prev = -1;
    while (done < maxFullScans) {
      const before = s.seqnr;
      this.runFullScans(1);
      if (s.seqnr === before) break;
      done++;
      const sharing = s.cv[s.c.sharing];
      if (done >= 2 && sharing <= prev) break;
      prev = sharing;
    }
    return done;
  }

  // ---- the hooks ----

  /** ksm_madvise(MADV_MERGEABLE): __ksm_enter the mm if it is not registered yet. */
  private *ksmMadviseMergeable(mm: Mm): Path<null> {
    if (!mm.exiting && !mm.attached.has(ATTACH_KEY)) this.cursor.enter(mm);
    return null;
  }

  /** ksm_exit: the mm's slot is freed if it is empty, else left to ksmd's next visit (KsmScan.exit). */
  private ksmExit(mm: Mm): void {
    const slot = mm.attached.get(ATTACH_KEY) as MmSlot | undefined;
    if (slot !== undefined) this.cursor.exit(slot);
  }
}
