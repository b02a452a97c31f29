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
 * Access-time checks (2, 3) run on every access; `checkNow` sweeps 1 and 4 (and 3 in full).
 */

import { ZERO_CONTENT } from '../hw/content.js';
import { ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE } from '../hw/page.js';
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
import type { Agent } from '../sim/exec.js';
import { NotifierChain } from './chain.js';
import type { SecondaryMmuView } from './secondary-view.js';
import type { Violations } from './violations.js';

export interface CheckSources {
  /** Secondary MMUs alive now. */
  secondaries(): Iterable<SecondaryMmuView>;
  /** References held by gup/pin handles, per pfn. */
  pinnedRefs(): Map<number, number>;
  /** KSM's own consistency problems (counters vs recount), if KSM is present. */
  ksmProblems?(): string[];
}

const hex = (x: number): string => `0x${x.toString(16)}`;

export class InvariantChecker implements KernelObserver {
  /** Expected content of private pages: mm id -> vpn -> content id (absent = zero). */
  private readonly privateData = new Map<number, Map<number, number>>();
  /** Expected content of shmem pages: object id -> page index -> content id. */
  private readonly sharedData = new Map<number, Map<number, number>>();
  /** Stop reporting after this many violations (a broken model would otherwise flood). */
  maxReports = 50;

  constructor(
    private readonly k: Kernel,
    private readonly sources: CheckSources,
    private readonly violations: Violations,
  ) {}

  /** Messages already reported: a stale translation found again by the next sweep is one violation. */
  private readonly reported = new Set<string>();

  private report(invariant: string, message: string, agents: string[], addresses: string[]): void {
    if (this.violations.length >= this.maxReports) return;
    if (this.reported.has(message)) return;
    this.reported.add(message);
    this.violations.report({ invariant, message, agents, addresses });
  }

  /** The data key of (mm, address): the shmem page for shared mappings, else the private page. */
  private slot(mm: Mm, address: number): { map: Map<number, number>; key: number } | undefined {
    const vma = mm.findVma(address);
    const vpn = Math.floor(address / PAGE_SIZE);
    if (vma !== undefined && vma.shmem !== null) {
      let m = this.sharedData.get(vma.shmem.id);
      if (m === undefined) this.sharedData.set(vma.shmem.id, (m = new Map()));
      return { map: m, key: vma.shmemPgoff + (vpn - vma.start / PAGE_SIZE) };
    }
    let m = this.privateData.get(mm.id);
    if (m === undefined) this.privateData.set(mm.id, (m = new Map()));
    return { map: m, key: vpn };
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
    const content = pfns.map((pfn) => (pfn === ZERO_PFN ? ZERO_CONTENT : this.k.frames.content[pfn]));
    this.pins.set(via, { mm, vpn: Math.floor(address / PAGE_SIZE), pfns, content });
  }

  forgetPin(via: string): void {
    this.pins.delete(via);
  }

  // ---- observer hooks ----

