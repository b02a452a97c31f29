/**
 * The invariants of DESIGN.md §4, checked as the model runs:
 * 1 coherence — outside an open invalidation range covering the address, every secondary translation
 *   (and every CPU TLB entry) maps the pfn the primary pte maps, writable only if the pte is;
 * 2 stale write — every store, by any agent, lands in the frame the primary maps writable there;
 * 3 data — every load returns what was last stored at that (mm, address) (or shmem page), so a store in
 *   one mm never shows in another that does not share the mapping;
 * 4 accounting — refcount and mapcount equal what page tables, page caches, pins and secondaries hold,
 *   rss counters match, KSM's counters equal a recount, and nothing is leaked when every mm has gone;
 * 5 the seed's rule — checked by UseChangePteValidator as ranges close.
 * Access-time checks (2, 3) run on every access. `checkAll` sweeps 1, 3 and 4 over everything;
 * `checkNow` checks only what changed since the last check (see "change tracking" below) and reports
 * exactly what `checkAll` would report at that moment.
 */

import { ZERO_CONTENT } from '../hw/content.js';
import { type FrameTable, PG_ANON, PG_KSM, ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE, vpnAddress, vpnOf } from '../hw/page.js';
import { PageMap } from '../hw/page-map.js';
import { VPN_LIMIT } from '../hw/pagetable.js';
import { PfnSet } from '../hw/pfn-set.js';
import {
  formatPte,
  pteAccessible,
  ptePfn,
  ptePresent,
  pteProtnone,
  pteSpecial,
  pteWrite,
} from '../hw/pte.js';
import type { AccessRecord, Kernel, KernelObserver, PteWriter } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import type { NotifierRange } from '../mm/notifier-port.js';
import type { ShmemObject } from '../mm/shmem.js';
import type { Vma } from '../mm/vma.js';
import { BigMap } from '../sim/big-map.js';
import type { Agent } from '../sim/exec.js';
import { Access, FOOTPRINT, FootprintKind, note } from '../sim/footprint.js';
import { NotifierChain } from './chain.js';
import { ChangedPages } from './changed-pages.js';
import type { SecondaryMmuView, TranslationVisitor } from './secondary-view.js';
import type { Violations } from './violations.js';

export interface CheckSources {
  /** Secondary MMUs alive now. */
  secondaries(): Iterable<SecondaryMmuView>;
  /** References held by gup/pin handles, per pfn. */
  pinnedRefs(): Map<number, number>;
  /** KSM's own consistency problems (counters vs recount), if KSM is present. */
  ksmProblems?(): string[];
  /**
   * The part of `ksmProblems` about KSM's own structures alone (not its pages against the page tables):
   * with it, a check after KSM's state moved walks no page table (see checkKsmMoved).
   */
  ksmStructureProblems?(): string[];
  /**
   * Changes whenever KSM's own state may have (ksmd ran, a KSM hook was called): an incremental check
   * reruns `ksmProblems` only then or when a KSM page changed. Without it, every check reruns it.
   */
  ksmVersion?(): number;
  /**
   * While `ksmVersion` stands still, what `ksmProblems` would say about frames `pfns` (mapped by
   * `ptesOf(pfn)` ptes each) and about one pte: all of it that can change then. Without them, a check
   * reruns the whole of `ksmProblems` whenever a KSM page changed.
   */
  ksmFrameProblems?(pfns: ArrayLike<number>, ptesOf: (pfn: number) => number): string[];
  ksmMappingProblem?(mm: Mm, vpn: number, pte: number): string | null;
}

const hex = (x: number): string => `0x${x.toString(16)}`;

/** A pte that references a frame: not none, not the zero page (what the accounting counts). */
const counted = (pte: number): boolean => pte !== 0 && !pteSpecial(pte);

/** New accounting reports one check makes at most (a broken model would otherwise flood). */
const ACCOUNTING_REPORTS_PER_CHECK = 5;

/** Host addresses a page table can map (the end of a whole-address-space range). */
const ADDRESS_LIMIT = vpnAddress(VPN_LIMIT);

/** A run of changed pages longer than this finds its TLB entries by a scan of each TLB, not a lookup per page. */
const TLB_SCAN_PAGES = 64;

/** Pages a check may have to look at before a full sweep is cheaper (and the lists stop growing). */
const MAX_TRACKED = 1 << 22;

/**
 * (mm id, start, end) records in a growable typed array: the address ranges whose translations may have
 * become visible again. No JS collection per range: the list is as long as the changes, and bounded.
 */
class ChangeList {
  private a = new Float64Array(3 * 256);
  n = 0;

  /** False when the list is full (the caller falls back to a full sweep). */
  push(mm: number, x: number, y: number): boolean {
    const i = 3 * this.n;
    if (i > 0 && this.a[i - 3] === mm && this.a[i - 2] === x && this.a[i - 1] === y) return true;
    if (i + 3 > this.a.length) {
      if (this.n >= MAX_TRACKED) return false;
      const bigger = new Float64Array(this.a.length * 2);
      bigger.set(this.a);
      this.a = bigger;
    }
    this.a[i] = mm;
    this.a[i + 1] = x;
    this.a[i + 2] = y;
    this.n++;
    return true;
  }

  mm(i: number): number {
    return this.a[3 * i];
  }
  x(i: number): number {
    return this.a[3 * i + 1];
  }
  y(i: number): number {
    return this.a[3 * i + 2];
  }

  clear(): void {
    this.n = 0;
    if (this.a.length > 3 << 16) this.a = new Float64Array(3 * 256);
  }
}

/**
 * FrameTable.rewritten for the checker: the frames whose bytes changed since the last check, and for
 * each whether the last change was a store its only mapper made (set by onAccess after the store, reset
 * by any change): every pte that maps such a frame is then the storer's, noted, or was stored since,
 * noted too, so the check need not look for the frame's mappers.
 */
class Rewrites extends PfnSet {
  readonly bySoleMapper: Uint8Array;

  constructor(frames: FrameTable) {
    super(frames);
    this.bySoleMapper = frames.perFrame(Uint8Array);
  }

