/** The counters every IOMMU SVA binding keeps, as `iommu.NAME.counter` (declared once; see CounterGroup). */
import { declareInstanceCounters } from '../../sim/counters.js';

export const IOMMU_COUNTERS = declareInstanceCounters(
  'iommu',
  'iommu',
  {
    faults: 'page requests the fault handler served (iommu_sva page faults)',
    iotlb_flushes: 'IOTLB invalidations (->invalidate_range and ->release)',
    stuck_writes: 'DMA writes aborted after repeated permission faults on a stale read-only IOTLB entry',
  },
  ['faults', 'stuck_writes'],
);
