/**
 * Per-CPU TLBs: direct-mapped caches of (mm, vpn) -> pte. A CPU access that hits uses the cached pte
 * without walking the page table, as hardware does — so a missing flush in a modelled path lets a CPU
 * use a stale translation, and the invariants see it.
 */

import { Access, FOOTPRINT, FootprintKind, footprintSerial, note } from '../sim/footprint.js';

const TLB_ENTRIES = 256;
// Footprint modes as module-private constants, which V8 folds (an imported binding is a module cell every
// use loads and checks): lookup and fill stay small enough to be inlined on every access.
const READ = Access.Read;
const MARK = Access.Mark;
const WRITE = Access.Write;
const TOUCH = Access.Touch;
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
    if (FOOTPRINT.on) this.noteEntry(i, READ, TOUCH);
    return this.tagMm[i] === mm && this.tagVpn[i] === vpn ? this.cached[i] : 0;
  }

  /** Told of every fill (the invariant checker's change tracking); null: nobody. */
  watch: ((mm: number, vpn: number) => void) | null = null;

  fill(mm: number, vpn: number, pte: number): void {
    const i = vpn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) this.noteEntry(i, WRITE, MARK);
    this.tagMm[i] = mm;
    this.tagVpn[i] = vpn;
    this.cached[i] = pte;
    if (this.watch !== null) this.watch(mm, vpn);
  }

  flushPage(mm: number, vpn: number): void {
    const i = vpn & (TLB_ENTRIES - 1);
    if (FOOTPRINT.on) this.noteEntry(i, WRITE, MARK);
    if (this.tagMm[i] === mm && this.tagVpn[i] === vpn) this.tagMm[i] = -1;
  }

  flushMm(mm: number): void {
    if (FOOTPRINT.on) note(FootprintKind.Tlb, this.serial, WHOLE, WRITE);
    for (let i = 0; i < TLB_ENTRIES; i++) if (this.tagMm[i] === mm) this.tagMm[i] = -1;
  }

  /** Every cached entry of `mm`, for the coherence check. */
  forEach(mm: number, visit: (vpn: number, pte: number) => void): void {
    for (let i = 0; i < TLB_ENTRIES; i++) if (this.tagMm[i] === mm) visit(this.tagVpn[i], this.cached[i]);
  }
}