  override add(pfn: number): void {
    this.bySoleMapper[pfn] = 0;
    super.add(pfn);
  }
}

interface Rss {
  anon: number;
  shmem: number;
}

interface Slot {
  map: PageMap;
  key: number;
  /** The shmem object for a shared mapping (its page is `key`), else null. */
  obj: ShmemObject | null;
}

/**
 * Change tracking. Every fact the sweeps check depends on state that only a few accessors change, and
 * each of them reports here: page-table stores (the page tables' `watch`), frame refcount, mapcount and
 * allocation (FrameTable.touched), stores into frames (FrameTable.rewritten) and the expected data
 * they change (onAccess), CPU TLB fills (Tlb.watch), secondary MMU installs (onSecondaryMap),
 * invalidation ranges closing (onRangeEnd), gup pins and ksmd's and the secondaries'
 * references (compared with the last check's), KSM's own state (`ksmVersion`). Since the last check,
 * `pages` (a bitmap per mm, ChangedPages) holds the (mm, vpn) whose translations changed (their
 * coherence is checked) and those whose ptes or expected data changed (their data too), `ranges` the
 * ranges that closed (translations they hid are visible again), `written` the frames whose bytes changed and
 * may be mapped elsewhere, and FrameTable.touched the frames whose accounting may have changed; the
 * checker keeps its own recount of the ptes mapping each frame and of every mm's rss (from the stores),
 * so a frame is checked without a walk. A full sweep (`checkAll`) re-establishes that recount.
 */
/**
 * The shadow of what was last stored at a slot is checker state that decides a report: its reads and
 * writes belong to the accessing transition's footprint like the model's own (check/dpor.ts).
 */
function noteShadow(mm: Mm, s: Slot, mode: Access): void {
  const serial = s.obj === null ? mm.id + 1 : 2048 + s.obj.id;
  note(FootprintKind.CheckerShadow, serial, s.key, mode);
}

export class InvariantChecker implements KernelObserver {
  /** Expected content of private pages: mm id -> vpn -> content id (absent = zero). */
  private readonly privateData = new Map<number, PageMap>();
  /** Expected content of shmem pages: object id -> page index -> content id. */
  private readonly sharedData = new Map<number, PageMap>();
  /** Stop reporting after this many violations (a broken model would otherwise flood). */
  maxReports = 50;

  /** The recount: ptes mapping each frame (null until the first full sweep; nothing is tracked before). */
  private ptes: Int32Array | null = null;
  private readonly rss = new Map<number, Rss>();
  private readonly pages = new ChangedPages();
  private readonly ranges = new ChangeList();
  private readonly written: Rewrites;
  private readonly touched: PfnSet;
  /** A list overflowed: the next check sweeps everything. */
  private overflow = false;
  /** References held outside page tables and caches (pins, ksmd, secondaries) at the last check. */
  private holders: ReadonlyMap<number, number> = NO_HOLDERS;
  /** Frames with an unreported accounting problem that the per-check report cap held back. */
  private carried: number[] = [];
  private ksmSeen = Number.NaN;
  /**
   * Frames whose every mapper one check must find by a walk. This and the two KSM arrays below are made
   * with the checker: made when first needed, after the model checker's snapshot, every execution would
   * make them again.
   */
  private readonly scratch: PfnSet;
  /** The frames that were KSM pages at the last check of KSM (a byte each). */
  private readonly ksmKnown: Uint8Array;
  /**
   * While a check whose KSM state moved looks at the changed pages: per frame that became a KSM page
   * since the last check, the ptes mapping it the look saw (then a frame all of whose mappers it saw is
   * not looked for by a walk); else null.
   */
  private freshKsmMappers: Int32Array | null = null;
  private readonly ksmMapperCounts: Int32Array;
  private readonly unseen: number[] = [];

  constructor(
    private readonly k: Kernel,
    private readonly sources: CheckSources,
    private readonly violations: Violations,
  ) {
    this.written = new Rewrites(k.frames);
    this.touched = new PfnSet(k.frames);
    this.scratch = new PfnSet(k.frames);
    this.ksmKnown = k.frames.perFrame(Uint8Array);
    this.ksmMapperCounts = k.frames.perFrame(Int32Array);
    k.frames.touched = this.touched;
    k.frames.rewritten = this.written;
    for (const mm of k.mms.values()) this.watch(mm);
    for (const tlb of k.machine.tlbs) {
      tlb.watch = (mm, vpn) => {
        if (this.ptes !== null) this.note(mm, vpn, false);
      };
    }
  }

  /** Messages already reported: a stale translation found again by the next sweep is one violation. */
  private readonly reported = new Set<string>();

  private report(invariant: string, message: string, agents: string[], addresses: string[]): void {
    if (this.violations.length >= this.maxReports) return;
    if (this.reported.has(message)) return;
    this.reported.add(message);
    this.violations.report({ invariant, message, agents, addresses });
  }

  /** What `slot` answers: one object, refilled at each call (none per access), valid until the next. */
  private readonly located: Slot = { map: new PageMap(), key: 0, obj: null };

  /** The data key of (mm, address): the shmem page for shared mappings, else the private page. */
  private slot(mm: Mm, address: number): Slot {
    const vma = mm.findVma(address);
    const vpn = vpnOf(address);
    const s = this.located;
    if (vma !== undefined && vma.shmem !== null) {
      let m = this.sharedData.get(vma.shmem.id);
      if (m === undefined) this.sharedData.set(vma.shmem.id, (m = new PageMap()));
      s.map = m;
      s.key = vpn + dataKeyOffset(vma);
      s.obj = vma.shmem;
      return s;
    }
    let m = this.privateData.get(mm.id);
    if (m === undefined) this.privateData.set(mm.id, (m = new PageMap()));
    s.map = m;
    s.key = vpn;
    s.obj = null;
    return s;
  }

  /**
   * Live gup/pin handles (by `pin:NAME`, the `via` of I/O through them): the owner's mm, the first
   * address, the pinned frames, and the content each should hold — what the owner last stored there.
   */
  private readonly pins = new Map<
    string,
    { mm: Mm; vpn: number; pfns: readonly number[]; content: number[] }
  >();

