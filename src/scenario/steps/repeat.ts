/** `repeat: {times, steps}`: the steps, again and again (each run a step of its own). */
import type { Step, StepBase } from '../ast.js';
import { integer } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface RepeatStep extends StepBase {
  op: 'repeat';
  times: number;
  steps: Step[];
}
declare module '../ast.js' {
  interface StepKinds {
    repeat: RepeatStep;
  }
}

export const repeat: StepSpec<RepeatStep> = {
  fields: ['times', 'steps'],
  schema: {
    type: 'object',
    properties: { times: { type: 'integer', minimum: 1 }, steps: { $ref: '#/definitions/nonEmptySteps' } },
    required: ['times', 'steps'],
    additionalProperties: false,
    description: 'The steps, again and again.',
  },
  // Best effort even when broken, so that the names its steps define are still seen by the name checks
  // (the scenario itself is not returned when anything failed).
  read: (f, r) => {
    const times = f.required('times', integer(1));
    const steps = f.required('steps', (_cx, slot) => r.nestedSteps(slot));
    return { op: 'repeat', times: times ?? 1, steps: steps ?? [] };
  },
  names: (step, n) => {
    n.steps(step.steps);
    return undefined;
  },
  children: (step) => [step.steps],
  *run(step, r, thread) {
    for (let i = 0; i < step.times; i++) yield* r.steps(step.steps, thread);
  },
};
