/**
 * struct mmu_notifier_ops and struct mmu_interval_notifier_ops (include/linux/mmu_notifier.h, v5.0
 * callbacks with v5.2 ranges; interval notifiers from v5.5). A library user writes a secondary MMU by
 * implementing any subset of these; every callback is a path, so it may take locks and be interleaved.
 */

import type { Mm } from '../mm/mm.js';
import type { NotifierRange } from '../mm/notifier-port.js';
import type { Agent, Path } from '../sim/exec.js';

export interface MmuNotifierOps {
  /** exit_mmap or unregister: tear down every secondary mapping and freeze. */
  release?(agent: Agent, mm: Mm): Path;
  /** Test-and-clear young for [start, end) and flush; result ORed into the primary's. */
  clearFlushYoung?(agent: Agent, mm: Mm, start: number, end: number): Path<boolean>;
  /** As clearFlushYoung without the secondary TLB flush. */
  clearYoung?(agent: Agent, mm: Mm, start: number, end: number): Path<boolean>;
  testYoung?(agent: Agent, mm: Mm, address: number): Path<boolean>;
  /** From set_pte_at_notify, before the primary pte is set; cannot sleep (runs under the ptl). */
  changePte?(agent: Agent, mm: Mm, address: number, pte: number): Path;
  /** Returns 0, or -EAGAIN (non-blockable ranges only). */
  invalidateRangeStart?(agent: Agent, range: NotifierRange): Path<number>;
  invalidateRangeEnd?(agent: Agent, range: NotifierRange): Path;
  /** Secondary TLBs that share the CPU page table (IOMMU SVA); under the ptl. */
  invalidateRange?(agent: Agent, mm: Mm, start: number, end: number): Path;
}

/** A registered mmu_notifier: a name (for logs) and its ops. */
export interface MmuNotifier {
  readonly name: string;
  readonly ops: MmuNotifierOps;
}

export interface MmuIntervalNotifierOps {
  /** Stop using translations in the range; call setSeq(curSeq) under the driver lock. False = would block. */
  invalidate(agent: Agent, sub: MmuIntervalNotifier, range: NotifierRange, curSeq: number): Path<boolean>;
}

/** struct mmu_interval_notifier: [start, end) of one mm, with its own invalidate_seq. */
export class MmuIntervalNotifier {
  invalidateSeq = 0;
  constructor(
    readonly name: string,
    readonly mm: Mm,
    readonly start: number,
    readonly end: number,
    readonly ops: MmuIntervalNotifierOps,
  ) {}

  overlaps(start: number, end: number): boolean {
    return start < this.end && end > this.start;
  }
}
