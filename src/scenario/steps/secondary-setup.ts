/**
 * What the setup steps of the device-like secondaries share (`device: {name, proc}` for an HMM mirror,
 * `iommu: {name, proc}` for an SVA binding): a name for the new secondary MMU of a process.
 */

import type { Fields } from '../nodes.js';
import { name } from '../nodes.js';
import type { NameEffects, ObjectKind } from './spec.js';

export interface SetupFields {
  name: string;
  proc: string;
}

export function setupSchema(description: string) {
  return {
    type: 'object',
    properties: { name: { $ref: '#/definitions/name' }, proc: { $ref: '#/definitions/name' } },
    required: ['name', 'proc'],
    additionalProperties: false,
    description,
  };
}

export function readSetup(f: Fields): SetupFields | undefined {
  const n = f.required('name', name);
  const proc = f.required('proc', name);
  return n === undefined || proc === undefined ? undefined : { name: n, proc };
}

export function setupNames(kind: ObjectKind): (step: SetupFields, n: NameEffects) => string {
  return (step, n) => {
    n.useProcess(step.proc, 'proc');
    n.define(step.name, kind, 'name', step.proc);
    return step.proc;
  };
}
