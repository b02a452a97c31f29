/** `dev: {device, op, addr, [pages]}`: device accesses through its HMM mirror. */
import { HMM_COUNTERS } from '../../secondary/hmm/counters.js';
import { HmmMirror } from '../../secondary/hmm/index.js';
import { secondaryName } from '../../secondary/secondary-mmu.js';
import { type DeviceAccessStep, deviceAccessStep } from './device-access.js';

export type DevStep = DeviceAccessStep<'dev', 'device'>;
declare module '../ast.js' {
  interface StepKinds {
    dev: DevStep;
  }
}

export const dev = deviceAccessStep<DevStep>({
  op: 'dev',
  field: 'device',
  names: HMM_COUNTERS.instance,
  description: 'Device accesses through its mirror.',
  find: (w, n) => {
    const d = w.secondary(secondaryName(HMM_COUNTERS, n), HmmMirror);
    return d && { task: d.task, access: (a, write, source) => d.devAccess(a, write, source) };
  },
  missing: (n) => `no device ${n}`,
});