  /** A pin was taken: reads through it must return what its owner stored, and writes must reach it. */
  notePin(via: string, mm: Mm, address: number, pfns: readonly number[]): void {
    const content = pfns.map((pfn) => (pfn === ZERO_PFN ? ZERO_CONTENT : this.k.frames.raw.content[pfn]));
    this.pins.set(via, { mm, vpn: vpnOf(address), pfns, content });
  }

  forgetPin(via: string): void {
    this.pins.delete(via);
  }

  // ---- change tracking ----

  private watch(mm: Mm): void {
    mm.pt.watch = (vpn, oldPte, newPte) => this.onStore(mm, vpn, oldPte, newPte);
  }

  /**
   * Something of (mm, vpn) changed: a translation of it (its coherence is checked next time), or with
   * `data` its pte or expected data (all of its facts are).
   */
  private note(mm: number, vpn: number, data: boolean): void {
    if (this.overflow) return; // the next check sweeps everything
    this.pages.add(mm, vpn, data);
    if (this.pages.size > MAX_TRACKED) this.overflow = true;
  }

  /** Every store into a page table: the recount follows, and the page's facts are checked next time. */
  private onStore(mm: Mm, vpn: number, oldPte: number, newPte: number): void {
    const ptes = this.ptes;
    if (ptes === null) return; // no recount yet: the first check sweeps everything
    this.note(mm.id, vpn, true);
    const oldPfn = counted(oldPte) ? ptePfn(oldPte) : -1;
    const newPfn = counted(newPte) ? ptePfn(newPte) : -1;
    if (oldPfn === newPfn) return; // the same frame (or none): only bits changed
    if (oldPfn >= 0) {
      ptes[oldPfn]--;
      this.touched.add(oldPfn);
    }
    if (newPfn >= 0) {
      ptes[newPfn]++;
      this.touched.add(newPfn);
    }
    if (oldPfn >= 0 && newPfn >= 0) return; // a frame for a frame (KSM's replace_page, COW): the rss stays
    let r = this.rss.get(mm.id);
    if (r === undefined) this.rss.set(mm.id, (r = { anon: 0, shmem: 0 }));
    const d = newPfn >= 0 ? 1 : -1;
    if (isShmemAt(mm, vpn)) r.shmem += d;
    else r.anon += d;
  }

  /**
   * The expected content at a slot changed (a store by `mm` at `vpn`): that page's fact, and for a shmem
   * page every mapping of it, are checked next time (the frame's other mappers come from `written`).
   */
  private noteStore(mm: Mm, vpn: number, s: Slot): void {
    if (this.ptes === null) return;
    if (s.obj === null) {
      this.note(mm.id, vpn, true);
      return;
    }
    for (const other of this.k.mms.values()) {
      for (const vma of other.vmas) {
        if (vma.shmem !== s.obj) continue;
        const at = vpnOf(vma.start) + (s.key - vma.shmemPgoff);
        if (at >= vpnOf(vma.start) && at < vpnOf(vma.end)) this.note(other.id, at, true);
      }
    }
  }

  // ---- observer hooks ----

  onMmCreated(mm: Mm): void {
    this.watch(mm);
  }

  onSecondaryMap(mm: Mm, address: number): void {
    if (this.ptes !== null) this.note(mm.id, vpnOf(address), false);
  }

  onRangeEnd(_agent: Agent, range: NotifierRange): void {
    if (this.ptes === null) return;
    if (range.end - range.start <= PAGE_SIZE) this.note(range.mm.id, vpnOf(range.start), false);
    else if (!this.ranges.push(range.mm.id, range.start, range.end)) this.overflow = true;
  }

  onAccess(a: AccessRecord): void {
    const vpn = vpnOf(a.address);
    const pin = this.pins.size === 0 ? undefined : this.pins.get(a.via);
    if (pin !== undefined) {
      this.onPinIo(a, pin, vpn, this.where(a.mm, vpn));
      return;
    }
    if (a.write && this.pins.size > 0) {
      if (FOOTPRINT.on) note(FootprintKind.CheckerShadow, 0, 0, Access.Write); // the pins' shadows
      // the owner storing into a page it has pinned: the pin sees it (anyone else's store must not show)
      for (const p of this.pins.values()) {
        const i = vpn - p.vpn;
        if (p.mm === a.mm && i >= 0 && i < p.pfns.length && p.pfns[i] === a.pfn) p.content[i] = a.after;
      }
    }
    if (a.write) {
      const pte = a.mm.pt.get(vpn);
      if (!ptePresent(pte) || !pteWrite(pte) || pteSpecial(pte) || ptePfn(pte) !== a.pfn) {
        this.report(
          'stale-write',
          `invariant 2: ${a.agent.name} (via ${a.via}) wrote pfn ${hex(a.pfn)} at ${this.where(a.mm, vpn)} but the primary pte is ${formatPte(pte)}`,
          [a.agent.name, a.via],
          [this.where(a.mm, vpn)],
        );
      } else if (this.ptes !== null && this.ptes[a.pfn] === 1) this.written.bySoleMapper[a.pfn] = 1;
    }
    const s = this.slot(a.mm, a.address);
    if (FOOTPRINT.on) noteShadow(a.mm, s, a.write ? Access.Write : Access.Read);
    const expected = s.map.get(s.key);
    if (a.before !== expected) {
      this.report(
        'data',
        `invariant 3: ${a.agent.name} (via ${a.via}) found content #${a.before} at ${this.where(a.mm, vpn)}, expected #${expected} (last written there)`,
        [a.agent.name, a.via],
        [this.where(a.mm, vpn)],
      );
    }
    if (a.write) {
      s.map.set(s.key, a.after);
      this.noteStore(a.mm, vpn, s);
    }
  }

