/**
 * A Session runs one scenario under one kernel and records what the visualizer can show: a snapshot
 * before the first step and after every step, after every event where that stays cheap, and after every
 * scheduler transition of a replayed schedule (the counterexample view). Points are addressed as
 * (step, event): event -1 is the step's end. Every snapshot is taken once and never changed, so stepping
 * back shows exactly the state that was there. Sentences and notifier brackets are derived from a
 * step's events when first asked for (the headline fleet logs 240k events).
 */
import type { KernelName, ProfileOverrides } from '../../kernel/profiles.js';
import type { Scenario, Step } from '../../scenario/ast.js';
import { parseScenario, type ScenarioError } from '../../scenario/parse.js';
import { type RunResult, ScenarioRun, ScenarioRuntimeError } from '../../scenario/run.js';
import type { LogEvent } from '../../sim/log.js';
import { type Bracket, bracketsOf } from './brackets.js';
import { explain } from './explain.js';
import { type NameSource, type Snapshot, takeSnapshot } from './snapshot.js';

export interface StepRecord {
  index: number;
  op: string;
  line: number;
  col: number;
  events: LogEvent[];
  /** The state after the step. */
  after: Snapshot;
  /** The state after each event, where recorded (else null: the step's end is shown). */
  afterEvent: (Snapshot | null)[];
}

/** One scheduler decision inside `parallel`, and the point where it left the world. */
export interface TransitionRecord {
  /** The decision's index in the run's schedule. */
  decision: number;
  /** The thread it resumed. */
  thread: number;
  /** The point at the transition's end: after event `event` of step `step` (-1: the step's end). */
  step: number;
  event: number;
  /** Events logged during the transition. */
  events: number;
}

export interface SessionOptions {
  kernel?: KernelName;
  profileOverrides?: ProfileOverrides;
  /** Replay a schedule for `parallel` threads (run-length thread indices). */
  schedule?: string;
  /** Page cells per-event snapshots may use in all (default 4M). */
  eventBudget?: number;
}

/**
 * Per-event snapshots are taken only while a snapshot is at most this many cells: a scenario with
 * thousands of pages shows a step's end for its events rather than spend the budget on its first step.
 */
const PER_EVENT_MAX_CELLS = 8192;

/** Page cells the step snapshots may hold in all (about 7 bytes each): past it a run stops with a message. */
export const SESSION_MAX_CELLS = 40_000_000;

export type SessionResult = { ok: true; session: Session } | { ok: false; errors: ScenarioError[] };

/** Parse and run: the CLI's parser, so errors are the same `line:col` messages. */
export function openSession(text: string, file: string, options: SessionOptions = {}): SessionResult {
  const parsed = parseScenario(text, file);
  if (!parsed.ok) return parsed;
  return { ok: true, session: new Session(parsed.scenario, options) };
}

export class Session {
  readonly kernel: KernelName;
  readonly initial: Snapshot;
  readonly steps: StepRecord[] = [];
  readonly transitions: TransitionRecord[] = [];
  readonly result: RunResult | null = null;
  /** A problem only visible at run time (file:line:col), after which no step ran. */
  readonly runtimeError: ScenarioError | null = null;
  readonly run: ScenarioRun;
  /** Whether per-event states were recorded for every event (else some show their step's end). */
  eventStatesComplete = true;

  private readonly names: NameSource;
  /** Steps inside a `parallel`: the events before one of the others belong to no transition. */
  private readonly threaded: Set<unknown>;
  private pending: LogEvent[] = [];
  private pendingSnaps: (Snapshot | null)[] = [];
  private lastSnapshot: Snapshot;
  private budget: number;
  private eventCount = 0;
  private cells = 0;
  private eventsAtTransition = 0;
  private readonly bracketCache = new Map<number, Bracket[]>();

  constructor(
    readonly scenario: Scenario,
    options: SessionOptions = {},
  ) {
    const run = new ScenarioRun(scenario, {
      kernel: options.kernel,
      profileOverrides: options.profileOverrides,
      schedule: options.schedule,
      onStep: (index, step) => this.stepDone(index, step),
      onTransition: (decision, thread) => this.transitionDone(decision, thread),
    });
    this.run = run;
    this.kernel = run.kernelName;
    this.names = mappingNames(scenario, run);
    this.threaded = stepsInsideParallel(scenario);
    this.initial = takeSnapshot(run.world, this.names);
    this.lastSnapshot = this.initial;
    this.budget = options.eventBudget ?? 4_000_000;
    run.world.kernel.machine.log.attach((e) => this.eventDone(e));
    try {
      this.result = run.run();
    } catch (error) {
      if (!(error instanceof ScenarioRuntimeError)) throw error;
      this.runtimeError = { ...error.pos, message: error.message };
    }
  }

  /**
   * The state after an event is the state just before the next one (or at the step's or transition's
   * end): a path often logs what it is about to do ("zap sptes") and then does it.
   */
  private eventDone(e: LogEvent): void {
    this.settleLastEvent();
    this.pending.push(e);
    this.pendingSnaps.push(null);
    this.eventCount++;
  }

