/**
 * The setup step of a secondary MMU kind whose instance needs only a name and a process (`device: {name,
 * proc}` for an HMM mirror, `iommu: {name, proc}` for an SVA binding, a library user's kind): it creates
 * the secondary and attaches it to the World, or records the errno its setup or registration answered.
 */

import type { Task } from '../../mm/kernel.js';
import { isSetupError, type SetupError } from '../../secondary/common.js';
import type { SecondaryMmu } from '../../secondary/secondary-mmu.js';
import type { Step, StepBase } from '../ast.js';
import { name } from '../nodes.js';
import type { World } from '../world.js';
import type { StepBody, StepSpec } from './spec.js';

export type SecondarySetupStep<Op extends string> = StepBase & { op: Op; name: string; proc: string };

export interface SecondarySetup<Op extends string> {
  op: Op;
  /** The kind of name the step defines (`device`, `iommu`): its kind's counters' instance. */
  names: string;
  description: string;
  /** The new secondary of `task`'s mm, or the errno its setup answers (it is attached by the step). */
  create(world: World, name: string, task: Task): SecondaryMmu | SetupError;
}

type SetupShape = Step & { name: string; proc: string };

export function secondarySetupStep<S extends SetupShape>(d: SecondarySetup<S['op']>): StepSpec<S> {
  const spec: StepSpec<SetupShape> = {
    fields: ['name', 'proc'],
    defines: { name: d.names },
    schema: {
      type: 'object',
      properties: { name: { $ref: '#/definitions/name' }, proc: { $ref: '#/definitions/name' } },
      required: ['name', 'proc'],
      additionalProperties: false,
      description: d.description,
    },
    read: (f) => {
      const n = f.required('name', name);
      const proc = f.required('proc', name);
      if (n === undefined || proc === undefined) return undefined;
      return { op: d.op, name: n, proc } as unknown as StepBody<SetupShape>;
    },
    names: (step, n) => {
      n.useProcess(step.proc, 'proc');
      n.define(step.name, d.names, 'name', step.proc);
      return step.proc;
    },
    *run(step, r) {
      const s = r.world.attach(d.create(r.world, step.name, r.world.task(step.proc)));
      if (isSetupError(s)) r.outcome(step, s.errno, s.detail);
    },
  };
  return spec as unknown as StepSpec<S>;
}
