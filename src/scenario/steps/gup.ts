/** `gup: {proc, addr, pages, [write], [pin], as}`: get_user_pages / pin_user_pages (O_DIRECT, RDMA). */
import { PAGE_SIZE } from '../../hw/page.js';
import type { AddrExpr, StepBase } from '../ast.js';
import { address, boolean, name, pageCount } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface GupStep extends StepBase {
  op: 'gup';
  proc: string;
  addr: AddrExpr;
  pages: number;
  write: boolean;
  /** pin_user_pages (FOLL_PIN) when true, get_user_pages otherwise. */
  pin: boolean;
  as: string;
}
declare module '../ast.js' {
  interface StepKinds {
    gup: GupStep;
  }
}

export const gup: StepSpec<GupStep> = {
  fields: ['proc', 'addr', 'pages', 'write', 'pin', 'as'],
  defines: { as: 'pin' },
  schema: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      pages: { $ref: '#/definitions/pageCount' },
      write: { type: 'boolean' },
      pin: { type: 'boolean' },
      as: { $ref: '#/definitions/name' },
    },
    required: ['proc', 'addr', 'pages', 'as'],
    additionalProperties: false,
    description: 'get_user_pages / pin_user_pages (O_DIRECT, RDMA).',
  },
  read: (f) => {
    const proc = f.required('proc', name);
    const addr = f.required('addr', address);
    const pages = f.required('pages', pageCount(1));
    const write = f.optional('write', boolean);
    const pin = f.optional('pin', boolean);
    const as = f.required('as', name);
    if (proc === undefined || addr === undefined || pages === undefined || as === undefined) return undefined;
    if ((f.has('write') && write === undefined) || (f.has('pin') && pin === undefined)) return undefined;
    return { op: 'gup', proc, addr, pages, write: write ?? false, pin: pin ?? true, as };
  },
  names: (step, n) => {
    n.useProcess(step.proc, 'proc');
    n.address(step.addr, step.proc, step.pages * PAGE_SIZE);
    n.define(step.as, 'pin', 'as', step.proc);
    return step.proc;
  },
  *run(step, r) {
    const w = r.world;
    const addr = r.resolve(step.addr, step.proc, step.pages * PAGE_SIZE);
    const e = w.sys.gup(step.proc, addr, step.pages, { write: step.write, pin: step.pin, name: step.as });
    if (e !== null) r.outcome(step, e);
    const pin = w.sys.pin(step.as);
    if (e === null && pin !== undefined)
      w.checker?.notePin(`pin:${step.as}`, pin.task.mm, addr, pin.result.pfns);
  },
};
