/**
 * struct kvm_memory_slot (include/linux/kvm_host.h, v5.0) with the slot's part of the secondary page table:
 * one entry per gfn, as flat typed arrays (a guest may have hundreds of thousands of pages), plus the
 * per-vCPU TLB that caches sptes the way the hardware's EPT TLB does.
 */
import { PAGE_SIZE } from '../../hw/page.js';
import {
  Access,
  FOOTPRINT,
  FootprintKind,
  footprintSerial,
  note,
  noteEntryRead,
  noteEntryStore,
} from '../../sim/footprint.js';

/** The footprint index standing for a whole table (a walk of every entry; marked by every store). */
const WHOLE = 2 ** 36 - 1;

/** Spte bits kept per gfn (the pfn is kept apart). */
export const SPTE_WRITABLE = 1;
export const SPTE_ACCESSED = 2;

/** A guest-physical range backed by the host process's virtual range [userspaceAddr, +npages pages). */
export class Memslot {
  /** pfn per gfn of the slot, -1 where there is no spte. */
  readonly pfn: Int32Array;
  readonly bits: Uint8Array;
  private presentCount = 0;
  /** The slot's spte table in footprints (check/dpor.ts): one key per gfn, one for the whole. */
  readonly serial = footprintSerial();

  constructor(
    readonly baseGfn: number,
    readonly userspaceAddr: number,
    readonly npages: number,
  ) {
    this.pfn = new Int32Array(npages).fill(-1);
    this.bits = new Uint8Array(npages);
  }

  get endGfn(): number {
    return this.baseGfn + this.npages;
  }

  get endAddr(): number {
    return this.userspaceAddr + this.npages * PAGE_SIZE;
  }

  /** __gfn_to_hva_memslot. */
  hvaOf(index: number): number {
    return this.userspaceAddr + index * PAGE_SIZE;
  }

  /** The slot index of host address `hva`, or -1 (hva_to_gfn_memslot). */
  indexOfHva(hva: number): number {
    if (hva < this.userspaceAddr || hva >= this.endAddr) return -1;
    return Math.floor((hva - this.userspaceAddr) / PAGE_SIZE);
  }

  /** Indices of the slot's gfns whose host pages intersect [start, end), as [lo, hi). */
  indicesOfHvaRange(start: number, end: number): [number, number] {
    const lo = Math.max(start, this.userspaceAddr);
    const hi = Math.min(end, this.endAddr);
    if (lo >= hi) return [0, 0];
    return [
      Math.floor((lo - this.userspaceAddr) / PAGE_SIZE),
      Math.ceil((hi - this.userspaceAddr) / PAGE_SIZE),
    ];
  }

  /** How many sptes are present (a look at the whole table). */
  get present(): number {
    this.noteWalk();
    return this.presentCount;
  }

  /** A walk of every spte (the kvm_handle_hva_range loops, reports). */
  noteWalk(): void {
    if (FOOTPRINT.on) note(FootprintKind.SecondaryEntry, this.serial, WHOLE, Access.Read);
  }

  /** The spte's pfn, -1 where there is none. */
  pfnAt(index: number): number {
    if (FOOTPRINT.on) noteEntryRead(FootprintKind.SecondaryEntry, this.serial, index, WHOLE);
    return this.pfn[index];
  }

  bitsAt(index: number): number {
    if (FOOTPRINT.on) noteEntryRead(FootprintKind.SecondaryEntry, this.serial, index, WHOLE);
    return this.bits[index];
  }

  /** A store to the spte at `index` (sim/footprint.ts: one that leaves it as it was is a read). */
  private noteStore(index: number, unchanged: boolean): void {
    noteEntryStore(FootprintKind.SecondaryEntry, this.serial, index, WHOLE, unchanged);
  }

  setBits(index: number, bits: number): void {
    if (FOOTPRINT.on) this.noteStore(index, this.bits[index] === bits);
    this.bits[index] = bits;
  }

  set(index: number, pfn: number, bits: number): void {
    if (FOOTPRINT.on) this.noteStore(index, this.pfn[index] === pfn && this.bits[index] === bits);
    if (this.pfn[index] < 0) this.presentCount++;
    this.pfn[index] = pfn;
    this.bits[index] = bits;
  }

  /** Drop the spte at `index`; true if one was there. */
  drop(index: number): boolean {
    if (FOOTPRINT.on) this.noteStore(index, this.pfn[index] < 0);
    if (this.pfn[index] < 0) return false;
    this.pfn[index] = -1;
    this.bits[index] = 0;
    this.presentCount--;
    return true;
  }
}

const TLB_ENTRIES = 64;

/**
 * A vCPU's TLB for guest-physical translations (the EPT-derived combined mappings): direct mapped,
 * filled on every walk of the spte table and emptied only by a flush — so a spte changed without a
 * remote flush keeps being used, as on hardware.
 */
export class GuestTlb {
  private readonly tag = new Float64Array(TLB_ENTRIES).fill(-1);
  private readonly pfnOf = new Int32Array(TLB_ENTRIES);
  private readonly writableOf = new Uint8Array(TLB_ENTRIES);
  private used = 0;
  /** The TLB in footprints: one key per entry, one for the whole. */
  private readonly serial = footprintSerial();

  /** The cached pfn of `gfn` if present and allowing the access, else -1. */
  lookup(gfn: number, write: boolean): number {
    const i = gfn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) noteEntryRead(FootprintKind.Tlb, this.serial, i, TLB_ENTRIES);
    if (this.tag[i] !== gfn) return -1;
    if (write && this.writableOf[i] === 0) return -1;
    return this.pfnOf[i];
  }

  /** The cached entry of `gfn` whatever the access, as pfn * 2 + writable, or -1. */
  peek(gfn: number): number {
    const i = gfn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) noteEntryRead(FootprintKind.Tlb, this.serial, i, TLB_ENTRIES);
    return this.tag[i] === gfn ? this.pfnOf[i] * 2 + this.writableOf[i] : -1;
  }

  /** As Memslot's: a store that leaves the entry as it was is a read in the footprint. */
  private noteStore(i: number, unchanged: boolean): void {
    noteEntryStore(FootprintKind.Tlb, this.serial, i, TLB_ENTRIES, unchanged);
  }

  fill(gfn: number, pfn: number, writable: boolean): void {
    const i = gfn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on)
      this.noteStore(
        i,
        this.tag[i] === gfn && this.pfnOf[i] === pfn && this.writableOf[i] === (writable ? 1 : 0),
      );
    if (this.tag[i] < 0) this.used++;
    this.tag[i] = gfn;
    this.pfnOf[i] = pfn;
    this.writableOf[i] = writable ? 1 : 0;
  }

  flushGfn(gfn: number): void {
    const i = gfn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) this.noteStore(i, this.tag[i] !== gfn);
    if (this.tag[i] === gfn) {
      this.tag[i] = -1;
      this.used--;
    }
  }

  flushAll(): void {
    // an empty TLB stays empty: then the flush only looked
    if (FOOTPRINT.on)
      note(FootprintKind.Tlb, this.serial, TLB_ENTRIES, this.used === 0 ? Access.Read : Access.Write);
    if (this.used === 0) return;
    this.tag.fill(-1);
    this.used = 0;
  }

  forEach(visit: (gfn: number, pfn: number, writable: boolean) => void): void {
    if (this.used === 0) return;
    for (let i = 0; i < TLB_ENTRIES; i++) {
      if (this.tag[i] >= 0) visit(this.tag[i], this.pfnOf[i], this.writableOf[i] !== 0);
    }
  }
}
