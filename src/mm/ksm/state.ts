/**
 * What every part of KSM shares (mm/ksm.c v5.0's file-scope state): the knobs, ksmd's agent, the rmap
 * items and stable nodes, page->mapping of KSM pages, the sysfs counters, the page references ksmd's
 * paths hold, and the mm_slots. The scan cursor, the two trees and the merge paths each own the rest.
 */
import { PAGE_SIZE } from '../../hw/page.js';
import { type Agent, ModelBug } from '../../sim/exec.js';
import { type DetailFormat, newEvent } from '../../sim/log.js';
import type { Kernel } from '../kernel.js';
import type { Mm } from '../mm.js';
import { VM_MERGEABLE, type Vma } from '../vma.js';
import { KSM_COUNTERS } from './counters.js';
import { NO_ITEM, RmapItems, StableNodes } from './store.js';

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
  /** Pages the smart scan skipped (sysfs pages_skipped, v6.7+). */
  smartScanSkipped: number;
}

/** Key of KSM's mm_slot in Mm.attached. */
export const ATTACH_KEY = 'ksm';

/** struct mm_slot: an mm registered with ksmd (MMF_VM_MERGEABLE), on the ksm_mm_head list. */
export class MmSlot {
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

/** The sysfs counters' slots in the kernel's counter values (bumped directly on the hot paths). */
export interface KsmCounterSlots {
  readonly shared: number;
  readonly sharing: number;
  readonly unshared: number;
  readonly volatile: number;
  readonly fullScans: number;
  readonly scanned: number;
  readonly chains: number;
  readonly dups: number;
}

export class KsmState {
  readonly config: KsmConfig;
  /** ksmd. */
  readonly agent: Agent;
  readonly stats: KsmStats = {
    wpRefusedPinned: 0,
    replaceRaced: 0,
    stableMerges: 0,
    newKsmPages: 0,
    zeroPageMerges: 0,
    breakCow: 0,
    unmerged: 0,
    smartScanSkipped: 0,
  };
  readonly items = new RmapItems();
  readonly nodes = new StableNodes();
  /** page->mapping for KSM pages: the stable node of each frame (NO_NODE when none). */
  readonly pfnNode: Int32Array;
  /** ksm_mm_head and the slots by id (items record their slot's id). */
  readonly head = new MmSlot(0, null);
  readonly slots: (MmSlot | undefined)[] = [this.head];
  /** ksm_scan.seqnr: completed full scans (the unstable tree ages its items by it). */
  seqnr = 0;
  /**
   * ksmd is inside one page's work, holding an rmap item and page references across preemption points:
   * ksm_exit then leaves the mm's items to ksmd (see Ksm.ksmExit).
   */
  busy = false;
  /** KSM pages a failed break_cow left outside the stable tree (the kernel tolerates them too). */
  readonly orphans = new Set<number>();
  readonly cv: number[];
  readonly c: KsmCounterSlots;
  /** Page references KSM's paths hold right now (ksmd's FOLL_GET and get_ksm_page ones, break_ksm's). */
  private held = new Int32Array(8);
  private heldCount = 0;

  constructor(
    readonly k: Kernel,
    config: Partial<KsmConfig>,
  ) {
    this.config = { ...KSM_DEFAULT_CONFIG, ...config };
    this.agent = k.newAgent('ksmd');
    this.pfnNode = k.frames.perFrame(Int32Array);
    const c = k.counters;
    this.cv = c.values;
    this.c = {
      shared: c.slot(KSM_COUNTERS.name('pages_shared')),
      sharing: c.slot(KSM_COUNTERS.name('pages_sharing')),
      unshared: c.slot(KSM_COUNTERS.name('pages_unshared')),
      volatile: c.slot(KSM_COUNTERS.name('pages_volatile')),
      fullScans: c.slot(KSM_COUNTERS.name('full_scans')),
      scanned: c.slot(KSM_COUNTERS.name('pages_scanned')),
      chains: c.slot(KSM_COUNTERS.name('stable_node_chains')),
      dups: c.slot(KSM_COUNTERS.name('stable_node_dups')),
    };
  }

  /** The mm of an rmap item's mm_slot. */
  slotMm(item: number): Mm {
    const slot = this.slots[this.items.slot[item]];
    if (slot === undefined || slot.mm === null) throw new ModelBug(`rmap item ${item} has no mm_slot`);
    return slot.mm;
  }

  /** A page reference KSM's path just took (follow_page FOLL_GET, get_ksm_page). */
  getPage(pfn: number): void {
    this.k.frames.addRef(pfn, 1);
    if (this.heldCount === this.held.length) this.holdMore();
    this.held[this.heldCount++] = pfn;
  }

  private holdMore(): void {
    const bigger = new Int32Array(this.held.length * 2);
    bigger.set(this.held);
    this.held = bigger;
  }

  /** put_page of a reference KSM took. */
  putPage(pfn: number): void {
    const held = this.held;
    let i = this.heldCount - 1;
    while (i >= 0 && held[i] !== pfn) i--;
    if (i < 0) throw new ModelBug(`ksmd puts pfn ${pfn}, which it does not hold`);
    held[i] = held[--this.heldCount];
    const k = this.k;
    // (an orphan only: the count is read where it matters; most puts meet no orphan at all)
    if (this.orphans.size > 0 && this.orphans.has(pfn) && k.frames.refcountOf(pfn) === 1)
      this.orphans.delete(pfn);
    k.putPage(pfn);
  }

  /** The references held now, per pfn (empty between pages). */
  heldRefs(): Map<number, number> {
    const out = new Map<number, number>();
    for (let i = 0; i < this.heldCount; i++) out.set(this.held[i], (out.get(this.held[i]) ?? 0) + 1);
    return out;
  }

  /** pages_volatile, as sysfs computes it: rmap items that are in neither tree. */
  syncVolatile(): void {
    const cv = this.cv;
    const c = this.c;
    cv[c.volatile] = this.items.live - cv[c.shared] - cv[c.sharing] - cv[c.unshared];
  }

  /** free_rmap_item (the caller has taken it out of its tree and list). */
  freeItem(id: number): void {
    this.items.free(id);
    this.syncVolatile();
  }

  log(what: string, mm: Mm | null, address: number, detail?: string): void {
    if (!this.k.recording) return;
    const e = newEvent(
      this.agent.name,
      this.agent.cpu,
      'ksm',
      what,
      mm?.id,
      address >= 0 ? address : undefined,
    );
    e.detail = detail;
    this.k.log(e);
  }
  /** A frequent event, its detail made by `format` from x and y only when shown. */
  logAs(what: string, mm: Mm, address: number, format: DetailFormat, x: number, y: number): void {
    if (!this.k.recording) return;
    const e = newEvent(this.agent.name, this.agent.cpu, 'ksm', what, mm.id, address);
    e.format = format;
    e.x = x;
    e.y = y;
    this.k.log(e);
  }

  /** The address of an rmap item (rmap_item->address). */
  itemAddress(item: number): number {
    return this.items.vpn[item] * PAGE_SIZE;
  }
}

/** find_mergeable_vma: the VM_MERGEABLE vma with an anon_vma at addr, unless the mm is exiting. */
export function findMergeableVma(mm: Mm, addr: number): Vma | undefined {
  if (mm.exiting) return undefined; // ksm_test_exit
  const vma = mm.findVma(addr);
  if (vma === undefined || (vma.flags & VM_MERGEABLE) === 0 || vma.anonVma === null) return undefined;
  return vma;
}
