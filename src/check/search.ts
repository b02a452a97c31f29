/**
 * The model checker's search over one scenario and kernel: every interleaving of its `parallel` threads
 * (unbounded, or with at most K preemptions), one execution per Mazurkiewicz trace with partial-order
 * reduction (sim/dpor.ts) or every schedule without it (sim/search.ts). Each execution runs the scenario
 * through the same ScenarioRun `mmsim run` uses; what it reports: whether the search completed, the
 * executions, the distinct final states (check/final-state.ts), and for every problem (an invariant, an
 * expectation, a livelock, a deadlock) the schedule that shows it with the fewest preemptions found.
 */
import type { Scenario } from '../scenario/ast.js';
import { expectedViolations } from '../scenario/result.js';
import type { World } from '../scenario/world.js';
import { DporSearch, SleepSetBlocked } from '../sim/dpor.js';
import { ModelBug } from '../sim/exec.js';
import { conflicts, type Footprint, unionFootprints } from '../sim/footprint.js';
import { finish, mix, SumDigest } from '../sim/hash.js';
import type { Thread } from '../sim/scheduler.js';
import { type InterleavingSearch, PreemptionBoundedSearch, PrefixInfeasible } from '../sim/search.js';
import { AlreadyExplored, TraceCacheSearch } from '../sim/trace-cache-search.js';
import type { ProblemKind } from './counterexample.js';
import { finalStateHash } from './final-state.js';
import { livelockDecision, worldDigest } from './fingerprint.js';
import { type ForkOptions, forkedRun } from './forked-run.js';
import { describeLivelock, findLivelock, type LivelockDecision } from './livelock.js';

/** The options of the run the executions start from (check/forked-run.ts), and of the search. */
export interface SearchOptions extends ForkOptions {
  /** Infinity: no bound. */
  maxPreemptions: number;
  /** Partial-order reduction (default) or every schedule. */
  reduction: boolean;
  /** Stop after this many executions (the result then says so). */
  maxExecutions: number;
  /** Stop at the first execution showing this problem (a key of `problems`), or any problem ('any'). */
  stopAt?: string;
  /** Choices every execution starts with (a task of a split search, check/tasks.ts). */
  prefix?: readonly number[];
  /** At each prefix decision, the threads sibling tasks explore first there, with their footprints. */
  prefixExplored?: readonly (readonly (readonly [number, Footprint])[])[];
  progress?: (executions: number) => void;
}

/** One problem and the schedule that shows it. */
export interface FoundProblem {
  readonly key: string;
  readonly kind: ProblemKind;
  readonly invariant?: string;
  readonly message: string;
  /** Thread index chosen at every decision of the execution, in order. */
  readonly decisions: readonly number[];
  readonly preemptions: number;
  /** The decision after which the problem showed (the offending transition). */
  readonly offending: number;
}

export interface SearchOutcome {
  readonly complete: boolean;
  /** Why the search stopped before exhausting its space, if it did. */
  readonly stoppedBy?: string;
  /** Executions run to the end. */
  readonly executions: number;
  /** Executions abandoned as repeats of explored traces (a sleep set, or a trace class explored already). */
  readonly abandoned: number;
  readonly finalStates: ReadonlySet<string>;
  /** Problem key -> the best counterexample (fewest preemptions, then shortest). */
  readonly problems: ReadonlyMap<string, FoundProblem>;
}

/** Preemptions of a schedule: switches away from a thread that could have gone on. */
function countPreemptions(current: Thread | null, chosen: Thread, ready: readonly Thread[]): number {
  return current !== null && chosen !== current && ready.includes(current) ? 1 : 0;
}

/** Every thread at a retry point is blocked: it can only retry forever (check/search.ts). */
class SpinningForever extends Error {
  constructor(
    readonly threads: readonly number[],
    readonly labels: readonly string[],
  ) {
    super('every runnable thread would retry an attempt that nothing can change');
  }
}

