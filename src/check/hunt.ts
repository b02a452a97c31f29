/**
 * Running the bug catalogue's scenarios through the bounded checker: `huntBug` deepens the preemption
 * bound (0, 1, 2, ...) until a schedule fails, so the first counterexample found has the fewest
 * preemptions any counterexample has; `exhaust` runs every schedule up to a bound and says whether all
 * were clean.
 */
import { readFileSync } from 'node:fs';
import type { ProfileOverrides } from '../kernel/profiles.js';
import type { Scenario } from '../scenario/ast.js';
import { formatError, parseScenario } from '../scenario/parse.js';
import type { BugEntry } from './bugs.js';
import { type ExploreOutcome, exploreScenario } from './explore.js';

export interface HuntResult {
  found: boolean;
  /** The fewest preemptions a counterexample needs (when found). */
  preemptions?: number;
  /** Schedules run, over every bound tried. */
  executions: number;
  timeMs: number;
  first?: NonNullable<ExploreOutcome['first']>;
}

/** Parse a scenario file; a broken file is an Error naming file:line:col. */
export function loadScenario(file: string): Scenario {
  const parsed = parseScenario(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(parsed.errors.map(formatError).join('\n'));
  return parsed.scenario;
}

/** Find a counterexample with the fewest preemptions, trying bounds 0..maxPreemptions in turn. */
export function huntBug(
  scenario: Scenario,
  set: ProfileOverrides,
  opts: { maxPreemptions?: number; maxRuns?: number; file?: string } = {},
): HuntResult {
  const t0 = performance.now();
  let executions = 0;
  let lastCount = -1;
  for (let k = 0; k <= (opts.maxPreemptions ?? 4); k++) {
    const r = exploreScenario(scenario, {
      profileOverrides: set,
      maxPreemptions: k,
      maxRuns: opts.maxRuns ?? 100_000,
      file: opts.file,
      stopAtFirst: true,
    });
    executions += r.schedules;
    if (r.first !== undefined)
      return { found: true, preemptions: k, executions, timeMs: performance.now() - t0, first: r.first };
    // a bound that adds no schedule: every schedule has been run, higher bounds add none either
    if (r.complete && r.schedules === lastCount) break;
    lastCount = r.schedules;
  }
  return { found: false, executions, timeMs: performance.now() - t0 };
}

/** Every schedule with at most `maxPreemptions` preemptions, without any bug switch (a what-if base allowed). */
export function exhaust(
  scenario: Scenario,
  opts: { maxPreemptions: number; maxRuns?: number; file?: string; profileOverrides?: ProfileOverrides },
): ExploreOutcome & { timeMs: number } {
  const t0 = performance.now();
  const r = exploreScenario(scenario, {
    profileOverrides: opts.profileOverrides,
    maxPreemptions: opts.maxPreemptions,
    maxRuns: opts.maxRuns ?? 100_000,
    file: opts.file,
  });
  return { ...r, timeMs: performance.now() - t0 };
}

/** The catalogue entry's scenario, hunted with its switch. */
export function huntCatalogued(bug: BugEntry, opts: { maxPreemptions?: number } = {}): HuntResult {
  return huntBug(loadScenario(bug.scenario), bug.set, { ...opts, file: bug.scenario });
}
