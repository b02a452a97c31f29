/**
 * The scenario driver: runs a parsed Scenario on a World, each step through its module's path
 * (steps/*.ts), under the sequential driver (runToCompletion) or, for `parallel` threads, an
 * interleaving one (a seeded random walk, a replayed schedule, or the model checker's search). It sweeps
 * the invariants at every quiescent step end (per the scenario's `checks`) and evaluates expectations
 * (evaluate.ts) as it goes; result.ts shapes the result, replay.ts the replay line.
 */

import { isKernelName, type KernelName, type ProfileOverrides } from '../kernel/profiles.js';
import type { StoreSource } from '../mm/access.js';
import type { Task } from '../mm/kernel.js';
import { type Agent, ModelBug, type Path, runToCompletion } from '../sim/exec.js';
import { type LogEvent, newEvent } from '../sim/log.js';
import { Scheduler, type Thread } from '../sim/scheduler.js';
import type { InterleavingSearch } from '../sim/search.js';
import type { AddrExpr, Expectation, Scenario, Step } from './ast.js';
import { at, type ExpectationResult, evaluate } from './evaluate.js';
import { Mappings } from './mappings.js';
import { parseSchedule, replayCommand, type ScheduleRun } from './replay.js';
import { expectedViolations, Outcomes, type RunResult, traceHash, violationResult } from './result.js';
import { stepSpec } from './steps/index.js';
import type { StepRunner } from './steps/spec.js';
import { World } from './world.js';

export { compressSchedule, expandSchedule, parseSchedule } from './replay.js';
export type { ExpectationResult, RunResult, StepOutcome, ViolationResult } from './result.js';
export { formatEvent } from './result.js';
export { ScenarioRuntimeError } from './runtime-error.js';

export interface RunOptions {
  kernel?: KernelName;
  seed?: number;
  /** Keep the full event log on the returned run (for --trace and --steps). */
  keepEvents?: boolean;
  /** Called after each step (for --steps and progress). */
  onStep?: (index: number, step: Step, world: World) => void;
  /** How the file was named, for the replay line. */
  file?: string;
  /**
   * Run `parallel` threads interleaved at every preemption point, in the order a random walk seeded with
   * this number chooses (the model checker's driver). Without it, threads run one after another.
   */
  interleave?: number;
  /** What-if changes to the kernel profile. */
  profileOverrides?: ProfileOverrides;
  /** Drive `parallel` threads by the model checker's search (one schedule per run). */
  search?: InterleavingSearch;
  /** Replay one schedule: the thread index chosen at every pause, in run-length form "0*5,1*2,0*30". */
  schedule?: string;
  /** Called after each scheduler step inside `parallel`: the decision's index and the thread it ran. */
  onTransition?: (decision: number, thread: number, world: World) => void;
  /**
   * Sweep the invariants at quiescent points inside a `parallel` block (default true). The model checker
   * turns it off: whether a point of an interleaving is quiescent depends on the schedule, which partial-
   * order reduction does not keep, so it sweeps at the block's end (and checks every access) instead.
   */
  sweepInsideParallel?: boolean;
  /** Keep the event log (default true; the model checker's executions do without, and replay to show one). */
  recording?: boolean;
  /**
   * Sweep every invariant over the whole machine at every check, instead of checking what the step
   * changed (the same reports, far slower: for suspicion of the change tracking itself).
   */
  paranoid?: boolean;
}

/** The options choosing how `parallel` threads interleave (runFrom takes a new set per execution). */
export type DriverOptions = Pick<RunOptions, 'interleave' | 'schedule' | 'search' | 'onTransition'>;

export class ScenarioRun implements StepRunner {
  readonly world: World;
  readonly kernelName: KernelName;
  readonly seed: number;
  private readonly mappings = new Mappings();
  private readonly expectations: ExpectationResult[] = [];
  private readonly outcomes = new Outcomes();
  private stepIndex = 0;
  private readonly stepPos: Step['pos'][] = [];
  /** Leaf steps started and not yet finished (more than zero only while threads interleave). */
  private inFlight = 0;
  /** Inside a `parallel` thread: a nested parallel runs in the thread. */
  private inParallel = false;
  private readonly threadTasks = new Map<string, Task>();
  private readonly pinAgents = new Map<string, Agent>();
  /** The index of each step now running (an outcome belongs to its own step, whatever else runs). */
  private readonly running = new Map<Step, number>();
  /** Thread index chosen at every pause of every interleaved `parallel` step, in order. */
  readonly decisions: number[] = [];
  /** --schedule: the runs, the one now followed, and how many of its choices are made. */
  private replayRuns: ScheduleRun[] | null = null;
  private replayAt = 0;
  private replayUsed = 0;

