/** `munmap: {proc, addr, size}`: munmap(2). */

import { doMunmap } from '../../mm/mmap.js';
import type { StepBase } from '../ast.js';
import { RANGE_SCHEMA, type RangeFields, rangeNames, readRange } from './range.js';
import type { StepSpec } from './spec.js';

export interface MunmapStep extends StepBase, RangeFields {
  op: 'munmap';
}
declare module '../ast.js' {
  interface StepKinds {
    munmap: MunmapStep;
  }
}

export const munmap: StepSpec<MunmapStep> = {
  fields: ['proc', 'addr', 'size'],
  schema: {
    type: 'object',
    properties: RANGE_SCHEMA,
    required: ['proc', 'addr', 'size'],
    additionalProperties: false,
    description: 'munmap(2).',
  },
  read: (f) => {
    const range = readRange(f);
    return range && { op: 'munmap', ...range };
  },
  names: rangeNames,
  *run(step, r, thread) {
    const t = r.task(step.proc, thread);
    const e = yield* doMunmap(r.world.kernel, t.agent, t.mm, r.resolve(step.addr, step.proc), step.size);
    if (e !== null) r.outcome(step, e);
  },
};
