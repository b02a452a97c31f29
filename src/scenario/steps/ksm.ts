/** `ksm: {scan: N pages} | {full_scans: N}`: ksmd runs (mm/ksm/ksm.ts scanThread) until that much is done. */
import type { StepBase } from '../ast.js';
import { integer, pageCount } from '../nodes.js';
import type { StepSpec } from './spec.js';

/** ksmd runs until it has scanned `scanPages` pages, or completed `fullScans` full scans (one is set). */
export type KsmStep = StepBase & { op: 'ksm' } & (
    | { scanPages: number; fullScans?: undefined }
    | { fullScans: number; scanPages?: undefined }
  );
declare module '../ast.js' {
  interface StepKinds {
    ksm: KsmStep;
  }
}

export const ksm: StepSpec<KsmStep> = {
  fields: ['scan', 'full_scans'],
  schema: {
    type: 'object',
    properties: { scan: { $ref: '#/definitions/pageCount' }, full_scans: { type: 'integer', minimum: 1 } },
    additionalProperties: false,
    oneOf: [{ required: ['scan'] }, { required: ['full_scans'] }],
    description: 'ksmd runs until that much work is done.',
  },
  read: (f) => {
    const given = f.present(['scan', 'full_scans']);
    if (given.length !== 1) {
      return given.length === 0
        ? f.errorAt(undefined, "ksm needs one of 'scan: N pages' or 'full_scans: N'")
        : f.errorAt('full_scans', "ksm takes one of 'scan' or 'full_scans', not both");
    }
    if (given[0] === 'scan') {
      const scanPages = f.optional('scan', pageCount(1));
      return scanPages === undefined ? undefined : { op: 'ksm', scanPages };
    }
    const fullScans = f.optional('full_scans', integer(1));
    return fullScans === undefined ? undefined : { op: 'ksm', fullScans };
  },
  names: () => undefined,
  *run(step, r) {
    yield* r.world.ksm.scanThread(
      step.fullScans !== undefined ? { fullScans: step.fullScans } : { pages: step.scanPages },
    );
  },
};
