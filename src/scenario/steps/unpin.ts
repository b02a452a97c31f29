/** `unpin: NAME`: release a gup by its name (unpin_user_pages / put_page). */
import type { StepBase } from '../ast.js';
import { name } from '../nodes.js';
import type { StepSpec } from './spec.js';

export interface UnpinStep extends StepBase {
  op: 'unpin';
  pin: string;
}
declare module '../ast.js' {
  interface StepKinds {
    unpin: UnpinStep;
  }
}

const at = (p: { line: number; col: number }): string => `${p.line}:${p.col}`;

export const unpin: StepSpec<UnpinStep> = {
  fields: ['pin'],
  shorthand: 'pin',
  schema: {
    oneOf: [
      { $ref: '#/definitions/name' },
      {
        type: 'object',
        properties: { pin: { $ref: '#/definitions/name' } },
        required: ['pin'],
        additionalProperties: false,
      },
    ],
    description: 'Release a gup by its name.',
  },
  read: (f) => {
    const pin = f.required('pin', name);
    return pin === undefined ? undefined : { op: 'unpin', pin };
  },
  names: (step, n) => {
    const pin = n.use(step.pin, 'pin', 'pin');
    const released = n.released(step.pin);
    if (pin && released) n.error('pin', `pin '${step.pin}' was already released at ${at(released)}`);
    else if (pin) n.release(step.pin);
    return pin?.proc;
  },
  *run(step, r) {
    const e = r.world.sys.unpin(step.pin);
    if (e !== null) r.outcome(step, e);
    r.world.checker?.forgetPin(`pin:${step.pin}`);
  },
};
