/** `iommu: {name, proc}`: an IOMMU SVA binding (shares the CPU page table, caches an IOTLB). */
import { isSetupError } from '../../secondary/common.js';
import type { StepBase } from '../ast.js';
import { readSetup, type SetupFields, setupNames, setupSchema } from './secondary-setup.js';
import type { StepSpec } from './spec.js';

export interface IommuStep extends StepBase, SetupFields {
  op: 'iommu';
}
declare module '../ast.js' {
  interface StepKinds {
    iommu: IommuStep;
  }
}

export const iommu: StepSpec<IommuStep> = {
  fields: ['name', 'proc'],
  defines: { name: 'iommu' },
  schema: setupSchema('An IOMMU SVA binding (shares the page table, caches an IOTLB).'),
  read: (f) => {
    const s = readSetup(f);
    return s && { op: 'iommu', ...s };
  },
  names: setupNames('iommu'),
  *run(step, r) {
    const d = r.world.addIommu(step.name, step.proc);
    if (isSetupError(d)) r.outcome(step, d.errno);
  },
};
