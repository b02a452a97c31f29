/** `vm: {name, proc, memslots, [vcpus]}`: a KVM guest whose memory is the process's mapping. */
import { PAGE_SIZE } from '../../hw/page.js';
import { isSetupError } from '../../secondary/common.js';
import { KVM_COUNTERS } from '../../secondary/kvm/counters.js';
import { KvmGuest } from '../../secondary/kvm/index.js';
import type { AddrExpr, SourcePos, StepBase } from '../ast.js';
import {
  address,
  asList,
  asMap,
  Fields,
  integer,
  name,
  pageAlignedSize,
  type ReadContext,
  type Slot,
} from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface Memslot {
  gfn: number;
  /** Host virtual address in the VM's process. */
  addr: AddrExpr;
  size: number;
  pos: SourcePos;
}

export interface VmStep extends StepBase {
  op: 'vm';
  name: string;
  proc: string;
  memslots: Memslot[];
  vcpus: number;
}
declare module '../ast.js' {
  interface StepKinds {
    vm: VmStep;
  }
}

const memslot = (cx: ReadContext, slot: Slot): Memslot | undefined => {
  const map = asMap('a memslot {gfn, addr, size}')(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'memslot', ['gfn', 'addr', 'size'], slot.pos);
  const gfn = f.required('gfn', integer(0));
  const addr = f.required('addr', address);
  const bytes = f.required('size', pageAlignedSize);
  if (gfn === undefined || addr === undefined || bytes === undefined) return undefined;
  const result: Memslot = { gfn, addr, size: bytes, pos: slot.pos };
  cx.setFieldPositions(result, f.positions());
  return result;
};

function readMemslots(cx: ReadContext, slot: Slot): Memslot[] | undefined {
  const items = asList('a list of memslots [{gfn, addr, size}]')(cx, slot);
  if (!items) return undefined;
  if (items.length === 0) return cx.empty(slot, 'one memslot');
  const slots = items.map((item) => memslot(cx, item));
  if (!slots.every((s) => s !== undefined)) return undefined;
  const ok = slots as Memslot[];
  // KVM refuses overlapping guest-physical ranges (KVM_SET_USER_MEMORY_REGION returns EEXIST).
  for (let i = 0; i < ok.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [ok[j], ok[i]];
      if (b.gfn < a.gfn + a.size / PAGE_SIZE && a.gfn < b.gfn + b.size / PAGE_SIZE) {
        cx.error(
          b.pos,
          `memslot overlaps the memslot at ${a.pos.line}:${a.pos.col} (gfn ranges must be disjoint)`,
        );
        return undefined;
      }
    }
  }
  return ok;
}

export const vm: StepSpec<VmStep> = {
  fields: ['name', 'proc', 'memslots', 'vcpus'],
  defines: { name: KVM_COUNTERS.instance },
  schema: {
    type: 'object',
    properties: {
      name: { $ref: '#/definitions/name' },
      proc: { $ref: '#/definitions/name' },
      memslots: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          properties: {
            gfn: { type: 'integer', minimum: 0 },
            addr: { $ref: '#/definitions/address' },
            size: { $ref: '#/definitions/pageAlignedSize' },
          },
          required: ['gfn', 'addr', 'size'],
          additionalProperties: false,
        },
      },
      vcpus: { type: 'integer', minimum: 1, maximum: 1024 },
    },
    required: ['name', 'proc', 'memslots'],
    additionalProperties: false,
    description: "A KVM guest whose memory is the process's mapping; registers the mmu notifier.",
  },
  read: (f) => {
    const vmName = f.required('name', name);
    const proc = f.required('proc', name);
    const memslots = f.required('memslots', readMemslots);
    const vcpus = f.optional('vcpus', integer(1, 1024));
    if (vmName === undefined || proc === undefined || memslots === undefined) return undefined;
    if (f.has('vcpus') && vcpus === undefined) return undefined;
    return { op: 'vm', name: vmName, proc, memslots, vcpus: vcpus ?? 1 };
  },
  names: (step, n) => {
    n.useProcess(step.proc, 'proc');
    for (const slot of step.memslots) n.address(slot.addr, step.proc, slot.size);
    n.define(step.name, KVM_COUNTERS.instance, 'name', step.proc);
    return step.proc;
  },
  *run(step, r) {
    const slots = step.memslots.map((m) => ({
      gfn: m.gfn,
      addr: r.resolve(m.addr, step.proc, m.size),
      size: m.size,
    }));
    const w = r.world;
    const g = w.attach(KvmGuest.create(w.kernel, step.name, w.task(step.proc), slots, { vcpus: step.vcpus }));
    if (isSetupError(g)) r.outcome(step, g.errno, g.detail);
  },
};
