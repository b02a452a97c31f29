/** `mprotect: {proc, addr, size, prot}`: mprotect(2). */
import { doMprotect, parseProt } from '../../mm/mmap.js';
import { PROTS, type Prot, type StepBase } from '../ast.js';
import { oneOf } from '../nodes.js';
import { RANGE_SCHEMA, type RangeFields, rangeNames, readRange } from './range.js';
import type { StepSpec } from './spec.js';

export interface MprotectStep extends StepBase, RangeFields {
  op: 'mprotect';
  prot: Prot;
}
declare module '../ast.js' {
  interface StepKinds {
    mprotect: MprotectStep;
  }
}

export const mprotect: StepSpec<MprotectStep> = {
  fields: ['proc', 'addr', 'size', 'prot'],
  schema: {
    type: 'object',
    properties: { ...RANGE_SCHEMA, prot: { $ref: '#/definitions/prot' } },
    required: ['proc', 'addr', 'size', 'prot'],
    additionalProperties: false,
    description: 'mprotect(2).',
  },
  read: (f) => {
    const range = readRange(f);
    const prot = f.required('prot', oneOf(PROTS));
    return range && prot !== undefined ? { op: 'mprotect', ...range, prot } : undefined;
  },
  names: rangeNames,
  *run(step, r, thread) {
    const t = r.task(step.proc, thread);
    const prot = parseProt(step.prot)!;
    const addr = r.resolve(step.addr, step.proc);
    const e = yield* doMprotect(r.world.kernel, t.agent, t.mm, addr, step.size, prot);
    if (e !== null) r.outcome(step, e);
  },
};