  /**
   * I/O through a pin (O_DIRECT, RDMA, vmsplice): the device uses the pinned frame, whatever the pte
   * says now. A load must return what the owner last stored (invariant 3: a page another mm wrote after
   * the owner let go of it leaks that mm's data); a store must land in the frame the owner maps there,
   * or the process never sees it (invariant 2: the device write is lost).
   */
  private onPinIo(
    a: AccessRecord,
    pin: { pfns: readonly number[]; content: number[]; vpn: number },
    vpn: number,
    where: string,
  ): void {
    const i = vpn - pin.vpn;
    if (FOOTPRINT.on) note(FootprintKind.CheckerShadow, 0, 0, Access.Write); // the pin's shadow
    if (a.before !== pin.content[i]) {
      this.report(
        'data',
        `invariant 3: ${a.agent.name} (via ${a.via}) found content #${a.before} in pinned pfn ${hex(a.pfn)} of ${where}, expected #${pin.content[i]} (what ${a.mm.owner} last stored there)`,
        [a.agent.name, a.via],
        [where],
      );
    }
    if (!a.write) return;
    pin.content[i] = a.after;
    const pte = a.mm.pt.get(vpn);
    if (!ptePresent(pte) || pteSpecial(pte) || ptePfn(pte) !== a.pfn) {
      this.report(
        'stale-write',
        `invariant 2: ${a.agent.name} (via ${a.via}) wrote pinned pfn ${hex(a.pfn)} of ${where} but the primary pte is ${formatPte(pte)}: ${a.mm.owner} never sees the device's write`,
        [a.agent.name, a.via],
        [where],
      );
      return;
    }
    const s = this.slot(a.mm, a.address);
    if (FOOTPRINT.on) noteShadow(a.mm, s, Access.Write);
    s.map.set(s.key, a.after);
    this.noteStore(a.mm, vpn, s);
  }

  onPteChange(_agent: Agent, mm: Mm, address: number, _old: number, _new: number, via: PteWriter): void {
    // a zap (munmap, MADV_DONTNEED, exit) discards private data: the page reads as zeroes afterwards
    if (via !== 'ptep_get_and_clear') return;
    const vma = mm.findVma(address);
    if (vma !== undefined && vma.shmem !== null) return;
    if (FOOTPRINT.on) note(FootprintKind.CheckerShadow, mm.id + 1, vpnOf(address), Access.Write);
    this.privateData.get(mm.id)?.set(vpnOf(address), ZERO_CONTENT);
  }

  onFork(parent: Mm, child: Mm): void {
    const p = this.privateData.get(parent.id);
    if (p === undefined) return;
    const copy = new PageMap();
    for (const vma of child.vmas) {
      if (vma.shmem !== null) continue;
      p.forEach(
        (vpn, c) => {
          copy.set(vpn, c);
        },
        vpnOf(vma.start),
        vpnOf(vma.end),
      );
    }
    this.privateData.set(child.id, copy); // the child's ptes were noted as fork stored them
  }

  onMmGone(mm: Mm): void {
    this.privateData.delete(mm.id);
    mm.pt.watch = null;
    const ptes = this.ptes;
    if (ptes === null) return;
    // the mm leaves the kernel's list (the sweeps' universe): whatever its table still holds stops counting
    mm.pt.forEachMapped(0, VPN_LIMIT, (_vpn, pte) => {
      if (!counted(pte)) return;
      ptes[ptePfn(pte)]--;
      this.touched.add(ptePfn(pte));
    });
    this.rss.delete(mm.id);
  }

  /** The content expected at (mm, address), for expectations that read without faulting. */
  expectedContent(mm: Mm, address: number): number {
    return this.expectedAt(mm, vpnOf(address));
  }

  /** What was last stored at page `vpn` of mm (as `slot` finds it, without making a Slot: every check asks). */
  private expectedAt(mm: Mm, vpn: number): number {
    const vma = mm.findVma(vpnAddress(vpn));
    return this.dataMap(mm, vma)?.get(vpn + dataKeyOffset(vma)) ?? 0;
  }

  /** The map holding what was stored in `vma`'s pages: its shmem object's if shared, else the mm's. */
  private dataMap(mm: Mm, vma: Vma | undefined): PageMap | undefined {
    const obj = vma === undefined ? null : vma.shmem;
    return obj === null ? this.privateData.get(mm.id) : this.sharedData.get(obj.id);
  }

  // ---- checks ----

  /**
   * Check invariants 1, 3 and 4 where something changed since the last check (everything, the first
   * time or when too much changed); returns the number of new violations. Reports exactly what
   * `checkAll` would.
   */
  checkNow(): number {
    if (this.ptes === null || this.overflow) return this.checkAll();
    const before = this.violations.length;
    this.checkChanges();
    return this.violations.length - before;
  }

  /** Sweep invariants 1, 3 (every mapped page) and 4 over the whole machine; returns the new violations. */
  checkAll(): number {
    const before = this.violations.length;
    this.pages.clear();
    this.ranges.clear();
    this.written.drainSorted();
    this.touched.drainSorted();
    this.overflow = false;
    this.checkCoherence();
    this.checkData();
    this.checkAccounting();
    return this.violations.length - before;
  }

