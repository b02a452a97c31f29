/**
 * The counters of the mmu_notifier calls, declared once (see CounterGroup). They live beside the port
 * because mm/ counts a flagged range and resolves them for the chain, which counts the calls.
 */
import { declareCounters } from '../sim/counters.js';

export const NOTIFIER_COUNTERS = declareCounters('notifier', {
  invalidate_range_start: 'mmu_notifier_invalidate_range_start calls on an mm with subscribers',
  invalidate_range_end: 'mmu_notifier_invalidate_range_end calls on an mm with subscribers',
  change_pte: 'mmu_notifier_change_pte calls (set_pte_at_notify) on an mm with subscribers',
  clear_young: 'clear_flush_young / clear_young calls on an mm with subscribers',
  release: 'mmu_notifier_release calls (exit_mmap)',
  use_change_pte: 'invalidation ranges that carried MMU_NOTIFIER_USE_CHANGE_PTE',
  use_change_pte_misuse: 'flagged ranges that broke the USE_CHANGE_PTE rule (invariant 5)',
});
