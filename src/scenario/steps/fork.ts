/** `fork: {proc, child}`: fork(2); the child copies the parent's mappings (and their names). */
import type { StepBase } from '../ast.js';
import { name } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface ForkStep extends StepBase {
  op: 'fork';
  proc: string;
  child: string;
}
declare module '../ast.js' {
  interface StepKinds {
    fork: ForkStep;
  }
}

export const fork: StepSpec<ForkStep> = {
  fields: ['proc', 'child'],
  defines: { child: 'process' },
  schema: {
    type: 'object',
    properties: { proc: { $ref: '#/definitions/name' }, child: { $ref: '#/definitions/name' } },
    required: ['proc', 'child'],
    additionalProperties: false,
    description: 'fork(2).',
  },
  read: (f) => {
    const proc = f.required('proc', name);
    const child = f.required('child', name);
    if (proc === undefined || child === undefined) return undefined;
    if (proc === child) return f.errorAt('child', `fork: the child needs a name of its own, not '${proc}'`);
    return { op: 'fork', proc, child };
  },
  names: (step, n) => {
    const parent = n.useProcess(step.proc, 'proc');
    if (n.define(step.child, 'process', 'child') && parent) n.inheritMappings(step.proc, step.child);
    return step.proc;
  },
  *run(step, r) {
    const e = r.world.sys.fork(step.proc, step.child);
    if (typeof e === 'string') r.outcome(step, e);
    r.spawned(step.child, step.proc);
  },
};
