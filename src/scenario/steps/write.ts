/** `write: {proc, addr, data|bytes|fill|pattern, [size]}`: a CPU store; faults as needed. */
import { userAccess } from '../../mm/access.js';
import type { AddrExpr, Payload, StepBase } from '../ast.js';
import { address, name } from '../nodes.js';
import { PAYLOAD_KEYS, payloadSize, readPayload, storeSource } from './payload.js';
import type { StepSpec } from './spec.js';

/** `size`: bytes written (the length of data/bytes, `size` for fill, `pages` pages for pattern). */
export type WriteStep = StepBase & { op: 'write'; proc: string; addr: AddrExpr; size: number } & Payload;
declare module '../ast.js' {
  interface StepKinds {
    write: WriteStep;
  }
}

export const write: StepSpec<WriteStep> = {
  fields: ['proc', 'addr', ...PAYLOAD_KEYS, 'size'],
  schema: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      data: { type: 'string', minLength: 1 },
      bytes: { $ref: '#/definitions/bytes' },
      fill: { $ref: '#/definitions/byte' },
      pattern: { $ref: '#/definitions/pattern' },
      size: { $ref: '#/definitions/size' },
    },
    required: ['proc', 'addr'],
    additionalProperties: false,
    oneOf: [
      { required: ['data'] },
      { required: ['bytes'] },
      { required: ['fill'] },
      { required: ['pattern'] },
    ],
    dependencies: { size: ['fill'] },
    description: 'A CPU store; faults as needed.',
  },
  read: (f) => {
    const proc = f.required('proc', name);
    const addr = f.required('addr', address);
    const payload = readPayload(f, true);
    const bytes = payloadSize(f, payload);
    if (proc === undefined || addr === undefined || !payload.ok || !payload.payload || bytes === undefined) {
      return undefined;
    }
    const p = payload.payload;
    const data: Payload = p.pattern ? { pattern: { seed: p.pattern.seed, pages: p.pattern.pages ?? 1 } } : p;
    return { op: 'write', proc, addr, size: bytes, ...data };
  },
  names: (step, n) => {
    n.useProcess(step.proc, 'proc');
    n.address(step.addr, step.proc, step.size);
    return step.proc;
  },
  *run(step, r, thread) {
    const addr = r.resolve(step.addr, step.proc, step.size);
    const t = r.task(step.proc, thread);
    const source = storeSource(r.world, step, addr, step.size);
    const res = yield* userAccess(r.world.kernel, t, addr, step.size, source);
    if (!res.ok) r.outcome(step, res.error);
  },
};
