/**
 * A Session runs one scenario under one kernel and records what the visualizer can show: a snapshot
 * before the first step and after every step, and (within a budget) after every event, each with the
 * step's events, their sentences and its notifier brackets. Points are addressed as (step, event):
 * event -1 is the step's end. Every snapshot is taken once and never changed, so stepping back shows
 * exactly the state that was there.
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
  sentences: string[];
  brackets: Bracket[];
  /** The state after the step. */
  after: Snapshot;
  /** The state after each event, where the budget allowed (else null: the step's end is shown). */
  afterEvent: (Snapshot | null)[];
}

export interface SessionOptions {
  kernel?: KernelName;
  profileOverrides?: ProfileOverrides;
  /** Replay a schedule for `parallel` threads (run-length thread indices). */
  schedule?: string;
  /** Called after every scheduler decision inside `parallel` (the counterexample view's lanes). */
  onTransition?: (decision: number, thread: number) => void;
  /** Page cells per-event snapshots may use in all (default 4M: per-event views of small scenarios). */
  eventBudget?: number;
}

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
  readonly result: RunResult | null = null;
  /** A problem only visible at run time (file:line:col), after which no step ran. */
  readonly runtimeError: ScenarioError | null = null;
  readonly run: ScenarioRun;

  constructor(
    readonly scenario: Scenario,
    options: SessionOptions = {},
  ) {
    const run = new ScenarioRun(scenario, {
      kernel: options.kernel,
      profileOverrides: options.profileOverrides,
      schedule: options.schedule,
      onStep: (index, step) => this.stepDone(index, step),
      onTransition: options.onTransition,
    });
    this.run = run;
    this.kernel = run.kernelName;
    const names = mappingNames(scenario, run);
    this.names = names;
    this.initial = takeSnapshot(run.world, names);
    let budget = options.eventBudget ?? 4_000_000;
    const log = run.world.kernel.machine.log;
    const record = log.record.bind(log);
    // Per-event states: the log is the one place every event passes; the World is not changed.
    log.record = (e) => {
      record(e);
      this.pending.push(log.events[log.events.length - 1]);
      const cells = cellCount(this.lastSnapshot);
      if (budget >= cells) {
        budget -= cells;
        this.lastSnapshot = takeSnapshot(run.world, names);
        this.pendingSnaps.push(this.lastSnapshot);
      } else this.pendingSnaps.push(null);
    };
    this.lastSnapshot = this.initial;
    try {
      this.result = run.run();
    } catch (error) {
      if (!(error instanceof ScenarioRuntimeError)) throw error;
      this.runtimeError = { ...error.pos, message: error.message };
    }
  }

  private readonly names: NameSource;
  private pending: LogEvent[] = [];
  private pendingSnaps: (Snapshot | null)[] = [];
  private lastSnapshot: Snapshot;

  private stepDone(index: number, step: Step): void {
    const events = this.pending;
    const after = takeSnapshot(this.run.world, this.names);
    this.steps.push({
      index,
      op: step.op,
      line: step.pos.line,
      col: step.pos.col,
      events,
      sentences: events.map(explain),
      brackets: bracketsOf(events),
      after,
      afterEvent: this.pendingSnaps,
    });
    this.pending = [];
    this.pendingSnaps = [];
    this.lastSnapshot = after;
  }

  /** The state at a point: before everything (step -1), after event `event` of step `step`, or at its end. */
  at(step: number, event = -1): Snapshot {
    if (step < 0) return this.initial;
    const s = this.steps[step];
    if (event < 0 || event >= s.events.length) return s.after;
    return s.afterEvent[event] ?? s.after;
  }

  /** The state before a point (for deltas and highlights). */
  before(step: number, event = -1): Snapshot {
    if (step < 0) return this.initial;
    if (event > 0) return this.at(step, event - 1);
    return this.at(step - 1);
  }
}

function cellCount(s: Snapshot): number {
  let n = 1;
  for (const p of s.processes) for (const v of p.vmas) n += v.pages * (1 + v.secondaries.length);
  return n;
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
