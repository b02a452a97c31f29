/** `device: {name, proc}`: an HMM device mirror of the process (dmirror over an interval notifier). */
import type { StepBase } from '../ast.js';
import { readSetup, type SetupFields, setupNames, setupSchema } from './secondary-setup.js';
import type { StepSpec } from './spec.js';

export interface DeviceStep extends StepBase, SetupFields {
  op: 'device';
}
declare module '../ast.js' {
  interface StepKinds {
    device: DeviceStep;
  }
}

export const device: StepSpec<DeviceStep> = {
  fields: ['name', 'proc'],
  defines: { name: 'device' },
  schema: setupSchema('An HMM device mirror of the process (interval notifier).'),
  read: (f) => {
    const s = readSetup(f);
    return s && { op: 'device', ...s };
  },
  names: setupNames('device'),
  *run(step, r) {
    r.world.addDevice(step.name, step.proc);
  },
};
