/** `device: {name, proc}`: an HMM device mirror of the process (dmirror over an interval notifier). */
import { HMM_COUNTERS } from '../../secondary/hmm/counters.js';
import { HmmMirror } from '../../secondary/hmm/index.js';
import { type SecondarySetupStep, secondarySetupStep } from './secondary-setup.js';

export type DeviceStep = SecondarySetupStep<'device'>;
declare module '../ast.js' {
  interface StepKinds {
    device: DeviceStep;
  }
}

export const device = secondarySetupStep<DeviceStep>({
  op: 'device',
  names: HMM_COUNTERS.instance,
  description: 'An HMM device mirror of the process (interval notifier).',
  create: (w, name, task) => new HmmMirror(w.kernel, name, task),
});