/**
 * Wraps a search with what every execution needs besides its choices: the preemptions taken, the
 * livelock detector's record (a fingerprint at every decision while a thread waits at a retry point),
 * the first transition after which a violation stood, and the await reduction of retry loops.
 *
 * A thread paused at a retry point (a KVM fault tried again, hmm_range_fault's loop, an SVA device
 * fault) just failed an attempt; if that attempt changed nothing (its own transitions' changes to the
 * world's digest sum to none) and nothing it read has been written since, the next attempt would fail
 * the same way, so the thread is not runnable until another thread writes what it read (spin loops as
 * awaits, as stateless model checkers treat them). A retry loop then costs one attempt
 * per change that can matter instead of one per schedule of its spins, and when the only runnable
 * threads are such retries the execution is a livelock: they can only spin forever.
 */
class Observed implements InterleavingSearch {
  world: World | null = null;
  decisions: LivelockDecision[] = [];
  schedule: number[] = [];
  preemptions = 0;
  violationsBefore = 0;
  firstViolationAt = -1;
  private last: Thread | null = null;
  private lastIndex = -1;
  /** Per thread of the block: the footprint of its attempt under way, and of its last failed one. */
  private attempt = new Map<number, Footprint>();
  private failed = new Map<number, Footprint>();
  /** Threads whose attempt under way read something another thread has written since. */
  private stale = new Set<number>();
  /**
   * Per thread that has arrived at its retry point: the change its own transitions made to the world's
   * digest since its last arrival (a sum of their digest differences; zero: its attempt changed nothing).
   */
  private effect = new Map<number, { lo: number; hi: number }>();
  /** The world's digest before the transition now running (taken when its thread has an attempt to judge). */
  private digestBefore: SumDigest | null = null;
  private threads: readonly Thread[] = [];

  constructor(readonly inner: InterleavingSearch) {}

  /** The world's digest since the last transition, once computed (both the await and the livelock record use it). */
  private digestNow: SumDigest | undefined;

  private digest(): SumDigest {
    this.digestNow ??= this.world === null ? new SumDigest() : worldDigest(this.world, this.threads);
    return this.digestNow;
  }

  readonly stepped = (fp: Footprint): void => {
    this.digestNow = undefined;
    this.inner.stepped?.(fp);
    this.afterTransition(fp);
  };

  begin(world: World): void {
    this.world = world;
    this.digestNow = undefined;
    this.decisions = [];
    this.schedule = [];
    this.preemptions = 0;
    this.firstViolationAt = -1;
  }

  beginBlock(): void {
    this.inner.beginBlock?.();
    this.attempt.clear();
    this.failed.clear();
    this.stale.clear();
    this.effect.clear();
    if (this.schedule.length === 0) this.violationsBefore = this.world?.violations.length ?? 0;
  }

  /** The execution ended: a violation not yet placed showed after its last transition (or later). */
  finish(): void {
    if (this.firstViolationAt < 0 && (this.world?.violations.length ?? 0) > this.violationsBefore)
      this.firstViolationAt = this.schedule.length - 1;
  }