  /** Record the state after the last pending event, if not yet recorded and the budget allows. */
  private settleLastEvent(take = () => takeSnapshot(this.run.world, this.names)): void {
    const last = this.pending.length - 1;
    if (last < 0 || this.pendingSnaps[last] !== null) return;
    const cells = cellCount(this.lastSnapshot);
    if (cells <= PER_EVENT_MAX_CELLS && this.budget >= cells) {
      this.budget -= cells;
      this.lastSnapshot = take();
      this.pendingSnaps[last] = this.lastSnapshot;
    } else this.eventStatesComplete = false;
  }

  private stepDone(index: number, step: Step): void {
    const after = takeSnapshot(this.run.world, this.names);
    this.cells += cellCount(after);
    if (this.cells > SESSION_MAX_CELLS)
      throw new ScenarioRuntimeError(
        step.pos,
        `the page keeps a snapshot of every step and this run outgrows them (${this.cells.toLocaleString('en-US')} page cells by this step); mmsim run runs it`,
      );
    this.settleLastEvent(() => after);
    this.steps.push({
      index,
      op: step.op,
      line: step.pos.line,
      col: step.pos.col,
      events: this.pending,
      after,
      afterEvent: this.pendingSnaps,
    });
    this.pending = [];
    this.pendingSnaps = [];
    this.lastSnapshot = after;
    if (!this.threaded.has(step)) this.eventsAtTransition = this.eventCount;
  }

  /** A transition's end is a point; its state is recorded there whatever the per-event budget. */
  private transitionDone(decision: number, thread: number): void {
    const events = this.eventCount - this.eventsAtTransition;
    this.eventsAtTransition = this.eventCount;
    const last = this.pending.length - 1;
    if (last >= 0 && this.pendingSnaps[last] === null) {
      this.lastSnapshot = takeSnapshot(this.run.world, this.names);
      this.pendingSnaps[last] = this.lastSnapshot;
    }
    const point =
      last >= 0 ? { step: this.steps.length, event: last } : { step: this.steps.length - 1, event: -1 };
    this.transitions.push({ decision, thread, ...point, events });
  }

  /** The state at a point: before everything (step -1), after event `event` of step `step`, or at its end. */
  at(step: number, event = -1): Snapshot {
    if (step < 0) return this.initial;
    const s = this.steps[Math.min(step, this.steps.length - 1)];
    if (s === undefined) return this.initial;
    if (event < 0 || event >= s.events.length) return s.after;
    return s.afterEvent[event] ?? s.after;
  }

  /** Whether the state at a point is exactly that point's (not its step's end shown instead). */
  exact(step: number, event = -1): boolean {
    const s = this.steps[step];
    return (
      step < 0 || event < 0 || s === undefined || event >= s.events.length || s.afterEvent[event] !== null
    );
  }

  /** The state before a point (for deltas and highlights). */
  before(step: number, event = -1): Snapshot {
    if (step < 0) return this.initial;
    if (event > 0) return this.at(step, event - 1);
    return this.at(step - 1);
  }

  /** Sentences for events [from, to) of a step. */
  sentences(step: number, from: number, to: number): string[] {
    return (this.steps[step]?.events.slice(from, to) ?? []).map(explain);
  }

  /** A step's notifier brackets (computed once). */
  brackets(step: number): Bracket[] {
    let b = this.bracketCache.get(step);
    if (b === undefined) {
      b = bracketsOf(this.steps[step]?.events ?? []);
      this.bracketCache.set(step, b);
    }
    return b;
  }
}

function cellCount(s: Snapshot): number {
  let n = 1;
  for (const p of s.processes) for (const v of p.vmas) n += v.pages * (1 + v.secondaries.length);
  return n;
}

/** The steps of every `parallel` step's threads (at any depth). */
function stepsInsideParallel(scenario: Scenario): Set<unknown> {
  const inside = new Set<unknown>();
  const visit = (x: unknown, threaded: boolean): void => {
    if (Array.isArray(x)) for (const y of x) visit(y, threaded);
    else if (x !== null && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (threaded && typeof o.op === 'string') inside.add(o);
      for (const [k, v] of Object.entries(o)) if (k !== 'pos') visit(v, threaded || o.op === 'parallel');
    }
  };
  visit(scenario.steps, false);
  return inside;
}

/** Every mapping name the scenario defines (`mmap ... as:`), anywhere in its steps. */
function mappingNames(scenario: Scenario, run: ScenarioRun): NameSource {
  const names = new Set<string>();
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(visit);
    else if (x !== null && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (o.op === 'mmap' && typeof o.as === 'string') names.add(o.as);
      for (const [k, v] of Object.entries(o)) if (k !== 'pos' && k !== 'expect') visit(v);
    }
  };
  visit(scenario.steps);
  return { names: [...names], start: (proc, name) => run.mappingStart(proc, name) };
}
