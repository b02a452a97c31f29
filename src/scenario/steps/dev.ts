/** `dev: {device, op, addr, [pages]}`: device accesses through its HMM mirror. */
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
  kind: 'device',
  description: 'Device accesses through its mirror.',
  find: (w, n) => {
    const d = w.devices.get(n);
    return d && { task: d.task, access: (a, write, source) => d.devAccess(a, write, source) };
  },
  missing: (n) => `no device ${n}`,
});