  private checkChanges(): void {
    const k = this.k;
    const holders = this.holdersNow();
    for (const [pfn, n] of holders) if (this.holders.get(pfn) !== n) this.touched.add(pfn);
    for (const pfn of this.holders.keys()) if (!holders.has(pfn)) this.touched.add(pfn);
    this.holders = holders;
    const views = this.viewsByMm();
    const ksmPages: { mm: Mm; vpn: number; pte: number }[] = []; // ptes mapping a KSM page writable
    const f = k.frames;
    const ksmMoved = this.ksmMoved();
    if (ksmMoved) {
      this.freshKsmMappers = this.ksmMapperCounts;
    }
    // the changed pages, per mm in address order as runs of consecutive pages: one range check per run,
    // the coherence of every page noted, then the data of those whose pte or data changed (a sweep's order)
    for (const mm of k.mms.values()) {
      this.pages.forEachRun(mm.id, false, (lo, hi) => {
        this.coherenceIn(views, mm, vpnAddress(lo), vpnAddress(hi));
        this.tlbsIn(mm, lo, hi);
      });
    }
    const ranges = this.ranges;
    for (let i = 0; i < ranges.n; i++) {
      const mm = k.mms.get(ranges.mm(i));
      if (mm !== undefined) this.coherenceIn(views, mm, ranges.x(i), ranges.y(i));
    }
    // the other mappers of frames whose bytes changed join the data pass, so that every data fact comes
    // in a sweep's order (by mm, then address) whatever made it due
    const written = this.written.drainSorted();
    this.noteMappersOf(written);
    for (const mm of k.mms.values())
      this.pages.forEachRun(mm.id, true, (lo, hi) => this.dataIn(mm, lo, hi, ksmPages));
    this.pages.clear();
    ranges.clear();
    for (const mm of k.mms.values()) {
      const r = this.rss.get(mm.id);
      this.rssFact(mm, r?.anon ?? 0, r?.shmem ?? 0);
    }
    const frames = mergeSorted(this.touched.drainSorted(), this.carried);
    let cache: Map<number, number> | null = null;
    const flags = f.raw.flags;
    const held = holders.size > 0;
    this.accountFrames(frames, (pfn) => {
      const other = held ? (holders.get(pfn) ?? 0) : 0;
      if ((flags[pfn] & (PG_ANON | PG_KSM)) !== 0) return other; // never in a page cache
      cache ??= this.cacheRefs();
      return other + (cache.get(pfn) ?? 0);
    });
    this.checkKsmChanges(frames, written, ksmPages, ksmMoved);
    this.freshKsmMappers = null;
  }

  /**
   * Invariant 3 at pages [lo, hi) of `mm`, whose ptes or data changed; the ptes among them that map a
   * KSM page writable go to `ksmPages`.
   */
  private dataIn(mm: Mm, lo: number, hi: number, ksmPages: { mm: Mm; vpn: number; pte: number }[]): void {
    const flags = this.k.frames.raw.flags;
    const content = this.k.frames.raw.content;
    const fresh = this.freshKsmMappers;
    const known = this.ksmKnown;
    for (let vpn = lo; vpn < hi; ) {
      // the pages of one vma keep their expected content in one map (as `slot` finds it)
      const vma = mm.findVma(vpnAddress(vpn));
      const end = vma === undefined ? vpn + 1 : Math.min(hi, vpnOf(vma.end));
      const data = this.dataMap(mm, vma);
      const key = dataKeyOffset(vma);
      for (; vpn < end; vpn++) {
        const pte = mm.pt.get(vpn);
        if (pte === 0) continue;
        const expected = data === undefined ? 0 : data.get(vpn + key);
        if (pteSpecial(pte)) {
          if (expected !== ZERO_CONTENT) this.dataFactIs(mm, vpn, pte, expected);
          continue;
        }
        const pfn = ptePfn(pte);
        if (content[pfn] !== expected) this.dataFactIs(mm, vpn, pte, expected);
        if ((flags[pfn] & PG_KSM) === 0) continue;
        if (pteWrite(pte)) ksmPages.push({ mm, vpn, pte });
        // a mapper of a frame that became a KSM page since the last check (see ksmWhole)
        if (fresh !== null && known[pfn] === 0) fresh[pfn]++;
      }
    }
  }

  /** Every CPU TLB's entries for pages [lo, hi) of `mm`: looked up one by one, or found by a scan of each TLB. */
  private tlbsIn(mm: Mm, lo: number, hi: number): void {
    if (hi - lo <= TLB_SCAN_PAGES) {
      for (let vpn = lo; vpn < hi; vpn++) this.tlbsAt(mm, vpn);
      return;
    }
    const tlbs = this.k.machine.tlbs;
    for (let cpu = 0; cpu < tlbs.length; cpu++) {
      tlbs[cpu].forEach(mm.id, (vpn, cached) => {
        if (vpn >= lo && vpn < hi) this.tlbFact(cpu, mm, vpn, cached);
      });
    }
  }

  /**
   * KSM's self-check: the whole of it if KSM's own state moved, else only what the changes touched.
   * Either way in `ksmProblems`' order: KSM's structures, ptes mapping a KSM page writable, KSM pages.
   */
  private checkKsmChanges(
    frames: Int32Array,
    written: Int32Array,
    ksmPages: readonly { mm: Mm; vpn: number; pte: number }[],
    moved: boolean,
  ): void {
    const src = this.sources;
    if (src.ksmProblems === undefined) return;
    const version = src.ksmVersion?.();
    if (version === undefined || !this.ksmSplit()) {
      this.checkKsm();
      return;
    }
    const ptes = this.ptes!;
    const ptesOf = (pfn: number): number => ptes[pfn];
    if (moved) {
      // KSM's own state moved (ksmd ran, a KSM hook was called): see ksmWhole
      this.ksmSeen = version;
      this.ksmWhole(ksmPages, ptesOf, true);
      return;
    }
    for (const { mm, vpn, pte } of ksmPages) this.reportKsm(src.ksmMappingProblem!(mm, vpn, pte));
    for (const p of src.ksmFrameProblems!(frames, ptesOf)) this.reportKsm(p);
    for (const p of src.ksmFrameProblems!(written, ptesOf)) this.reportKsm(p);
  }

  /** Whether KSM's whole self-check is due at this check (its state moved) and can be done in parts. */
  private ksmMoved(): boolean {
    const src = this.sources;
    if (src.ksmProblems === undefined || src.ksmVersion === undefined || !this.ksmSplit()) return false;
    return src.ksmVersion() !== this.ksmSeen;
  }

  /** Whether the sources answer KSM's self-check in parts (structures, one frame, one pte). */
  private ksmSplit(): boolean {
    const src = this.sources;
    return !!src.ksmStructureProblems && !!src.ksmFrameProblems && !!src.ksmMappingProblem;
  }

  private reportKsm(problem: string | null): void {
    if (problem !== null) this.report('accounting', `invariant 4: ${problem}`, ['ksmd'], []);
  }

