/**
 * What munmap, mprotect and madvise share: a process, an address range, and the errno a system call
 * returns. (Each is its own step module; this is only their common reading and naming.)
 */
import type { AddrExpr } from '../ast.js';
import { address, type Fields, name, size } from '../nodes.js';
import type { NameEffects } from './spec.js';

export interface RangeFields {
  proc: string;
  addr: AddrExpr;
  size: number;
}

export const RANGE_SCHEMA = {
  proc: { $ref: '#/definitions/name' },
  addr: { $ref: '#/definitions/address' },
  size: { $ref: '#/definitions/size' },
} as const;

export function readRange(f: Fields): RangeFields | undefined {
  const proc = f.required('proc', name);
  const addr = f.required('addr', address);
  const bytes = f.required('size', size(1));
  if (proc === undefined || addr === undefined || bytes === undefined) return undefined;
  return { proc, addr, size: bytes };
}

/** The range's start must be inside its mapping (the kernel takes whatever the range covers). */
export function rangeNames(step: RangeFields, n: NameEffects): string {
  n.useProcess(step.proc, 'proc');
  n.address(step.addr, step.proc, 1);
  return step.proc;
}