  constructor(
    readonly scenario: Scenario,
    /** Not readonly: runFrom may replace the driver options. */
    public options: RunOptions = {},
  ) {
    this.kernelName = options.kernel ?? scenario.kernel;
    if (!isKernelName(this.kernelName)) throw new Error(`unknown kernel ${this.kernelName}`);
    this.seed = options.seed ?? scenario.seed;
    this.world = new World({
      kernel: this.kernelName,
      seed: this.seed,
      ramBytes: scenario.machine.ramBytes,
      cpus: scenario.machine.cpus,
      recording: options.recording ?? true,
      ksm: {
        pagesToScan: scenario.ksm.pagesToScan,
        useZeroPages: scenario.ksm.useZeroPages,
        maxPageSharing: scenario.ksm.maxPageSharing,
        mergeAcrossNodes: scenario.ksm.mergeAcrossNodes,
      },
      checks: scenario.checks.invariants !== 'off',
      changePteRule: scenario.checks.changePteRule === 'v2' ? 'v2' : 'strict',
      profileOverrides: options.profileOverrides,
    });
  }

  /** An interleaving driver runs `parallel` threads (else the sequential one runs them in order). */
  private get interleaving(): boolean {
    const o = this.options;
    return o.interleave !== undefined || o.search !== undefined || o.schedule !== undefined;
  }

  /** Run every step and expectation; throws ScenarioRuntimeError for a file problem found at run time. */
  run(): RunResult {
    return this.runFrom(0);
  }

  /**
   * Run steps [0, k) only: the prefix before a `parallel` step, where the model checker snapshots the run
   * (scenario/world-snapshot.ts) to restore it and `runFrom(k, driver)` once per execution.
   */
  runUntil(k: number): void {
    for (const step of this.scenario.steps.slice(0, k)) runToCompletion(this.step(step, 0));
  }

  /** Run steps [k, end) and the expectations; `driver`, if given, replaces how `parallel` threads interleave. */
  runFrom(k: number, driver?: DriverOptions): RunResult {
    if (driver !== undefined) {
      const { interleave, schedule, search, onTransition } = driver;
      this.options = { ...this.options, interleave, schedule, search, onTransition };
      this.replayRuns = null;
      this.replayAt = this.replayUsed = 0;
    }
    for (const step of this.scenario.steps.slice(k)) runToCompletion(this.step(step, 0));
    this.world.violations.step = -1;
    if (this.scenario.checks.invariants !== 'off') {
      this.world.checkAll(); // a full sweep ends every run
      // snapshots restore per-frame arrays only where frames were used (FrameTable.perFrame): a run checks
      // that the rest is zero, an execution of the model checker only when paranoid (it is O(RAM))
      if (
        (this.options.search === undefined || this.options.paranoid) &&
        !this.world.kernel.frames.perFrameArraysClean()
      )
        throw new ModelBug('per-frame state was written at a frame never used (FrameTable.perFrame)');
    }
    this.evaluateAll(this.scenario.expect);
    const file = this.options.file ?? this.scenario.steps[0]?.pos.file ?? 'scenario';
    const replay = replayCommand({
      file,
      kernel: this.kernelName,
      seed: this.seed,
      ...(this.options.search !== undefined || this.options.schedule !== undefined
        ? { decisions: this.decisions }
        : {}),
      interleave: this.options.interleave,
      profileOverrides: this.options.profileOverrides,
    });
    const violations = this.world.violations.list.map((v) =>
      violationResult(v, this.stepPos, this.events, replay),
    );
    // violations the file expects (a `violations:` expectation) are the point of the scenario
    const expected = expectedViolations(this.scenario.expect, this.scenario.steps);
    const unexpected = violations.filter((v) => !expected.has(v.invariant));
    return {
      name: this.scenario.name,
      kernel: this.kernelName,
      seed: this.seed,
      ok: this.expectations.every((e) => e.ok) && unexpected.length === 0,
      counters: this.world.counterValues(),
      expectations: this.expectations,
      violations,
      outcomes: this.outcomes.list,
      traceHash: traceHash(this.world.kernel.machine),
      ...(this.options.interleave !== undefined ? { interleave: this.options.interleave } : {}),
      ...(this.options.schedule !== undefined ? { schedule: this.options.schedule } : {}),
    };
  }

  /** Where mapping `name` of `proc` starts now (the differential oracle replays addresses), if mapped. */
  mappingStart(proc: string, name: string): number | undefined {
    return this.mappings.start(proc, name);
  }

  get events(): readonly LogEvent[] {
    return this.world.kernel.machine.log.events;
  }

  // ---- every step, under either driver ----

  /**
   * One step as a path. A leaf step is numbered, logged, run through its module, then (at a quiescent
   * point: no other step half-done) the invariants are swept; its own expectations follow. repeat and
   * parallel run their children as steps of their own.
   */
  private *step(step: Step, thread: number): Path {
    const spec = stepSpec(step.op);
    if (spec.children !== undefined) {
      yield* spec.run(step, this, thread);
      this.afterStep(step);
      return;
    }
    const index = this.stepIndex++;
    this.stepPos[index] = step.pos;
    const k = this.world.kernel;
    this.world.violations.step = index;
    if (k.recording) {
      const e = newEvent('scenario', -1, 'step', step.op);
      e.detail = at(step.pos);
      k.log(e);
    }
    this.inFlight++;
    this.running.set(step, index);
    yield* spec.run(step, this, thread);
    this.running.delete(step);
    this.inFlight--;
    this.world.violations.step = index;
    this.afterStep(step);
    this.options.onStep?.(index, step, this.world);
  }

