/**
 * An x86-64 four-level page table (PGD -> PUD -> PMD -> PTE page), 512 entries a level, for one mm.
 * Leaf pages are typed arrays; upper levels are sparse arrays created on demand (pte_alloc).
 */

import { Access, FOOTPRINT, FootprintKind, footprintSerial, note } from '../sim/footprint.js';
import { PTRS_PER_PTE, ptePageBase } from './page.js';
import { mkPte, pteBits, ptePfn } from './pte.js';

const PTRS_PER_PUD_SPAN = 2 ** 27; // vpns covered by one PGD entry
// Footprint modes as module-private constants, which V8 folds (an imported binding is a module cell every
// use loads and checks): they keep get() and ptePageMapped() small enough to be inlined into the walks.
const READ = Access.Read;
const TOUCH = Access.Touch;

export class PtePage {
  /**
   * A pte is split over two arrays (6 bytes, not 8): the pfn and the 9 flag bits (see pte.ts). Both are
   * views of one buffer, so a PTE page costs one backing store.
   */
  readonly pfn: Uint32Array;
  readonly bits: Uint16Array;
  /** Present entries in this page, so empty pages can be freed. */
  used = 0;
  constructor(readonly baseVpn: number) {
    const buf = new ArrayBuffer(PTRS_PER_PTE * 6);
    this.pfn = new Uint32Array(buf, 0, PTRS_PER_PTE);
    this.bits = new Uint16Array(buf, PTRS_PER_PTE * 4, PTRS_PER_PTE);
  }
}

type Level<T> = (T | undefined)[];

/** Told of every store into a page table (old and new value): the invariant checker's change tracking. */
export type PteStoreWatch = (vpn: number, oldPte: number, newPte: number) => void;

/** Page numbers a page table can hold: 4 levels of 512 entries (a 48-bit address space). */
export const VPN_LIMIT = 2 ** 36;
const PMD_SPAN = PTRS_PER_PTE * PTRS_PER_PTE; // vpns covered by one PUD entry
/** A walk over more PTE pages than this reads the whole table in its footprint. */
const WALK_PAGES_LISTED = 64;

export class PageTable {
  private readonly pgd: Level<Level<Level<PtePage>>> = [];
  /** Number of PTE pages allocated (page-table memory the kernel would account). */
  ptePages = 0;
  /** The last PTE page found and the first vpn it covers: walks ask for the same page 512 times in a row. */
  private lastBase = -1;
  private lastPage: PtePage | undefined;
  /** Who is told of stores (null: nobody; the common case costs one test). */
  watch: PteStoreWatch | null = null;
  /** The table's name in footprints. */
  readonly serial = footprintSerial();

  /**
   * Whether the PTE page covering `vpn` exists and maps anything (a walk skips it whole when not: KSM's
   * scan, unmerge). That answer reads the whole page; a yes is only a touch (the walk then reads the
   * ptes it needs with get()), so stores to its other ptes stay independent of the walker.
   */
  ptePageMapped(vpn: number): boolean {
    const page = this.findPage(vpn);
    const mapped = page !== undefined && page.used > 0;
    if (FOOTPRINT.on) this.notePtePage(vpn, mapped ? TOUCH : READ);
    return mapped;
  }

  /** Whether the PTE page covering `vpn` exists (mm_find_pmd). */
  ptePageExists(vpn: number): boolean {
    if (FOOTPRINT.on) this.notePtePage(vpn, READ);
    return this.findPage(vpn) !== undefined;
  }

  /** The PTE page covering `vpn`, or undefined (no allocation): for tests and reports (not recorded). */
  lookupPage(vpn: number): PtePage | undefined {
    return this.findPage(vpn);
  }

  private findPage(vpn: number): PtePage | undefined {
    return ptePageBase(vpn) === this.lastBase ? this.lastPage : this.walkToPage(vpn);
  }

  /** The page-table walk to the PTE page covering `vpn` (remembered when it exists). */
  private walkToPage(vpn: number): PtePage | undefined {
    const pud = this.pgd[Math.floor(vpn / PTRS_PER_PUD_SPAN) & 511];
    if (pud === undefined) return undefined;
    const pmd = pud[(vpn >>> 18) & 511];
    if (pmd === undefined) return undefined;
    const page = pmd[(vpn >>> 9) & 511];
    if (page !== undefined) {
      this.lastBase = ptePageBase(vpn);
      this.lastPage = page;
    }
    return page;
  }

  /** The PTE page covering `vpn`, allocated if missing (__pte_alloc). */
  allocPage(vpn: number): PtePage {
    const found = this.findPage(vpn);
    if (found !== undefined) return found;
    const i4 = Math.floor(vpn / PTRS_PER_PUD_SPAN) & 511;
    let pud = this.pgd[i4];
    if (pud === undefined) this.pgd[i4] = pud = [];
    const i3 = (vpn >>> 18) & 511;
    let pmd = pud[i3];
    if (pmd === undefined) pud[i3] = pmd = [];
    const i2 = (vpn >>> 9) & 511;
    let page = pmd[i2];
    if (page === undefined) {
      pmd[i2] = page = new PtePage(ptePageBase(vpn));
      this.ptePages++;
    }
    this.lastBase = ptePageBase(vpn);
    this.lastPage = page;
    return page;
  }

