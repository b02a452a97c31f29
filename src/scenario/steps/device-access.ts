/**
 * The access steps of the device-like secondaries, one definition for all: `dev: {device, op, addr,
 * [pages]}` (an HMM mirror's device, dmirror_read/dmirror_write), `dma: {iommu, op, addr, [pages]}` (DMA
 * through an SVA binding), and a library user's device. `pages` consecutive pages from addr, one access
 * each; a store writes a byte chosen from the run's seed.
 */
import { PAGE_SIZE } from '../../hw/page.js';
import type { StoreSource } from '../../mm/access.js';
import type { Task } from '../../mm/kernel.js';
import type { SecondaryAccessOutcome } from '../../secondary/common.js';
import type { Path } from '../../sim/exec.js';
import { ACCESS_KINDS, type AccessKind, type AddrExpr, type Step, type StepBase } from '../ast.js';
import { address, name, oneOf, pageCount } from '../nodes.js';
import type { World } from '../world.js';
import type { ObjectKind, StepBody, StepSpec } from './spec.js';

/** A device that accesses its process's memory through a secondary MMU. */
export interface AccessingDevice {
  readonly task: Task;
  access(address: number, write: boolean, source?: StoreSource): Path<SecondaryAccessOutcome>;
}

export type DeviceAccessStep<Op extends string, Field extends string> = StepBase & {
  op: Op;
  access: AccessKind;
  addr: AddrExpr;
  pages: number;
} & Record<Field, string>;

export interface DeviceAccessKind<Op extends string, Field extends string> {
  op: Op;
  /** The field naming the device (`device`, `iommu`), and the kind of name it is (`device`, `iommu`). */
  field: Field;
  names: ObjectKind;
  description: string;
  /** The device by name; undefined when its setup failed (the step's outcome is then ENODEV). */
  find(world: World, name: string): AccessingDevice | undefined;
  /** Why the device is missing, for the outcome note. */
  missing(name: string): string;
}

type AccessStepShape = Step & { access: AccessKind; addr: AddrExpr; pages: number };

export function deviceAccessStep<S extends AccessStepShape>(
  d: DeviceAccessKind<S['op'], string>,
): StepSpec<S> {
  const owner = (step: AccessStepShape): string => (step as unknown as Record<string, string>)[d.field];
  const spec: StepSpec<AccessStepShape> = {
    fields: [d.field, 'op', 'addr', 'pages'],
    schema: {
      type: 'object',
      properties: {
        [d.field]: { $ref: '#/definitions/name' },
        op: { $ref: '#/definitions/access' },
        addr: { $ref: '#/definitions/address' },
        pages: { $ref: '#/definitions/pageCount' },
      },
      required: [d.field, 'op', 'addr'],
      additionalProperties: false,
      description: d.description,
    },
    read: (f) => {
      const who = f.required(d.field, name);
      const access = f.required('op', oneOf(ACCESS_KINDS));
      const addr = f.required('addr', address);
      const pages = f.optional('pages', pageCount(1));
      if (who === undefined || access === undefined || addr === undefined) return undefined;
      if (f.has('pages') && pages === undefined) return undefined;
      return {
        op: d.op,
        [d.field]: who,
        access,
        addr,
        pages: pages ?? 1,
      } as unknown as StepBody<AccessStepShape>;
    },
    names: (step, n) => {
      const proc = n.use(owner(step), d.names, d.field)?.proc;
      if (proc !== undefined) n.address(step.addr, proc, step.pages * PAGE_SIZE);
      return proc;
    },
    *run(step, r) {
      const dev = d.find(r.world, owner(step));
      if (dev === undefined) {
        r.outcome(step, 'ENODEV', d.missing(owner(step)));
        return;
      }
      const addr = r.resolve(step.addr, dev.task.name, step.pages * PAGE_SIZE);
      const write = step.access === 'write';
      for (let i = 0; i < step.pages; i++) {
        const a = addr + i * PAGE_SIZE;
        const res = yield* dev.access(a, write, write ? r.deviceFill() : undefined);
        if (!res.ok) r.outcome(step, res.error, `0x${a.toString(16)}`);
      }
    },
  };
  return spec as unknown as StepSpec<S>;
}
