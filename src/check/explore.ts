/**
 * The interleaving model checker, bounded: every schedule of a scenario's `parallel` threads with at
 * most K preemptions is run, and every invariant is checked in each (DESIGN.md §4: "at every state in
 * the checker" — here at every access and after every step of every schedule).
 */
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { Scenario } from '../scenario/ast.js';
import { compressSchedule, ScenarioRun } from '../scenario/run.js';
import { PreemptionBoundedSearch } from '../sim/search.js';

export interface ExploreOptions {
  kernel?: KernelName;
  profileOverrides?: ProfileOverrides;
  maxPreemptions: number;
  /** Stop after this many schedules (the result then says it is incomplete). */
  maxRuns: number;
  file?: string;
  progress?: (runs: number) => void;
}

export interface ExploreOutcome {
  schedules: number;
  complete: boolean;
  /** Schedules in which an invariant broke or an expectation failed. */
  failing: number;
  distinctTraces: number;
  /** The first failing schedule, replayable with `mmsim run FILE --schedule S`. */
  first?: { schedule: string; problem: string };
}

export function exploreScenario(scenario: Scenario, opts: ExploreOptions): ExploreOutcome {
  const search = new PreemptionBoundedSearch(opts.maxPreemptions);
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
    const r = run.run();
    traces.add(r.traceHash);
    if (!r.ok) {
      failing++;
      if (first === undefined) {
        const problem =
          r.violations.length > 0
            ? `${r.violations[0].invariant}: ${r.violations[0].message}`
            : `expectation failed: ${r.expectations.find((e) => !e.ok)?.text ?? '?'}`;
        first = { schedule: compressSchedule(run.decisions), problem };
      }
    }
    opts.progress?.(search.runs + 1);
    if (!search.next()) {
      complete = true;
      break;
    }
  }
  return { schedules: search.runs, complete, failing, distinctTraces: traces.size, first };
}
