/**
 * The run every execution of a search starts from: the scenario's steps before its first `parallel`
 * step run once, the run is snapshotted there (scenario/world-snapshot.ts), and each execution restores
 * it and restarts the footprint serials from there, so that every execution names objects alike and
 * the probes that split a search into tasks (check/tasks.ts) name them as the tasks' executions do.
 *
 * The last one made is kept for the next search of the same scenario with the same options: the tasks
 * of one check, and the reruns that make a counterexample minimal, run those steps once per thread
 * instead of once each (a scenario that fills a guest before racing on it paid that for every task).
 */
import type { Scenario } from '../scenario/ast.js';
import { type RunOptions, ScenarioRun } from '../scenario/run.js';
import { parallelStepIndex, snapshotRun } from '../scenario/world-snapshot.js';
import { nextFootprintSerial, resetFootprintSerials } from '../sim/footprint.js';
import type { GraphSnapshot } from '../sim/snapshot.js';

/** What decides the state at the fork and how executions run: all but the driver, which each execution passes to runFrom. */
export type ForkOptions = Pick<
  RunOptions,
  | 'kernel'
  | 'seed'
  | 'keepEvents'
  | 'file'
  | 'profileOverrides'
  | 'sweepInsideParallel'
  | 'recording'
  | 'paranoid'
>;

export class ForkedRun {
  readonly run: ScenarioRun;
  /** The top-level step executions start at. */
  readonly fork: number;
  private readonly snapshot: GraphSnapshot;
  private readonly serials: number;
  private fresh = true;

  constructor(scenario: Scenario, options: ForkOptions) {
    resetFootprintSerials();
    this.run = new ScenarioRun(scenario, options);
    this.fork = Math.max(0, parallelStepIndex(scenario));
    this.run.runUntil(this.fork);
    this.run.world.counterValues(); // its sorted names, made now, are in the snapshot: not made again per execution
    this.snapshot = snapshotRun(this.run);
    this.serials = nextFootprintSerial();
  }

  /** Put the run back at the fork for the next execution (the first uses it as it is). */
  rewind(): void {
    if (!this.fresh) this.snapshot.restore();
    this.fresh = false;
    resetFootprintSerials(this.serials);
  }
}

let last: { scenario: Scenario; key: string; forked: ForkedRun } | null = null;

/** The forked run of `scenario` under `options`: the last one made if it matches, else a new one. */
export function forkedRun(scenario: Scenario, options: ForkOptions): ForkedRun {
  const o = options;
  // every field, in a fixed order (a field added to ForkOptions must be added here)
  const key = JSON.stringify([
    o.kernel,
    o.seed,
    o.keepEvents,
    o.file,
    o.profileOverrides,
    o.sweepInsideParallel,
    o.recording,
    o.paranoid,
  ]);
  if (last === null || last.scenario !== scenario || last.key !== key)
    last = { scenario, key, forked: new ForkedRun(scenario, options) };
  return last.forked;
}
