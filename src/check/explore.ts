/**
 * The interleaving model checker, bounded: every schedule of a scenario's `parallel` threads with at
 * most K preemptions is run, and every invariant is checked in each (docs/INVARIANTS.md, "When they are
 * checked": at every access and after every step of every schedule). Each execution is also
 * searched for a livelock (check/livelock.ts): a retry loop that comes back to the same state.
 */
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { Scenario } from '../scenario/ast.js';
import { compressSchedule, ScenarioRun } from '../scenario/run.js';
import type { World } from '../scenario/world.js';
import type { Thread } from '../sim/scheduler.js';
import { PreemptionBoundedSearch } from '../sim/search.js';
import { livelockDecision } from './fingerprint.js';
import { describeLivelock, findLivelock, type LivelockDecision } from './livelock.js';

export interface ExploreOptions {
  kernel?: KernelName;
  profileOverrides?: ProfileOverrides;
  maxPreemptions: number;
  /** Stop after this many schedules (the result then says it is incomplete). */
  maxRuns: number;
  file?: string;
  progress?: (runs: number) => void;
  /** Stop at the first failing schedule. */
  stopAtFirst?: boolean;
}

export interface ExploreOutcome {
  schedules: number;
  complete: boolean;
  /** Schedules in which an invariant broke, an expectation failed or a retry loop cycled. */
  failing: number;
  distinctTraces: number;
  /** The first failing schedule, replayable with `mmsim run FILE --schedule S`. */
  first?: {
    schedule: string;
    problem: string;
    kind: 'invariant' | 'expectation' | 'livelock';
    /** Preemptions the schedule takes (switches away from a thread that could have gone on). */
    preemptions: number;
  };
}

/** The bounded search, recording every decision for the livelock detector. */
class RecordingSearch extends PreemptionBoundedSearch {
  world: World | null = null;
  decisions: LivelockDecision[] = [];
  preemptionsTaken = 0;

  constructor(maxPreemptions: number) {
    super(maxPreemptions);
    const choose = this.choose;
    this.choose = (ready, current, all) => {
      const chosen = choose(ready, current, all);
      if (current !== null && chosen !== current && ready.includes(current)) this.preemptionsTaken++;
      this.record(ready, all, chosen);
      return chosen;
    };
  }

  override begin(): void {
    super.begin();
    this.decisions = [];
    this.preemptionsTaken = 0;
  }

  private record(ready: readonly Thread[], all: readonly Thread[], chosen: Thread): void {
    this.decisions.push(livelockDecision(this.world, ready, all, chosen));
  }
}

export function exploreScenario(scenario: Scenario, opts: ExploreOptions): ExploreOutcome {
  const search = new RecordingSearch(opts.maxPreemptions);
  const traces = new Set<string>();
  let failing = 0;
  let first: ExploreOutcome['first'];
  let complete = false;
  while (search.runs < opts.maxRuns) {
    search.begin();
    const run = new ScenarioRun(scenario, {
      kernel: opts.kernel,
      profileOverrides: opts.profileOverrides,
      search,
      file: opts.file,
    });
    search.world = run.world;
    const r = run.run();
    traces.add(r.traceHash);
    const livelock = findLivelock(search.decisions);
    if (!r.ok || livelock !== null) {
      failing++;
      if (first === undefined) {
        const [kind, problem]: [NonNullable<ExploreOutcome['first']>['kind'], string] =
          r.violations.length > 0
            ? ['invariant', `${r.violations[0].invariant}: ${r.violations[0].message}`]
            : livelock !== null
              ? ['livelock', `livelock: ${describeLivelock(livelock)}`]
              : ['expectation', `expectation failed: ${r.expectations.find((e) => !e.ok)?.text ?? '?'}`];
        first = {
          schedule: compressSchedule(run.decisions),
          problem,
          kind,
          preemptions: search.preemptionsTaken,
        };
      }
    }
    opts.progress?.(search.runs + 1);
    if (!search.next()) {
      complete = true;
      break;
    }
    if (first !== undefined && opts.stopAtFirst === true) break;
  }
  return { schedules: search.runs, complete, failing, distinctTraces: traces.size, first };
}