  /**
   * KSM's whole self-check against the checker's recount, what `ksmProblems` reports without its walk
   * of every page table: KSM's structures, then the ptes that map a KSM page writable, then every KSM
   * page (mapcount against the recount). The ptes: `writable` lists those a walk found (a sweep) or
   * those stored since the last check; with `fresh`, the frames that became KSM pages since the last
   * check are looked for by one walk (a pte that existed before mapped its frame then, and the frame
   * was not freed in between: a frame's ptes are stored after it is allocated).
   */
  private ksmWhole(
    writable: readonly { mm: Mm; vpn: number; pte: number }[],
    ptesOf: (pfn: number) => number,
    fresh: boolean,
  ): void {
    const src = this.sources;
    for (const p of src.ksmStructureProblems!()) this.reportKsm(p);
    const f = this.k.frames;
    const flags = f.raw.flags;
    const known = this.ksmKnown;
    const found = this.scratch;
    let n = 0;
    for (let pfn = 1; pfn < f.everUsedBelow; pfn++) {
      const ksm = (flags[pfn] & PG_KSM) !== 0 ? 1 : 0;
      if (ksm === 1) {
        n++;
        if (fresh && known[pfn] === 0) found.add(pfn);
      }
      known[pfn] = ksm;
    }
    // the found frames whose every mapper a check of the changed pages saw need no walk (see dataIn)
    const seen = this.freshKsmMappers;
    const ptes = this.ptes!;
    let unseen = false;
    if (seen !== null) {
      for (const pfn of found.drainSorted()) {
        if (seen[pfn] !== ptes[pfn]) {
          unseen = true;
          this.unseen.push(pfn);
        }
        seen[pfn] = 0;
      }
      for (const pfn of this.unseen) found.add(pfn);
      this.unseen.length = 0;
    } else unseen = found.size > 0;
    if (unseen) {
      for (const mm of this.k.mms.values()) {
        mm.pt.forEachMapped(0, VPN_LIMIT, (vpn, pte) => {
          if (counted(pte) && found.has(ptePfn(pte))) this.reportKsm(src.ksmMappingProblem!(mm, vpn, pte));
        });
      }
      found.drainSorted();
    }
    for (const { mm, vpn, pte } of writable) this.reportKsm(src.ksmMappingProblem!(mm, vpn, pte));
    const pages = new Int32Array(n);
    for (let pfn = 1, i = 0; i < n; pfn++) if (known[pfn] === 1) pages[i++] = pfn;
    for (const p of src.ksmFrameProblems!(pages, ptesOf)) this.reportKsm(p);
  }

  // ---- 1 coherence ----

  checkCoherence(): void {
    const k = this.k;
    for (const view of this.sources.secondaries()) this.coherenceOf(view, 0, ADDRESS_LIMIT);
    for (let cpu = 0; cpu < k.machine.tlbs.length; cpu++) {
      for (const mm of k.mms.values()) {
        k.machine.tlbs[cpu].forEach(mm.id, (vpn, cached) => this.tlbFact(cpu, mm, vpn, cached));
      }
    }
  }

  /** `mm3:0x7f0000001000`: a page in a report (made only for one: every access is checked). */
  private where(mm: Mm, vpn: number): string {
    return `mm${mm.id}:${hex(vpnAddress(vpn))}`;
  }

  /** The secondary MMUs alive now, by the mm each mirrors (a check looks them up per changed page). */
  private viewsByMm(): Map<Mm, SecondaryMmuView[]> {
    const byMm = new Map<Mm, SecondaryMmuView[]>();
    for (const view of this.sources.secondaries()) {
      const list = byMm.get(view.mm);
      if (list === undefined) byMm.set(view.mm, [view]);
      else list.push(view);
    }
    return byMm;
  }

  /** The secondaries' translations of mm's [start, end). */
  private coherenceIn(views: Map<Mm, SecondaryMmuView[]>, mm: Mm, start: number, end: number): void {
    const mine = views.get(mm);
    if (mine !== undefined) for (const view of mine) this.coherenceOf(view, start, end);
  }

  /** One secondary's translations of host addresses [start, end). */
  private coherenceOf(view: SecondaryMmuView, start: number, end: number): void {
    const mm = view.mm;
    if (mm.dead) return;
    const chain = mm.notifiers instanceof NotifierChain ? mm.notifiers : null;
    if (view.translationsIn === undefined) {
      for (const t of view.translations())
        if (t.address >= start && t.address < end)
          this.translationFact(view, chain, t.address, t.pfn, t.writable);
      return;
    }
    this.visiting = view;
    this.visitingChain = chain;
    view.translationsIn(start, end, this.visitTranslation);
    this.visiting = null;
  }

  /** The view and notifier chain `visitTranslation` checks against (one visitor for every range check). */
  private visiting: SecondaryMmuView | null = null;
  private visitingChain: NotifierChain | null = null;
  private readonly visitTranslation: TranslationVisitor = (address, pfn, writable) =>
    this.translationFact(this.visiting!, this.visitingChain, address, pfn, writable);

  private tlbsAt(mm: Mm, vpn: number): void {
    const tlbs = this.k.machine.tlbs;
    for (let cpu = 0; cpu < tlbs.length; cpu++) {
      const cached = tlbs[cpu].lookup(mm.id, vpn);
      if (cached !== 0) this.tlbFact(cpu, mm, vpn, cached);
    }
  }

  private translationFact(
    view: SecondaryMmuView,
    chain: NotifierChain | null,
    address: number,
    pfn: number,
    writable: boolean,
  ): void {
    if (chain?.covers(address)) return;
    const mm = view.mm;
    const pte = mm.pt.get(vpnOf(address));
    const problem = translationProblem(pte, pfn, writable);
    if (problem !== null) {
      this.report(
        'coherence',
        `invariant 1: ${view.name} maps ${hex(address)} to pfn ${hex(pfn)}${writable ? ' writable' : ''} but the primary pte is ${formatPte(pte)} (${problem})`,
        [view.name],
        [`mm${mm.id}:${hex(address)}`],
      );
    }
  }

