/** The counters every KVM guest keeps, as `kvm.NAME.counter` (declared once; see CounterGroup). */
import { declareInstanceCounters } from '../../sim/counters.js';

export const KVM_COUNTERS = declareInstanceCounters(
  'kvm',
  'vm',
  {
    faults: 'EPT violations handled by tdp_page_fault',
    sptes_zapped: 'sptes dropped by invalidations, change_pte and release',
    change_pte_updates: 'change_pte calls that found a live spte and re-pointed or dropped it',
    change_pte_misses: 'change_pte calls for a memslot address with no spte',
    retries: 'faults abandoned because an invalidation ran or was running (mmu_notifier_retry)',
    remote_tlb_flushes: 'kvm_flush_remote_tlbs calls (every vCPU drops its cached translations)',
  },
  ['faults', 'retries'],
);
