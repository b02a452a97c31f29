/** `dma: {iommu, op, addr, [pages]}`: device DMA through an IOMMU SVA binding. */
import { IOMMU_COUNTERS } from '../../secondary/iommu/counters.js';
import { IommuSva } from '../../secondary/iommu/index.js';
import { secondaryName } from '../../secondary/secondary-mmu.js';
import { type DeviceAccessStep, deviceAccessStep } from './device-access.js';

export type DmaStep = DeviceAccessStep<'dma', 'iommu'>;
declare module '../ast.js' {
  interface StepKinds {
    dma: DmaStep;
  }
}

export const dma = deviceAccessStep<DmaStep>({
  op: 'dma',
  field: 'iommu',
  names: IOMMU_COUNTERS.instance,
  description: 'Device DMA through the IOMMU.',
  find: (w, n) => {
    const d = w.secondary(secondaryName(IOMMU_COUNTERS, n), IommuSva);
    return d && { task: d.task, access: (a, write, source) => d.dma(a, write, source) };
  },
  missing: (n) => `no IOMMU binding ${n} (its bind failed)`,
});