  private tlbFact(cpu: number, mm: Mm, vpn: number, cached: number): void {
    const pte = mm.pt.get(vpn);
    const pfn = pteSpecial(cached) ? ZERO_PFN : ptePfn(cached);
    const problem = translationProblem(pte, pfn, pteWrite(cached));
    if (problem !== null) {
      this.report(
        'coherence',
        `invariant 1: cpu${cpu}'s TLB maps ${hex(vpnAddress(vpn))} to pfn ${hex(pfn)} but the primary pte is ${formatPte(pte)} (${problem})`,
        [`cpu${cpu}`],
        [`mm${mm.id}:${hex(vpnAddress(vpn))}`],
      );
    }
  }

  // ---- 3 data ----

  /** Every present page holds what was last written to it. */
  checkData(): void {
    const content = this.k.frames.raw.content;
    for (const mm of this.k.mms.values()) {
      // the walk goes in address order: the data map and key are looked up once per vma (as `slot` finds them)
      let lo = 0;
      let hi = 0;
      let data: PageMap | undefined;
      let key = 0;
      mm.pt.forEachMapped(0, VPN_LIMIT, (vpn, pte) => {
        if (vpn < lo || vpn >= hi) {
          const vma = mm.findVma(vpnAddress(vpn));
          lo = vma === undefined ? vpn : vpnOf(vma.start);
          hi = vma === undefined ? vpn + 1 : vpnOf(vma.end);
          data = this.dataMap(mm, vma);
          key = dataKeyOffset(vma);
        }
        const expected = data === undefined ? 0 : data.get(vpn + key);
        if ((pteSpecial(pte) ? ZERO_CONTENT : content[ptePfn(pte)]) !== expected)
          this.dataFactIs(mm, vpn, pte, expected);
      });
    }
  }

  /** The page `pte` maps at (mm, vpn) holds `expected`, what was last stored there. */
  private dataFactIs(mm: Mm, vpn: number, pte: number, expected: number): void {
    const actual = pteSpecial(pte) ? ZERO_CONTENT : this.k.frames.raw.content[ptePfn(pte)];
    if (actual !== expected) {
      this.report(
        'data',
        `invariant 3: mm${mm.id} (${mm.owner}) maps content #${actual} at ${hex(vpnAddress(vpn))}, expected #${expected}`,
        [mm.owner],
        [`mm${mm.id}:${hex(vpnAddress(vpn))}`],
      );
    }
  }

  /**
   * Every pte that maps one of `pfns` (their bytes changed) is noted for the data pass: found through the
   * anon rmap when it accounts for all of the frame's ptes, else by one walk of every page table for them all.
   */
  private noteMappersOf(pfns: Int32Array): void {
    if (pfns.length === 0) return;
    const k = this.k;
    const f = k.frames;
    const ptes = this.ptes!;
    const rest: number[] = [];
    const sole = this.written.bySoleMapper;
    for (const pfn of pfns) {
      if (ptes[pfn] === 0 || (ptes[pfn] === 1 && sole[pfn] === 1)) continue; // no mapper, or only the storer (noted)
      if ((f.raw.flags[pfn] & (PG_ANON | PG_KSM)) !== PG_ANON || !this.noteAnonMappers(pfn)) rest.push(pfn);
    }
    if (rest.length === 0) return;
    const wanted = this.scratch;
    for (const pfn of rest) wanted.add(pfn);
    for (const mm of k.mms.values()) {
      mm.pt.forEachMapped(0, VPN_LIMIT, (vpn, pte) => {
        if (counted(pte) && wanted.has(ptePfn(pte))) this.pages.add(mm.id, vpn, true);
      });
    }
    wanted.drainSorted();
  }

  /**
   * Note every mm (of the kernel's list) whose pte at the frame's anon rmap address maps it for the data
   * pass, if they are all its mappers (the recount says how many); false, having noted nothing, if not.
   */
  private noteAnonMappers(pfn: number): boolean {
    const k = this.k;
    const av = k.anonVmas.get(k.frames.raw.anonVma[pfn]);
    if (av === undefined) return false;
    const vpn = av.baseVpn + k.frames.raw.index[pfn];
    let n = 0;
    for (const vma of av.members) if (this.anonMapper(vma, vpn, pfn)) n++;
    if (n !== this.ptes![pfn]) return false;
    for (const vma of av.members) if (this.anonMapper(vma, vpn, pfn)) this.pages.add(vma.mm.id, vpn, true);
    return true;
  }

  /** Does `vma`'s mm, if in the kernel's list, map `pfn` at `vpn` inside the vma? */
  private anonMapper(vma: Vma, vpn: number, pfn: number): boolean {
    return (
      vma.contains(vpnAddress(vpn)) &&
      this.k.mms.get(vma.mm.id) === vma.mm &&
      mapsFrame(vma.mm.pt.get(vpn), pfn)
    );
  }

  // ---- 4 accounting ----

  /** Recount every page table, cache, pin and held reference; compare every frame and mm; re-base the recount. */
  checkAccounting(): void {
    const k = this.k;
    const f = k.frames;
    const ptes = this.ptes ?? f.perFrame(Int32Array); // the recount is rebuilt in place
    ptes.fill(0, 0, f.usedBelow); // past the frames in use it is zero (FrameTable.perFrame)
    const flags = f.raw.flags;
    const ksmWritable: { mm: Mm; vpn: number; pte: number }[] = []; // ptes mapping a KSM page writable
    this.rss.clear();
    for (const mm of k.mms.values()) {
      let anon = 0;
      let shmem = 0;
      let v = 0; // the vma cursor: the walk goes in address order
      const vmas = mm.vmas;
      mm.pt.forEachMapped(0, VPN_LIMIT, (vpn, pte) => {
        if (!counted(pte)) return;
        const pfn = ptePfn(pte);
        ptes[pfn]++;
        if (pteWrite(pte) && (flags[pfn] & PG_KSM) !== 0) ksmWritable.push({ mm, vpn, pte });
        const address = vpnAddress(vpn);
        while (v < vmas.length && vmas[v].end <= address) v++;
        if (v < vmas.length && vmas[v].start <= address && vmas[v].shmem !== null) shmem++;
        else anon++;
      });
      this.rss.set(mm.id, { anon, shmem });
      this.rssFact(mm, anon, shmem);
    }
    const cache = this.cacheRefs();
    const holders = this.holdersNow();
    this.ptes = ptes;
    this.holders = holders;
    this.carried = [];
    const cached = cache.size > 0;
    const held = holders.size > 0;
    this.accountFrames(
      null,
      (pfn) => (cached ? (cache.get(pfn) ?? 0) : 0) + (held ? (holders.get(pfn) ?? 0) : 0),
    );
    if (this.sources.ksmProblems === undefined) return;
    if (!this.ksmSplit()) {
      this.checkKsm();
      return;
    }
    this.ksmSeen = this.sources.ksmVersion?.() ?? Number.NaN;
    this.ksmWhole(ksmWritable, (pfn) => ptes[pfn], false);
  }