  /** The pte at `vpn` (0 if none). */
  get(vpn: number): number {
    if (FOOTPRINT.on) this.notePteRead(vpn);
    const page = this.findPage(vpn);
    if (page === undefined) return 0;
    const i = vpn & 511;
    return mkPte(page.pfn[i], page.bits[i]);
  }

  /** Store a pte value (set_pte_at's store); keeps the page's present count. */
  set(vpn: number, pte: number): void {
    if (FOOTPRINT.on) this.noteStore(vpn);
    const page = pte === 0 ? this.findPage(vpn) : this.allocPage(vpn);
    if (page === undefined) return;
    const i = vpn & 511;
    const was = page.bits[i] !== 0 || page.pfn[i] !== 0;
    if (!was && pte !== 0) page.used++;
    else if (was && pte === 0) page.used--;
    const old = this.watch === null ? 0 : mkPte(page.pfn[i], page.bits[i]);
    page.pfn[i] = ptePfn(pte);
    page.bits[i] = pteBits(pte);
    if (this.watch !== null && old !== pte) this.watch(vpn, old, pte);
  }

  private notePteRead(vpn: number): void {
    note(FootprintKind.Pte, this.serial, vpn, READ);
  }

  /** An access to the PTE page covering `vpn` as a whole (its existence, whether it maps anything). */
  private notePtePage(vpn: number, mode: Access): void {
    note(FootprintKind.PtePage, this.serial, Math.floor(vpn / PTRS_PER_PTE), mode);
  }

  /** A store: the pte itself, and a mark on its PTE page and the table for walks that read them whole. */
  private noteStore(vpn: number): void {
    note(FootprintKind.Pte, this.serial, vpn, Access.Write);
    note(FootprintKind.PtePage, this.serial, Math.floor(vpn / PTRS_PER_PTE), Access.Mark);
    note(FootprintKind.PageTableAll, this.serial, 0, Access.Mark);
  }

  /** A walk over [startVpn, endVpn) reads every PTE page in it, or the whole table when that list is long. */
  private noteWalk(startVpn: number, endVpn: number): void {
    const first = Math.floor(startVpn / PTRS_PER_PTE);
    const last = Math.floor((Math.min(endVpn, VPN_LIMIT) - 1) / PTRS_PER_PTE);
    if (last - first >= WALK_PAGES_LISTED) {
      note(FootprintKind.PageTableAll, this.serial, 0, Access.Read);
      return;
    }
    for (let p = first; p <= last; p++) note(FootprintKind.PtePage, this.serial, p, Access.Read);
  }

  /** Free empty PTE pages in [startVpn, endVpn) (free_pgtables). */
  freeEmpty(startVpn: number, endVpn: number): void {
    if (FOOTPRINT.on) this.noteWalk(startVpn, endVpn);
    for (let base = startVpn - (startVpn % PTRS_PER_PTE); base < endVpn; base += PTRS_PER_PTE) {
      const i4 = Math.floor(base / PTRS_PER_PUD_SPAN) & 511;
      const pmd = this.pgd[i4]?.[(base >>> 18) & 511];
      if (pmd === undefined) continue;
      const i2 = (base >>> 9) & 511;
      const page = pmd[i2];
      if (page !== undefined && page.used === 0) {
        if (FOOTPRINT.on)
          note(FootprintKind.PtePage, this.serial, Math.floor(base / PTRS_PER_PTE), Access.Write);
        pmd[i2] = undefined;
        this.ptePages--;
        if (this.lastPage === page) {
          this.lastBase = -1;
          this.lastPage = undefined;
        }
      }
    }
  }

  /**
   * Visit every pte that is not none (present or PROT_NONE) in [startVpn, endVpn), in address order.
   * Absent upper levels are skipped whole, so a walk of the whole address space costs what is mapped.
   */
  forEachMapped(startVpn: number, endVpn: number, visit: (vpn: number, pte: number) => void): void {
    if (FOOTPRINT.on) this.noteWalk(startVpn, endVpn);
    const end = Math.min(endVpn, VPN_LIMIT);
    for (let b4 = startVpn - (startVpn % PTRS_PER_PUD_SPAN); b4 < end; b4 += PTRS_PER_PUD_SPAN) {
      const pud = this.pgd[Math.floor(b4 / PTRS_PER_PUD_SPAN) & 511];
      if (pud === undefined) continue;
      const e4 = Math.min(end, b4 + PTRS_PER_PUD_SPAN);
      for (let b3 = Math.max(b4, startVpn - (startVpn % PMD_SPAN)); b3 < e4; b3 += PMD_SPAN) {
        const pmd = pud[(b3 >>> 18) & 511];
        if (pmd === undefined) continue;
        const e3 = Math.min(e4, b3 + PMD_SPAN);
        for (let base = Math.max(b3, startVpn - (startVpn % PTRS_PER_PTE)); base < e3; base += PTRS_PER_PTE) {
          const page = pmd[(base >>> 9) & 511];
          if (page === undefined || page.used === 0) continue;
          const from = Math.max(startVpn, base);
          const to = Math.min(end, base + PTRS_PER_PTE);
          for (let vpn = from; vpn < to; vpn++) {
            const pte = mkPte(page.pfn[vpn - base], page.bits[vpn - base]);
            if (pte !== 0) visit(vpn, pte);
          }
        }
      }
    }
  }
}
