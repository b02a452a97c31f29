/** The counters the hardware keeps (declared once; see CounterGroup). */
import { declareCounters } from '../sim/counters.js';

export const TLB_COUNTERS = declareCounters('tlb', {
  flush_local: 'CPU TLB flushes (flush_tlb_page / flush_tlb_range), one per flush',
  flush_remote: 'flushes that also shot down another CPU (an IPI), one per flush',
});
