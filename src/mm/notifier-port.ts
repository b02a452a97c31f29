/**
 * The primary MMU's side of the mmu_notifier contract: the range it describes and the calls it makes.
 * The notifier core (src/notifier) implements MmuNotifierPort and attaches it to an mm; mm/ never
 * imports from above (docs/ARCHITECTURE.md, Layers), so the contract lives here.
 * Kernel reference: include/linux/mmu_notifier.h (v5.2 range with event and flags; RFC v2 flag bit).
 */
import type { Agent, Path } from '../sim/exec.js';
import type { Mm } from './mm.js';
import type { Vma } from './vma.js';

/** enum mmu_notifier_event (v5.2+, with RELEASE v5.5 and MIGRATE v5.9). */
export const MMU_NOTIFY_UNMAP = 0;
export const MMU_NOTIFY_CLEAR = 1;
export const MMU_NOTIFY_PROTECTION_VMA = 2;
export const MMU_NOTIFY_PROTECTION_PAGE = 3;
export const MMU_NOTIFY_SOFT_DIRTY = 4;
export const MMU_NOTIFY_RELEASE = 5;
export const MMU_NOTIFY_MIGRATE = 6;

export const EVENT_NAMES = [
  'UNMAP',
  'CLEAR',
  'PROTECTION_VMA',
  'PROTECTION_PAGE',
  'SOFT_DIRTY',
  'RELEASE',
  'MIGRATE',
];

/** range->flags: MMU_NOTIFIER_RANGE_BLOCKABLE, and the seed's MMU_NOTIFIER_USE_CHANGE_PTE (RFC v2 placement). */
export const MMU_NOTIFIER_RANGE_BLOCKABLE = 1;
export const MMU_NOTIFIER_USE_CHANGE_PTE = 2;

/** struct mmu_notifier_range: [start, end) in bytes. */
export interface NotifierRange {
  readonly mm: Mm;
  readonly vma: Vma | null;
  readonly start: number;
  readonly end: number;
  readonly event: number;
  flags: number;
  /** Which kernel function opened the range (for the log and violation reports). */
  readonly by: string;
}

/** The words of each flag combination, made once (every logged notifier call shows its flags). */
const rangeFlagTexts: string[] = [];

export function formatRangeFlags(flags: number): string {
  let text = rangeFlagTexts[flags];
  if (text === undefined) {
    const out: string[] = [];
    if (flags & MMU_NOTIFIER_RANGE_BLOCKABLE) out.push('BLOCKABLE');
    if (flags & MMU_NOTIFIER_USE_CHANGE_PTE) out.push('USE_CHANGE_PTE');
    text = out.join('|');
    rangeFlagTexts[flags] = text;
  }
  return text;
}

/** What an mm's notifier chain does when the primary MMU calls it. Every call is a path: it may wait. */
export interface MmuNotifierPort {
  invalidateRangeStart(agent: Agent, range: NotifierRange): Path<number>;
  invalidateRangeEnd(agent: Agent, range: NotifierRange, onlyEnd: boolean): Path;
  /** ->invalidate_range: secondary TLBs sharing the CPU page table (ptep_clear_flush_notify, full end). */
  invalidateRange(agent: Agent, mm: Mm, start: number, end: number): Path;
  /** ->change_pte, from set_pte_at_notify (before the primary pte is set). */
  changePte(agent: Agent, mm: Mm, address: number, pte: number): Path;
  clearFlushYoung(agent: Agent, mm: Mm, start: number, end: number): Path<boolean>;
  clearYoung(agent: Agent, mm: Mm, start: number, end: number): Path<boolean>;
  testYoung(agent: Agent, mm: Mm, address: number): Path<boolean>;
  /** exit_mmap / unregister: tear everything down. */
  release(agent: Agent, mm: Mm): Path;
  /** The CPU TLB of this mm was flushed (v6.6+ arch_invalidate_secondary_tlbs hook). */
  cpuTlbFlushed(agent: Agent, mm: Mm, start: number, end: number): Path;
}
