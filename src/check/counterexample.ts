/**
 * The model checker's output, as files: what `mmsim check --json` prints and `--counterexample OUT`
 * writes, and what the browser visualizer opens to step through a failing interleaving. Both sides
 * read these types; a counterexample carries everything needed to replay it (the scenario's text, the
 * kernel, the what-if fields and the schedule), so it stays meaningful away from the file it came from.
 */
import type { KernelName } from '../kernel/profiles.js';

/** One transition of an interleaving: a thread resumed from one pause to its next. */
export interface CounterexampleTransition {
  /** Position in the schedule (0-based: the scheduler's decision index). */
  readonly index: number;
  /** Thread index into `threads` (the schedule's digits). */
  readonly thread: number;
  /** The CPU the thread's agent runs on (-1 for a device). */
  readonly cpu: number;
  /** Where the thread was paused when resumed ('start' before its first transition). */
  readonly from: string;
  /** Where it paused next ('done' when it finished). */
  readonly to: string;
  /** What it did, one line each (kernel functions, locks, pte and spte changes, notifier calls). */
  readonly events: readonly string[];
  /** Preemptions taken up to and including this transition. */
  readonly preemptions: number;
}

export type ProblemKind = 'invariant' | 'expectation' | 'livelock' | 'deadlock';

export interface Counterexample {
  readonly format: 'mmsim-counterexample';
  readonly version: 1;
  /** The scenario file as given on the command line. */
  readonly file: string;
  /** The scenario file's text. */
  readonly scenario: string;
  readonly kernel: KernelName;
  /** `--set` fields of the run (what-if profile fields, or a bug's switch). */
  readonly overrides: Readonly<Record<string, string | number | boolean>>;
  /** The catalogued bug whose switch was applied, if any. */
  readonly bug?: string;
  /** Replays with `mmsim run FILE --kernel K [--set F=V ...] --schedule S [--paranoid]`. */
  readonly schedule: string;
  /** Found with full invariant sweeps at every quiescent point (`--paranoid`): replay with them. */
  readonly paranoid?: true;
  readonly preemptions: number;
  readonly problem: {
    readonly kind: ProblemKind;
    /** The invariant's name, for kind 'invariant'. */
    readonly invariant?: string;
    readonly message: string;
  };
  /** Thread names (the scenario's `parallel` threads), by index. */
  readonly threads: readonly string[];
  readonly transitions: readonly CounterexampleTransition[];
  /** Index into `transitions` of the transition where the problem showed (the marked one). */
  readonly offending: number;
}

/**
 * One kernel's search result. It holds no time, so that the same check gives the same report byte for
 * byte however it was split (workers, shards); the command prints the time apart.
 */
export interface CheckResult {
  readonly kernel: KernelName;
  readonly complete: boolean;
  /** Why the search stopped early, when it did (a bound, --max-executions). */
  readonly stoppedBy?: string;
  readonly executions: number;
  /** Distinct final states (a canonical hash of ptes, frames, secondary translations and counters). */
  readonly finalStates: number;
  readonly counterexamples: readonly Counterexample[];
}

export interface CheckReport {
  readonly format: 'mmsim-check';
  readonly version: 1;
  readonly file: string;
  readonly results: readonly CheckResult[];
}