  onAccess(a: AccessRecord): void {
    const vpn = Math.floor(a.address / PAGE_SIZE);
    const where = `mm${a.mm.id}:${hex(vpn * PAGE_SIZE)}`;
    const pin = this.pins.get(a.via);
    if (pin !== undefined) {
      this.onPinIo(a, pin, vpn, where);
      return;
    }
    if (a.write && this.pins.size > 0) {
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
          `invariant 2: ${a.agent.name} (via ${a.via}) wrote pfn ${hex(a.pfn)} at ${where} but the primary pte is ${formatPte(pte)}`,
          [a.agent.name, a.via],
          [where],
        );
      }
    }
    const s = this.slot(a.mm, a.address);
    if (s === undefined) return;
    const expected = s.map.get(s.key) ?? ZERO_CONTENT;
    if (a.before !== expected) {
      this.report(
        'data',
        `invariant 3: ${a.agent.name} (via ${a.via}) found content #${a.before} at ${where}, expected #${expected} (last written there)`,
        [a.agent.name, a.via],
        [where],
      );
    }
    if (a.write) {
      if (a.after === ZERO_CONTENT) s.map.delete(s.key);
      else s.map.set(s.key, a.after);
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
    if (s === undefined) return;
    if (a.after === ZERO_CONTENT) s.map.delete(s.key);
    else s.map.set(s.key, a.after);
  }

  onPteChange(_agent: Agent, mm: Mm, address: number, _old: number, _new: number, via: PteWriter): void {
    // a zap (munmap, MADV_DONTNEED, exit) discards private data: the page reads as zeroes afterwards
    if (via !== 'ptep_get_and_clear') return;
    const vma = mm.findVma(address);
    if (vma !== undefined && vma.shmem !== null) return;
    this.privateData.get(mm.id)?.delete(address / PAGE_SIZE);
  }

  onFork(parent: Mm, child: Mm): void {
    const p = this.privateData.get(parent.id);
    if (p === undefined) return;
    const copy = new Map<number, number>();
    for (const vma of child.vmas) {
      if (vma.shmem !== null) continue;
      for (const [vpn, c] of p)
        if (vpn * PAGE_SIZE >= vma.start && vpn * PAGE_SIZE < vma.end) copy.set(vpn, c);
    }
    this.privateData.set(child.id, copy);
  }

  onMmGone(mm: Mm): void {
    this.privateData.delete(mm.id);
  }

  /** The content expected at (mm, address), for expectations that read without faulting. */
  expectedContent(mm: Mm, address: number): number {
    const s = this.slot(mm, address);
    return s === undefined ? ZERO_CONTENT : (s.map.get(s.key) ?? ZERO_CONTENT);
  }

  // ---- sweeps ----

  /** Check invariants 1, 3 (every page) and 4 now; returns the number of new violations. */
  checkNow(): number {
    const before = this.violations.length;
    this.checkCoherence();
    this.checkData();
    this.checkAccounting();
    return this.violations.length - before;
  }

  checkCoherence(): void {
    const k = this.k;
    for (const view of this.sources.secondaries()) {
      const mm = view.mm;
      if (mm.dead) continue;
      const chain = mm.notifiers instanceof NotifierChain ? mm.notifiers : null;
      for (const t of view.translations()) {
        if (chain?.covers(t.address)) continue;
        const pte = mm.pt.get(Math.floor(t.address / PAGE_SIZE));
        const problem = translationProblem(pte, t.pfn, t.writable);
        if (problem !== null) {
          this.report(
            'coherence',
            `invariant 1: ${view.name} maps ${hex(t.address)} to pfn ${hex(t.pfn)}${t.writable ? ' writable' : ''} but the primary pte is ${formatPte(pte)} (${problem})`,
            [view.name],
            [`mm${mm.id}:${hex(t.address)}`],
          );
        }
      }
    }
    for (let cpu = 0; cpu < k.machine.tlbs.length; cpu++) {
      for (const mm of k.mms.values()) {
        k.machine.tlbs[cpu].forEach(mm.id, (vpn, cached) => {
          const pte = mm.pt.get(vpn);
          const pfn = pteSpecial(cached) ? ZERO_PFN : ptePfn(cached);
          const problem = translationProblem(pte, pfn, pteWrite(cached));
          if (problem !== null) {
            this.report(
              'coherence',
              `invariant 1: cpu${cpu}'s TLB maps ${hex(vpn * PAGE_SIZE)} to pfn ${hex(pfn)} but the primary pte is ${formatPte(pte)} (${problem})`,
              [`cpu${cpu}`],
              [`mm${mm.id}:${hex(vpn * PAGE_SIZE)}`],
            );
          }
        });
      }
    }
  }

  /** Every present page holds what was last written to it. */
  checkData(): void {
    const k = this.k;
    for (const mm of k.mms.values()) {
      for (const vma of mm.vmas) {
        mm.pt.forEachMapped(vma.start / PAGE_SIZE, vma.end / PAGE_SIZE, (vpn, pte) => {
          const actual = pteSpecial(pte) ? ZERO_CONTENT : k.frames.content[ptePfn(pte)];
          const expected = this.expectedContent(mm, vpn * PAGE_SIZE);
          if (actual !== expected) {
            this.report(
              'data',
              `invariant 3: mm${mm.id} (${mm.owner}) maps content #${actual} at ${hex(vpn * PAGE_SIZE)}, expected #${expected}`,
              [mm.owner],
              [`mm${mm.id}:${hex(vpn * PAGE_SIZE)}`],
            );
          }
        });
      }
    }
  }

  checkAccounting(): void {
    const k = this.k;
    const f = k.frames;
    const maps = new Map<number, number>();
    const refs = new Map<number, number>();
    const bump = (m: Map<number, number>, pfn: number, n = 1): void => {
      m.set(pfn, (m.get(pfn) ?? 0) + n);
    };
    for (const mm of k.mms.values()) {
      let anon = 0;
      let shmem = 0;
      for (const vma of mm.vmas) {
        mm.pt.forEachMapped(vma.start / PAGE_SIZE, vma.end / PAGE_SIZE, (_vpn, pte) => {
          if (pteSpecial(pte)) return;
          const pfn = ptePfn(pte);
          bump(maps, pfn);
          bump(refs, pfn);
          if (vma.shmem !== null) shmem++;
          else anon++;
        });
      }
      if (anon !== mm.anonRss || shmem !== mm.shmemRss) {
        this.report(
          'accounting',
          `invariant 4: mm${mm.id} (${mm.owner}) rss says anon ${mm.anonRss} shmem ${mm.shmemRss}, page table has ${anon} and ${shmem}`,
          [mm.owner],
          [`mm${mm.id}`],
        );
      }
    }
    const objects = new Set<{ pages: Map<number, number> }>();
    for (const mm of k.mms.values()) for (const v of mm.vmas) if (v.shmem !== null) objects.add(v.shmem);
    for (const obj of objects) for (const pfn of obj.pages.values()) bump(refs, pfn);
    for (const [pfn, n] of this.sources.pinnedRefs()) if (pfn !== ZERO_PFN) bump(refs, pfn, n);
    for (const view of this.sources.secondaries()) {
      const held = view.heldRefs?.();
      if (held) for (const [pfn, n] of held) bump(refs, pfn, n);
    }
    let problems = 0;
    for (let pfn = 1; pfn < f.count && problems < 5; pfn++) {
      const rc = f.refcount[pfn];
      const wantRefs = refs.get(pfn) ?? 0;
      const wantMaps = maps.get(pfn) ?? 0;
      if (rc !== wantRefs || (rc > 0 && f.mapcount(pfn) !== wantMaps)) {
        problems++;
        this.report(
          'accounting',
          `invariant 4: pfn ${hex(pfn)} has refcount ${rc} mapcount ${rc > 0 ? f.mapcount(pfn) : 0}; page tables, caches and pins account for ${wantRefs} and ${wantMaps}${rc > 0 && wantRefs === 0 ? ' (leaked)' : ''}`,
          ['checker'],
          [`pfn:${hex(pfn)}`],
        );
      }
    }
    for (const p of this.sources.ksmProblems?.() ?? [])
      this.report('accounting', `invariant 4: ${p}`, ['ksmd'], []);
  }
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
