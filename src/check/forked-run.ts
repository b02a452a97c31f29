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
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { Scenario } from '../scenario/ast.js';
import { ScenarioRun } from '../scenario/run.js';
import { parallelStepIndex, snapshotRun } from '../scenario/world-snapshot.js';
import { nextFootprintSerial, resetFootprintSerials } from '../sim/footprint.js';
import type { GraphSnapshot } from '../sim/snapshot.js';

/** What decides the state at the fork and how the executions from it run (the driver aside). */
export interface ForkOptions {
  kernel?: KernelName;
  profileOverrides?: ProfileOverrides;
  /** The scenario file as named (in replay commands). */
  file?: string;
  /**
   * Sweep every invariant over all of memory at every quiescent point inside the block too (`--paranoid`;
   * such points depend on the schedule, so this only adds checks: the sweep at the end always runs).
   */
  paranoid?: boolean;
}

export class ForkedRun {
  readonly run: ScenarioRun;
  /** The top-level step executions start at. */
  readonly fork: number;
  private readonly snapshot: GraphSnapshot;
  private readonly serials: number;
  private fresh = true;

  constructor(scenario: Scenario, options: ForkOptions) {
    resetFootprintSerials();
    const paranoid = options.paranoid === true;
    this.run = new ScenarioRun(scenario, {
      kernel: options.kernel,
      profileOverrides: options.profileOverrides,
      file: options.file,
      recording: false,
      paranoid,
      sweepInsideParallel: paranoid,
    });
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
  const key = JSON.stringify([
    options.kernel,
    options.profileOverrides,
    options.file,
    options.paranoid === true,
  ]);
  if (last === null || last.scenario !== scenario || last.key !== key)
    last = { scenario, key, forked: new ForkedRun(scenario, options) };
  return last.forked;
}
