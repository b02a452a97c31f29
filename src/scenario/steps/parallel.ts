/**
 * `parallel: {threads: [[steps], [steps]]}`: threads whose kernel paths may interleave. The sequential
 * driver runs them one after another; `--interleave`, `--schedule` and the model checker interleave them
 * at their preemption points (scenario/run.ts decides). A parallel inside a thread runs in that thread.
 */
import type { Step, StepBase } from '../ast.js';
import { asList } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface ParallelStep extends StepBase {
  op: 'parallel';
  threads: Step[][];
}
declare module '../ast.js' {
  interface StepKinds {
    parallel: ParallelStep;
  }
}

export const parallel: StepSpec<ParallelStep> = {
  fields: ['threads'],
  schema: {
    type: 'object',
    properties: { threads: { type: 'array', minItems: 1, items: { $ref: '#/definitions/nonEmptySteps' } } },
    required: ['threads'],
    additionalProperties: false,
    description: 'Steps whose kernel paths may interleave.',
  },
  read: (f, r) => {
    const threads = f.required('threads', (cx, slot) => {
      const items = asList('a list of threads, each a list of steps: [[steps], [steps]]')(cx, slot);
      if (items?.length === 0) return cx.empty(slot, 'one thread');
      return items?.map((item) => r.nestedSteps(item) ?? []);
    });
    return { op: 'parallel', threads: threads ?? [] };
  },
  names: (step, n) => {
    n.threads(step.threads);
    return undefined;
  },
  children: (step) => step.threads,
  *run(step, r, thread) {
    yield* r.parallel(step.threads, thread);
  },
};
