/** `spawn: NAME`: a new process with an empty mm (as fork+exec would leave it). */
import type { StepBase } from '../ast.js';
import { name } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface SpawnStep extends StepBase {
  op: 'spawn';
  proc: string;
}
declare module '../ast.js' {
  interface StepKinds {
    spawn: SpawnStep;
  }
}

export const spawn: StepSpec<SpawnStep> = {
  fields: ['proc'],
  shorthand: 'proc',
  defines: { proc: 'process' },
  schema: {
    oneOf: [
      { $ref: '#/definitions/name' },
      {
        type: 'object',
        properties: { proc: { $ref: '#/definitions/name' } },
        required: ['proc'],
        additionalProperties: false,
      },
    ],
    description: 'A new process with an empty mm.',
  },
  read: (f) => {
    const proc = f.required('proc', name);
    return proc === undefined ? undefined : { op: 'spawn', proc };
  },
  names: (step, n) => {
    n.define(step.proc, 'process', 'proc');
    return step.proc;
  },
  *run(step, r) {
    r.world.sys.spawn(step.proc);
    r.spawned(step.proc);
  },
};
