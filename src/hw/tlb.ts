/**
 * Per-CPU TLBs: direct-mapped caches of (mm, vpn) -> pte. A CPU access that hits uses the cached pte
 * without walking the page table, as hardware does — so a missing flush in a modelled path lets a CPU
 * use a stale translation, and the invariants see it.
 */

import { Access, FOOTPRINT, FootprintKind, footprintSerial, note } from '../sim/footprint.js';

const TLB_ENTRIES = 256;
/** The footprint index that stands for the whole TLB (entries are 0..TLB_ENTRIES-1). */
const WHOLE = TLB_ENTRIES;

export class Tlb {
  private readonly tagMm = new Int32Array(TLB_ENTRIES).fill(-1);
  private readonly tagVpn = new Float64Array(TLB_ENTRIES);
  private readonly cached = new Float64Array(TLB_ENTRIES);
  /** The TLB's name in footprints: an entry is one key, and the whole TLB another (flushMm). */
  private readonly serial = footprintSerial();

  private noteEntry(i: number, mode: Access, whole: Access): void {
    note(FootprintKind.Tlb, this.serial, i, mode);
    note(FootprintKind.Tlb, this.serial, WHOLE, whole);
  }

  /** The cached pte for (mm, vpn), or 0 on a miss. */
  lookup(mm: number, vpn: number): number {
    const i = vpn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) this.noteEntry(i, Access.Read, Access.Touch);
    return this.tagMm[i] === mm && this.tagVpn[i] === vpn ? this.cached[i] : 0;
  }

  /** Told of every fill (the invariant checker's change tracking); null: nobody. */
  watch: ((mm: number, vpn: number) => void) | null = null;

  fill(mm: number, vpn: number, pte: number): void {
    const i = vpn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) this.noteEntry(i, Access.Write, Access.Mark);
    this.tagMm[i] = mm;
    this.tagVpn[i] = vpn;
    this.cached[i] = pte;
    if (this.watch !== null) this.watch(mm, vpn);
  }

  flushPage(mm: number, vpn: number): void {
    const i = vpn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) this.noteEntry(i, Access.Write, Access.Mark);
    if (this.tagMm[i] === mm && this.tagVpn[i] === vpn) this.tagMm[i] = -1;
  }

  flushMm(mm: number): void {
    if (FOOTPRINT.on) note(FootprintKind.Tlb, this.serial, WHOLE, Access.Write);
    for (let i = 0; i < TLB_ENTRIES; i++) if (this.tagMm[i] === mm) this.tagMm[i] = -1;
  }

  /** Every cached entry of `mm`, for the coherence check. */
  forEach(mm: number, visit: (vpn: number, pte: number) => void): void {
    for (let i = 0; i < TLB_ENTRIES; i++) if (this.tagMm[i] === mm) visit(this.tagVpn[i], this.cached[i]);
  }
}
