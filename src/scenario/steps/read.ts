/** `read: {proc, addr, [size], [expect]}`: a CPU load; faults as needed; `expect` is what it must return. */
import { PAGE_SIZE } from '../../hw/page.js';
import { userAccess } from '../../mm/access.js';
import type { AddrExpr, StepBase } from '../ast.js';
import { bytesValue, describeBytes } from '../describe.js';
import {
  address,
  BYTES_EXPECTED,
  byteString,
  isMap,
  isSeq,
  name,
  type ReadContext,
  type Slot,
  size,
} from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface ReadStep extends StepBase {
  op: 'read';
  proc: string;
  addr: AddrExpr;
  size: number;
  /** The bytes the read must return (the file's `expect: string or bytes` field of `read`). */
  equals?: number[];
}
declare module '../ast.js' {
  interface StepKinds {
    read: ReadStep;
  }
}

/** read's own `expect:` (the bytes it must return); a list of expectation maps belongs beside the step. */
function expectedBytes(cx: ReadContext, slot: Slot): number[] | undefined {
  if (isSeq(slot.node) && slot.node.items.some((item) => isMap(item))) {
    return cx.fail(slot, BYTES_EXPECTED, "a step's own expectations go beside 'read:', not inside it");
  }
  return byteString(cx, slot);
}

export const read: StepSpec<ReadStep> = {
  fields: ['proc', 'addr', 'size', 'expect'],
  schema: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      size: { $ref: '#/definitions/size' },
      expect: { $ref: '#/definitions/byteValue' },
    },
    required: ['proc', 'addr'],
    additionalProperties: false,
    description: 'A CPU load; faults as needed. `expect` is the bytes it must return.',
  },
  read: (f) => {
    const proc = f.required('proc', name);
    const addr = f.required('addr', address);
    const bytes = f.optional('size', size(1));
    const equals = f.optional('expect', expectedBytes);
    if (proc === undefined || addr === undefined || (f.has('size') && bytes === undefined)) return undefined;
    if (f.has('expect') && equals === undefined) return undefined;
    if (bytes !== undefined && equals !== undefined && bytes !== equals.length) {
      return f.errorAt('size', `read.size is ${bytes} but read.expect is ${equals.length} bytes long`);
    }
    return {
      op: 'read',
      proc,
      addr,
      size: bytes ?? equals?.length ?? PAGE_SIZE,
      ...(equals ? { equals } : {}),
    };
  },
  names: (step, n) => {
    n.useProcess(step.proc, 'proc');
    n.address(step.addr, step.proc, step.size);
    return step.proc;
  },
  *run(step, r, thread) {
    const addr = r.resolve(step.addr, step.proc, step.size);
    const res = yield* userAccess(
      r.world.kernel,
      r.task(step.proc, thread),
      addr,
      step.size,
      undefined,
      true,
    );
    if (!res.ok) r.outcome(step, res.error);
    const want = step.equals;
    if (want === undefined) return;
    const got = res.ok && res.data ? [...res.data] : null;
    const ok = got !== null && got.length === want.length && got.every((b, i) => b === want[i]);
    const actual = got === null ? (res.ok ? null : res.error) : bytesValue(got);
    r.check(step, `read ${step.addr.text} equals ${describeBytes(want)}`, ok, actual);
  },
};