  private afterTransition(fp: Footprint): void {
    if (this.firstViolationAt < 0 && (this.world?.violations.length ?? 0) > this.violationsBefore)
      this.firstViolationAt = this.schedule.length - 1;
    const me = this.lastIndex;
    // what others wrote wakes a retry that read it, and makes an attempt under way that read it stale
    for (const [t, reads] of this.failed) if (t !== me && conflicts(fp, reads)) this.failed.delete(t);
    for (const [t, reads] of this.attempt)
      if (t !== me && !this.stale.has(t) && conflicts(fp, reads)) this.stale.add(t);
    // a stale attempt's footprint is never looked at again (it cannot block): it stops growing
    const sofar = this.attempt.get(me);
    const attempt = sofar === undefined ? fp : this.stale.has(me) ? sofar : unionFootprints(sofar, fp);
    const effect = this.effect.get(me);
    if (effect !== undefined && this.digestBefore !== null) {
      const after = this.digest();
      effect.lo = (effect.lo + after.lo - this.digestBefore.lo) >>> 0;
      effect.hi = (effect.hi + after.hi - this.digestBefore.hi) >>> 0;
    }
    this.digestBefore = null;
    const p = this.last?.paused;
    if (p?.kind === 'preempt' && p.retry === true && this.last?.done === false) {
      // blocked only after an attempt that changed nothing (its own transitions' changes sum to none)
      // and saw no change by others on the way: the next attempt would repeat it exactly. Both tests
      // look only at the thread's own transitions and what conflicts with them, so every schedule of
      // one trace class blocks alike (the class cache of sim/trace-cache-search.ts relies on it).
      const same = effect !== undefined && effect.lo === 0 && effect.hi === 0;
      if (effect === undefined) this.effect.set(me, { lo: 0, hi: 0 });
      else effect.lo = effect.hi = 0; // the count starts again at this arrival
      if (!this.stale.delete(me) && same) this.failed.set(me, attempt);
      this.attempt.delete(me);
    } else this.attempt.set(me, attempt);
  }

  /**
   * What the execution's future depends on besides its trace class and the thread that ran last: which
   * retries are blocked or have a stale attempt under way, and each retrying thread's change so far.
   */
  stateSalt(): number {
    let h = 0x27d4eb2f;
    for (const t of [...this.failed.keys()].sort((a, b) => a - b)) h = mix(h, 1, t);
    for (const t of [...this.stale].sort((a, b) => a - b)) h = mix(h, 2, t);
    for (const t of [...this.effect.keys()].sort((a, b) => a - b)) {
      const e = this.effect.get(t)!;
      h = mix(mix(h, 3, t), e.lo, e.hi);
    }
    return finish(h);
  }

  choose(ready: readonly Thread[], current: Thread | null, all: readonly Thread[]): Thread {
    const awake = ready.filter((t) => !this.failed.has(all.indexOf(t)));
    if (awake.length === 0) {
      const spinning = ready.map((t) => all.indexOf(t));
      throw new SpinningForever(
        spinning,
        ready.map((t) => (t.paused?.kind === 'preempt' ? t.paused.label : '?')),
      );
    }
    this.threads = all;
    const chosen = this.inner.choose(awake, current, all);
    if (this.effect.has(all.indexOf(chosen))) this.digestBefore = this.digest();
    this.preemptions += countPreemptions(current, chosen, awake);
    this.schedule.push(all.indexOf(chosen));
    this.last = chosen;
    this.lastIndex = all.indexOf(chosen);
    this.decisions.push(livelockDecision(this.world, awake, all, chosen, () => this.digest().hex()));
    return chosen;
  }
}

function better(a: FoundProblem, b: FoundProblem | undefined): boolean {
  if (b === undefined) return true;
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions;
  return a.offending < b.offending;
}

