/** struct mm_struct: an address space — its vmas, page table, locks and notifier chain. */
import { PageTable } from '../hw/pagetable.js';
import { Lock } from '../sim/exec.js';
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
  /** Set once exit_mmap has begun: KSM and GUP stop touching the mm. */
  exiting = false;
  dead = false;
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
    let i = 0;
    while (i < this.vmas.length && this.vmas[i].start < vma.start) i++;
    this.vmas.splice(i, 0, vma);
  }

  removeVma(vma: Vma): void {
    const i = this.vmas.indexOf(vma);
    if (i >= 0) this.vmas.splice(i, 1);
  }
}
