/** Helpers on struct mmu_notifier_range (include/linux/mmu_notifier.h v5.2; RFC v2 for the flag). */
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFIER_USE_CHANGE_PTE,
  MMU_NOTIFY_PROTECTION_VMA,
  type NotifierRange,
} from '../mm/notifier-port.js';
import { VM_READ } from '../mm/vma.js';

export function mmuNotifierRangeBlockable(range: NotifierRange): boolean {
  return (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0;
}

/** mmu_notifier_range_use_change_pte (RFC v2, Feb 2019). */
export function mmuNotifierRangeUseChangePte(range: NotifierRange): boolean {
  return (range.flags & MMU_NOTIFIER_USE_CHANGE_PTE) !== 0;
}

/** mmu_notifier_range_update_to_read_only: an mprotect that leaves the vma readable. */
export function mmuNotifierRangeUpdateToReadOnly(range: NotifierRange): boolean {
  if (range.vma === null || range.event !== MMU_NOTIFY_PROTECTION_VMA) return false;
  return (range.vma.flags & VM_READ) !== 0;
}