  private afterStep(step: Step): void {
    // at a quiescent step end: no step in flight in any thread (the model checker waits for the end of
    // the parallel block instead, see RunOptions.sweepInsideParallel)
    const quiescent = this.inFlight === 0 && (!this.inParallel || this.options.sweepInsideParallel !== false);
    if (quiescent && this.scenario.checks.invariants === 'every_step') {
      if (this.options.paranoid) this.world.checkAll();
      else this.world.checkNow();
    }
    this.evaluateAll(step.expect ?? []);
  }

  private evaluateAll(list: readonly Expectation[]): void {
    for (const e of list) {
      const r = evaluate(this.world, this.mappings, e);
      if (r !== undefined) this.expectations.push(r);
    }
  }

  *steps(steps: readonly Step[], thread: number): Path {
    for (const s of steps) yield* this.step(s, thread);
  }

  /** Threads run one after another (sequential driver), or interleaved by the chosen driver. */
  *parallel(threads: readonly (readonly Step[])[], thread: number): Path {
    if (this.inParallel) {
      for (const t of threads) yield* this.steps(t, thread);
      return;
    }
    this.inParallel = true;
    try {
      if (!this.interleaving) {
        for (let i = 0; i < threads.length; i++) yield* this.steps(threads[i], i);
        return;
      }
      const sched = new Scheduler();
      threads.forEach((steps, i) => {
        sched.add(`thread${i}`, this.steps(steps, i));
      });
      const search = this.options.search;
      const onTransition = this.options.onTransition;
      if (onTransition !== undefined) {
        // the scheduler's step, observed: every decision is reported after it ran
        const step = sched.step.bind(sched);
        sched.step = (t) => {
          step(t);
          onTransition(
            this.decisions.length + sched.decisions.length - 1,
            Number(t.name.slice('thread'.length)),
            this.world,
          );
        };
      }
      if (search !== undefined) {
        search.beginBlock?.();
        sched.runWith((ready, current) => search.choose(ready, current, sched.threads), search.stepped);
      } else if (this.options.schedule !== undefined) sched.runWith(this.replayChooser(sched));
      else sched.runAll(((this.options.interleave ?? 0) ^ Math.imul(this.stepIndex + 1, 0x9e3779b1)) >>> 0);
      this.decisions.push(...sched.decisions.map((name) => Number(name.slice('thread'.length))));
    } finally {
      this.inParallel = false;
    }
  }

  /** A chooser that follows `options.schedule` (run by run, never expanded), then the non-preemptive default. */
  private replayChooser(sched: Scheduler) {
    if (this.replayRuns === null) {
      const runs = parseSchedule(this.options.schedule ?? '', Number.MAX_SAFE_INTEGER);
      this.replayRuns = typeof runs === 'string' ? [] : runs;
    }
    return (ready: readonly Thread[], current: Thread | null): Thread => {
      const run = this.replayRuns![this.replayAt];
      if (run !== undefined && ++this.replayUsed >= run.count) {
        this.replayAt++;
        this.replayUsed = 0;
      }
      const pick = run === undefined ? undefined : sched.threads[run.thread];
      if (pick !== undefined && ready.includes(pick)) return pick;
      return current !== null && ready.includes(current) ? current : ready[0];
    };
  }

  // ---- what a step's path may ask (StepRunner) ----

  resolve(a: AddrExpr, proc: string, len = 1): number {
    return this.mappings.resolve(a, proc, len);
  }

  /** Thread `thread`'s view of process `proc`: the process itself for thread 0, else another thread of it. */
  task(proc: string, thread: number): Task {
    const task = this.world.task(proc);
    if (thread === 0) return task;
    const key = `${proc}/${thread}`;
    let t = this.threadTasks.get(key);
    if (t === undefined || t.mm !== task.mm) {
      t = task.thread(this.world.kernel.newAgent(`${proc}.t${thread}`));
      this.threadTasks.set(key, t);
    }
    return t;
  }

  outcome(step: Step, result: string, where?: string): void {
    this.outcomes.add(this.running.get(step) ?? this.stepIndex - 1, step, result, where);
  }

  mapped(proc: string, name: string, start: number, size: number): void {
    this.mappings.mapped(proc, name, start, size);
  }

  spawned(proc: string, parent?: string): void {
    this.mappings.spawned(proc, parent);
  }

  deviceFill(): StoreSource {
    const byte = 1 + this.world.rng.below(255);
    return { pages: () => this.world.kernel.contents.fill(byte) };
  }

  /** The device doing I/O through pin `name` (`NAME.dev`). */
  pinAgent(name: string): Agent {
    let a = this.pinAgents.get(name);
    if (a === undefined) {
      a = this.world.kernel.newAgent(`${name}.dev`);
      this.pinAgents.set(name, a);
    }
    return a;
  }

  check(step: Step, text: string, ok: boolean, actual: unknown): void {
    this.expectations.push({ text, ok, actual, at: at(step.pos) });
  }
}

/** Run a parsed scenario. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): RunResult {
  return new ScenarioRun(scenario, options).run();
}
