/** `pin_io: {pin, op}`: device I/O through a gup pin: a DMA store into, or a load from, the pinned pages. */
import { PAGE_SIZE } from '../../hw/page.js';
import { accessFrame } from '../../secondary/common.js';
import { ACCESS_KINDS, type AccessKind, type StepBase } from '../ast.js';
import { name, oneOf } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface PinIoStep extends StepBase {
  op: 'pin_io';
  pin: string;
  access: AccessKind;
}
declare module '../ast.js' {
  interface StepKinds {
    pin_io: PinIoStep;
  }
}

const at = (p: { line: number; col: number }): string => `${p.line}:${p.col}`;

export const pin_io: StepSpec<PinIoStep> = {
  fields: ['pin', 'op'],
  schema: {
    type: 'object',
    properties: { pin: { $ref: '#/definitions/name' }, op: { $ref: '#/definitions/access' } },
    required: ['pin', 'op'],
    additionalProperties: false,
    description:
      'Device I/O through a gup pin: a DMA store into (write) or a load from (read) the pinned pages.',
  },
  read: (f) => {
    const pin = f.required('pin', name);
    const access = f.required('op', oneOf(ACCESS_KINDS));
    if (pin === undefined || access === undefined) return undefined;
    return { op: 'pin_io', pin, access };
  },
  names: (step, n) => {
    const pin = n.use(step.pin, 'pin', 'pin');
    const released = n.released(step.pin);
    if (pin && released) n.error('pin', `pin '${step.pin}' was released at ${at(released)}`);
    return pin?.proc;
  },
  *run(step, r) {
    const k = r.world.kernel;
    const pin = r.world.sys.pin(step.pin);
    if (pin === undefined) {
      r.outcome(step, 'ENOENT', `no pin ${step.pin} (its gup failed)`);
      return;
    }
    const write = step.access === 'write';
    const agent = r.pinAgent(step.pin);
    pin.result.pfns.forEach((pfn, i) => {
      const store = write ? r.deviceFill() : undefined;
      const address = pin.address + i * PAGE_SIZE;
      accessFrame(
        k,
        agent,
        pin.task.mm,
        address,
        pfn,
        store,
        0,
        PAGE_SIZE,
        0,
        undefined,
        0,
        `pin:${step.pin}`,
      );
    });
  },
};
