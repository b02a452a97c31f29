/** `madvise: {proc, addr, size, advice}`: madvise(2) (MADV_MERGEABLE, MADV_DONTNEED, ...). */
import { doMadvise } from '../../mm/mmap.js';
import { ADVICES, type Advice, type StepBase } from '../ast.js';
import { oneOf } from '../nodes.js';
import { RANGE_SCHEMA, type RangeFields, rangeNames, readRange } from './range.js';
import type { StepSpec } from './spec.js';

export interface MadviseStep extends StepBase, RangeFields {
  op: 'madvise';
  advice: Advice;
}
declare module '../ast.js' {
  interface StepKinds {
    madvise: MadviseStep;
  }
}

export const madvise: StepSpec<MadviseStep> = {
  fields: ['proc', 'addr', 'size', 'advice'],
  schema: {
    type: 'object',
    properties: { ...RANGE_SCHEMA, advice: { enum: [...ADVICES] } },
    required: ['proc', 'addr', 'size', 'advice'],
    additionalProperties: false,
    description: 'madvise(2).',
  },
  read: (f) => {
    const range = readRange(f);
    const advice = f.required('advice', oneOf(ADVICES));
    return range && advice !== undefined ? { op: 'madvise', ...range, advice } : undefined;
  },
  names: rangeNames,
  *run(step, r, thread) {
    const t = r.task(step.proc, thread);
    const w = r.world;
    const addr = r.resolve(step.addr, step.proc);
    const e = yield* doMadvise(w.kernel, t.agent, t.mm, addr, step.size, step.advice, w.sys.ksm);
    if (e !== null) r.outcome(step, e);
  },
};
