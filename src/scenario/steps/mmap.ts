/** `mmap: {proc, size, prot, as, [at], [shared]}`: an anonymous mmap(2), named for later steps. */
import { type AddrExpr, PROTS, type Prot, type StepBase } from '../ast.js';
import { address, boolean, mappingName, name, oneOf, size } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface MmapStep extends StepBase {
  op: 'mmap';
  proc: string;
  size: number;
  prot: Prot;
  as: string;
  at?: AddrExpr;
  shared: boolean;
}
declare module '../ast.js' {
  interface StepKinds {
    mmap: MmapStep;
  }
}

export const mmap: StepSpec<MmapStep> = {
  fields: ['proc', 'size', 'prot', 'as', 'at', 'shared'],
  defines: { as: 'mapping' },
  schema: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      size: { $ref: '#/definitions/size' },
      prot: { $ref: '#/definitions/prot' },
      as: { $ref: '#/definitions/mappingName' },
      at: { $ref: '#/definitions/address' },
      shared: { type: 'boolean' },
    },
    required: ['proc', 'size', 'prot', 'as'],
    additionalProperties: false,
    description: 'mmap(2), anonymous.',
  },
  read: (f) => {
    const proc = f.required('proc', name);
    const bytes = f.required('size', size(1));
    const prot = f.required('prot', oneOf(PROTS));
    const as = f.required('as', mappingName);
    const at = f.optional('at', address);
    const shared = f.optional('shared', boolean) ?? false;
    if (proc === undefined || bytes === undefined || prot === undefined || as === undefined) return undefined;
    return { op: 'mmap', proc, size: bytes, prot, as, ...(at ? { at } : {}), shared };
  },
  names: (step, n) => {
    const alive = n.useProcess(step.proc, 'proc');
    // `at` may name the end of a mapping (a guard page placed right after it)
    if (step.at) n.address(step.at, step.proc, 0);
    if (alive) n.defineMapping(step.proc, step.as, 'as', step.size);
    return step.proc;
  },
  *run(step, r) {
    const at = step.at === undefined ? undefined : r.resolve(step.at, step.proc, 0);
    const start = r.world.sys.mmap(step.proc, step.size, step.prot, { at, shared: step.shared });
    if (typeof start === 'string') r.outcome(step, start);
    else r.mapped(step.proc, step.as, start, step.size);
  },
};
