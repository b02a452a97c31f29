/** struct mm_struct: an address space — its vmas, page table, locks and notifier chain. */
import { PageTable } from '../hw/pagetable.js';
import { Lock } from '../sim/exec.js';
import { Access, FOOTPRINT, FootprintKind, note } from '../sim/footprint.js';
import type { MmuNotifierPort } from './notifier-port.js';
import type { Vma } from './vma.js';

export class Mm {
  readonly pt = new PageTable();
  /** Sorted by start, non-overlapping. */
  readonly vmas: Vma[] = [];
  /** mmap_sem (v5.0 name; mmap_lock since v5.8). */
  readonly mmapLock: Lock;
  /** The page-table lock (one per mm: the model does not split ptlocks per pte page). */
  readonly ptl: Lock;
  /** CPUs that have run this mm (mm_cpumask): where TLB shootdowns go. */
  readonly cpumask = new Set<number>();
  /** The notifier chain (mm->mmu_notifier_mm), attached by src/notifier when a subscriber registers. */
  notifiers: MmuNotifierPort | null = null;
  /** Anonymous pages this mm maps (MM_ANONPAGES). */
  anonRss = 0;
  /** Shared (shmem) pages this mm maps (MM_SHMEMPAGES). */
  shmemRss = 0;
  /** Zero pages KSM mapped here (mm->ksm_zero_pages, src/mm/ksm-zero.ts). */
  ksmZeroPages = 0;
  /** The CPU runsOn last saw (it is in cpumask, which never shrinks). */
  private lastCpu = -1;
  private isExiting = false;
  private isDead = false;

  /** The mm's vma list and life in footprints (check/dpor.ts); its cpumask is index 1. */
  private noteMm(index: number, mode: Access): void {
    note(FootprintKind.Vmas, this.id, index, mode);
  }

  /** Set once exit_mmap has begun: KSM and GUP stop touching the mm. */
  get exiting(): boolean {
    if (FOOTPRINT.on) this.noteMm(0, Access.Read);
    return this.isExiting;
  }
  set exiting(v: boolean) {
    if (FOOTPRINT.on) this.noteMm(0, Access.Write);
    this.isExiting = v;
  }
  get dead(): boolean {
    if (FOOTPRINT.on) this.noteMm(0, Access.Read);
    return this.isDead;
  }
  set dead(v: boolean) {
    if (FOOTPRINT.on) this.noteMm(0, Access.Write);
    this.isDead = v;
  }

  /** The CPU runs this mm from now on (switch_mm sets it in mm_cpumask). */
  runsOn(cpu: number): void {
    if (cpu === this.lastCpu) {
      // (every access of a task asks: the set is already right, and a read of it in the footprint)
      if (FOOTPRINT.on) this.noteMm(1, Access.Read);
      return;
    }
    if (FOOTPRINT.on) this.noteMm(1, this.cpumask.has(cpu) ? Access.Read : Access.Write);
    this.cpumask.add(cpu);
    this.lastCpu = cpu;
  }

  /** mm_cpumask(mm): where a TLB shootdown must go. */
  activeCpus(): ReadonlySet<number> {
    if (FOOTPRINT.on) this.noteMm(1, Access.Read);
    return this.cpumask;
  }
  /** Per-subsystem attachments (KSM's mm_slot, ...), keyed by subsystem. */
  readonly attached = new Map<string, unknown>();

  constructor(
    readonly id: number,
    readonly owner: string,
  ) {
    this.mmapLock = new Lock(`mm${id}.mmap_sem`);
    this.ptl = new Lock(`mm${id}.ptl`);
  }

  /** find_vma(): the vma containing addr, or undefined. */
  findVma(addr: number): Vma | undefined {
    if (FOOTPRINT.on) this.noteMm(0, Access.Read);
    const vmas = this.vmas;
    let lo = 0;
    let hi = vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = vmas[mid];
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return v;
    }
    return undefined;
  }

  insertVma(vma: Vma): void {
    if (FOOTPRINT.on) this.noteMm(0, Access.Write);
    let i = 0;
    while (i < this.vmas.length && this.vmas[i].start < vma.start) i++;
    this.vmas.splice(i, 0, vma);
  }

  removeVma(vma: Vma): void {
    if (FOOTPRINT.on) this.noteMm(0, Access.Write);
    const i = this.vmas.indexOf(vma);
    if (i >= 0) this.vmas.splice(i, 1);
  }
}