export function searchScenario(scenario: Scenario, opts: SearchOptions): SearchOutcome {
  const prefix = opts.prefix ?? [];
  // with no bound, source-DPOR with sleep sets; under a bound (where sleep sets are unsound), a cache of
  // the trace classes explored, in order of preemptions
  const bounded = Number.isFinite(opts.maxPreemptions);
  const dpor = opts.reduction && !bounded ? new DporSearch(prefix, opts.prefixExplored) : null;
  const cached = opts.reduction && bounded ? new TraceCacheSearch(opts.maxPreemptions, prefix) : null;
  const plain = opts.reduction ? null : new PreemptionBoundedSearch(opts.maxPreemptions, prefix);
  const observed = new Observed(dpor ?? cached ?? plain!);
  if (cached !== null) cached.salt = () => observed.stateSalt();
  const finalStates = new Set<string>();
  const problems = new Map<string, FoundProblem>();
  let executions = 0;
  let abandoned = 0;
  let stoppedBy: string | undefined;
  // the steps before the first `parallel` run once: every execution restores the world taken there
  const forked = forkedRun(scenario, opts);
  const { run, fork } = forked;
  for (;;) {
    if (executions + abandoned >= opts.maxExecutions) {
      stoppedBy = `--max-executions ${opts.maxExecutions}`;
      break;
    }
    dpor?.begin();
    cached?.begin();
    plain?.begin();
    forked.rewind();
    observed.begin(run.world);
    let completed = true;
    const found: FoundProblem[] = [];
    try {
      const r = run.runFrom(fork, { search: observed });
      observed.finish();
      finalStates.add(finalStateHash(run.world));
      const schedule = observed.schedule;
      const last = schedule.length - 1;
      const offendingViolation = observed.firstViolationAt >= 0 ? observed.firstViolationAt : last;
      // violations the file expects (a `violations:` expectation) are what it demonstrates, not problems
      const seenInvariants = expectedViolations(scenario.expect, scenario.steps);
      for (const v of r.violations) {
        if (seenInvariants.has(v.invariant)) continue;
        seenInvariants.add(v.invariant);
        found.push({
          key: `invariant:${v.invariant}`,
          kind: 'invariant',
          invariant: v.invariant,
          message: v.message,
          decisions: schedule,
          preemptions: observed.preemptions,
          offending: Math.max(0, offendingViolation),
        });
      }
      for (const e of r.expectations) {
        // `invariants: hold` fails exactly when an invariant broke: that problem is reported already
        if (e.ok || (e.text === 'invariants: hold' && r.violations.length > 0)) continue;
        found.push({
          key: `expectation:${e.at}`,
          kind: 'expectation',
          message: `${e.at}: expected ${e.text}`,
          decisions: schedule,
          preemptions: observed.preemptions,
          offending: Math.max(0, last),
        });
      }
      const livelock = findLivelock(observed.decisions);
      if (livelock !== null) {
        found.push({
          key: 'livelock',
          kind: 'livelock',
          message: `livelock: ${describeLivelock(livelock)}`,
          decisions: schedule,
          preemptions: observed.preemptions,
          offending: livelock.to - 1,
        });
      }
    } catch (e) {
      if (e instanceof PrefixInfeasible) {
        // the task's prefix is no schedule of this scenario: nothing to explore
        return { complete: true, executions: 0, abandoned: 0, finalStates, problems };
      }
      if (e instanceof SpinningForever) {
        observed.finish();
        found.push({
          key: 'livelock',
          kind: 'livelock',
          message: `livelock: ${e.threads.map((t, i) => `thread ${t} at '${e.labels[i]}'`).join(', ')} can only retry, and nothing it reads can change`,
          decisions: [...observed.schedule],
          preemptions: observed.preemptions,
          offending: Math.max(0, observed.schedule.length - 1),
        });
      } else if (e instanceof SleepSetBlocked || e instanceof AlreadyExplored) {
        completed = false;
      } else if (e instanceof ModelBug && e.message.startsWith('deadlock')) {
        found.push({
          key: 'deadlock',
          kind: 'deadlock',
          message: e.message,
          decisions: [...observed.schedule],
          preemptions: observed.preemptions,
          offending: Math.max(0, observed.schedule.length - 1),
        });
      } else throw e;
    }
    if (completed) executions++;
    else abandoned++;
    for (const p of found) if (better(p, problems.get(p.key))) problems.set(p.key, p);
    opts.progress?.(executions + abandoned);
    if (
      opts.stopAt !== undefined &&
      (opts.stopAt === 'any' ? problems.size > 0 : problems.has(opts.stopAt))
    ) {
      stoppedBy = 'the problem was found';
      break;
    }
    const more = (dpor ?? cached ?? plain!).next();
    if (!more) break;
  }
  return { complete: stoppedBy === undefined, stoppedBy, executions, abandoned, finalStates, problems };
}
