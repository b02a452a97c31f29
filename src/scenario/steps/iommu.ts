/** `iommu: {name, proc}`: an IOMMU SVA binding (shares the CPU page table, caches an IOTLB). */
import { IOMMU_COUNTERS } from '../../secondary/iommu/counters.js';
import { IommuSva } from '../../secondary/iommu/index.js';
import { type SecondarySetupStep, secondarySetupStep } from './secondary-setup.js';

export type IommuStep = SecondarySetupStep<'iommu'>;
declare module '../ast.js' {
  interface StepKinds {
    iommu: IommuStep;
  }
}

export const iommu = secondarySetupStep<IommuStep>({
  op: 'iommu',
  names: IOMMU_COUNTERS.instance,
  description: 'An IOMMU SVA binding (shares the page table, caches an IOTLB).',
  // EOPNOTSUPP on kernels without ->invalidate_range
  create: (w, name, task) => IommuSva.bindDevice(w.kernel, name, task),
});