  private rssFact(mm: Mm, anon: number, shmem: number): void {
    if (anon !== mm.anonRss || shmem !== mm.shmemRss) {
      this.report(
        'accounting',
        `invariant 4: mm${mm.id} (${mm.owner}) rss says anon ${mm.anonRss} shmem ${mm.shmemRss}, page table has ${anon} and ${shmem}`,
        [mm.owner],
        [`mm${mm.id}`],
      );
    }
  }

  /**
   * Frames `pfns` (ascending; null: every frame ever handed out) against the recount: refcount equals
   * the ptes plus `refsBeyondPtes` (caches, pins, secondaries), mapcount the ptes.
   * At most ACCOUNTING_REPORTS_PER_CHECK new reports; the frames held back are checked again next time.
   */
  private accountFrames(pfns: Int32Array | null, refsBeyondPtes: (pfn: number) => number): void {
    const f = this.k.frames;
    const refcount = f.raw.refcount;
    const ptes = this.ptes!;
    const carried: number[] = [];
    let fresh = 0;
    const n = pfns === null ? f.everUsedBelow - 1 : pfns.length; // frames above were never handed out
    for (let i = 0; i < n; i++) {
      const pfn = pfns === null ? i + 1 : pfns[i];
      if (pfn === ZERO_PFN) continue;
      const rc = refcount[pfn];
      const wantMaps = ptes[pfn];
      const wantRefs = wantMaps + refsBeyondPtes(pfn);
      if (rc === wantRefs && (rc === 0 || f.mapcount(pfn) === wantMaps)) continue;
      const message = `invariant 4: pfn ${hex(pfn)} has refcount ${rc} mapcount ${rc > 0 ? f.mapcount(pfn) : 0}; page tables, caches and pins account for ${wantRefs} and ${wantMaps}${rc > 0 && wantRefs === 0 ? ' (leaked)' : ''}`;
      if (this.reported.has(message)) continue;
      if (this.violations.length >= this.maxReports) break; // nothing more is ever reported
      if (fresh >= ACCOUNTING_REPORTS_PER_CHECK) {
        carried.push(pfn);
        continue;
      }
      fresh++;
      this.report('accounting', message, ['checker'], [`pfn:${hex(pfn)}`]);
    }
    this.carried = carried;
  }

  /** KSM's whole self-check from the sources at once (when they do not answer it in parts). */
  private checkKsm(): void {
    this.ksmSeen = this.sources.ksmVersion?.() ?? Number.NaN;
    for (const p of this.sources.ksmProblems?.() ?? []) this.reportKsm(p);
  }

  /** References page caches hold (one per cached page of every shmem object a live vma maps). */
  private cacheRefs(): Map<number, number> {
    const refs = new BigMap<number, number>();
    const objects = new Set<ShmemObject>();
    for (const mm of this.k.mms.values()) for (const v of mm.vmas) if (v.shmem !== null) objects.add(v.shmem);
    for (const obj of objects) for (const pfn of obj.pages.values()) refs.set(pfn, (refs.get(pfn) ?? 0) + 1);
    return refs;
  }

  /** References held outside page tables and caches: gup pins, ksmd, the secondaries. */
  private holdersNow(): ReadonlyMap<number, number> {
    let refs: BigMap<number, number> | null = null; // made for the first reference: most checks find none
    for (const [pfn, n] of this.sources.pinnedRefs())
      if (pfn !== ZERO_PFN) (refs ??= new BigMap()).set(pfn, (refs.get(pfn) ?? 0) + n);
    for (const view of this.sources.secondaries()) {
      const held = view.heldRefs?.();
      if (held) for (const [pfn, n] of held) (refs ??= new BigMap()).set(pfn, (refs.get(pfn) ?? 0) + n);
    }
    return refs ?? NO_HOLDERS;
  }
}

const NO_HOLDERS: ReadonlyMap<number, number> = new Map();

/** Is (mm, vpn) in a shared (shmem) mapping? What the rss counts it as. */
function isShmemAt(mm: Mm, vpn: number): boolean {
  return mm.findVma(vpnAddress(vpn))?.shmem != null;
}

/** Does `pte` map frame `pfn` (not none, not the zero page)? */
function mapsFrame(pte: number, pfn: number): boolean {
  return counted(pte) && ptePfn(pte) === pfn;
}

/** Two ascending lists as one ascending list without repeats. */
function mergeSorted(a: Int32Array, b: readonly number[]): Int32Array {
  if (b.length === 0) return a;
  const out = new Int32Array(a.length + b.length);
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (n === 0 || out[n - 1] !== x) out[n++] = x;
  }
  return out.subarray(0, n);
}

/** Why a cached translation (pfn, writable) disagrees with the primary pte, or null if it does not. */
function translationProblem(pte: number, pfn: number, writable: boolean): string | null {
  if (!pteAccessible(pte))
    return pteProtnone(pte) ? 'stale: the primary pte is PROT_NONE' : 'stale: the primary maps nothing there';
  const ptePfnValue = pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
  if (ptePfnValue !== pfn) return 'stale: another frame';
  if (writable && !pteWrite(pte)) return 'too permissive: writable where the primary is read-only';
  return null;
}

/** What turns a vpn of `vma` into its key in the data map (InvariantChecker.dataMap): 0 for private pages, the shmem page offset's distance for shared ones. */
function dataKeyOffset(vma: Vma | undefined): number {
  return vma === undefined || vma.shmem === null ? 0 : vma.shmemPgoff - vpnOf(vma.start);
}
