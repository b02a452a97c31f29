/** `dma: {iommu, op, addr, [pages]}`: device DMA through an IOMMU SVA binding. */
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
  kind: 'iommu',
  description: 'Device DMA through the IOMMU.',
  find: (w, n) => {
    const d = w.iommus.get(n);
    return d && { task: d.task, access: (a, write, source) => d.dma(a, write, source) };
  },
  missing: (n) => `no IOMMU binding ${n} (its bind failed)`,
});
