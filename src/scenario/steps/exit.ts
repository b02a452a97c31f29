/** `exit: NAME`: the process exits; its mm is torn down (exit_mmap), notifiers get ->release. */
import type { StepBase } from '../ast.js';
import { name } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface ExitStep extends StepBase {
  op: 'exit';
  proc: string;
}
declare module '../ast.js' {
  interface StepKinds {
    exit: ExitStep;
  }
}

export const exit: StepSpec<ExitStep> = {
  fields: ['proc'],
  shorthand: 'proc',
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
    description: 'exit(2): the mm is torn down, notifiers get release.',
  },
  read: (f) => {
    const proc = f.required('proc', name);
    return proc === undefined ? undefined : { op: 'exit', proc };
  },
  names: (step, n) => {
    if (n.useProcess(step.proc, 'proc')) n.exit(step.proc);
    return step.proc;
  },
  *run(step, r) {
    yield* r.world.sys.exitPath(step.proc);
  },
};
