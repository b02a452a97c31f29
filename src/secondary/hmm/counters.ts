/** The counters every HMM device mirror keeps, as `dev.NAME.counter` (declared once; see CounterGroup). */
import { declareInstanceCounters } from '../../sim/counters.js';

export const HMM_COUNTERS = declareInstanceCounters(
  'dev',
  'device',
  {
    faults: 'dmirror_range_fault calls (device page faults)',
    invalidations: 'interval notifier invalidations handled',
    retries: 'range faults started again (hmm_range_fault EBUSY or mmu_interval_read_retry)',
  },
  ['faults', 'retries'],
);
