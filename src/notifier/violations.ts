/**
 * The run's broken invariants (docs/INVARIANTS.md) as the checkers report them: the invariant checker, the
 * USE_CHANGE_PTE validator, and model paths that detect a bug themselves (through the kernel observers'
 * onViolation). The runner says which scenario step is running; the kernel knows nothing of either.
 */
import type { Kernel, KernelObserver, ViolationReport } from '../mm/kernel.js';
import { newEvent } from '../sim/log.js';

/** A broken invariant, as reported to the user. */
export interface Violation extends ViolationReport {
  /** The scenario step (0-based) during which it was seen; -1 outside steps. */
  step: number;
  /** Event-log sequence number when it was seen. */
  seq: number;
}

export class Violations implements KernelObserver {
  readonly list: Violation[] = [];
  /** The scenario step being run (set by the runner), for the reports. */
  step = -1;

  constructor(private readonly k: Kernel) {}

  get length(): number {
    return this.list.length;
  }

  report(v: ViolationReport): void {
    this.list.push({ ...v, step: this.step, seq: this.k.machine.log.length });
    const e = newEvent(v.agents[0] ?? 'checker', -1, 'violation', v.invariant);
    e.detail = v.message;
    this.k.log(e);
  }

  /** A model path found a bug itself (e.g. ksmd's use-after-free of CVE-2011-2183). */
  onViolation(v: ViolationReport): void {
    this.report(v);
  }
}
