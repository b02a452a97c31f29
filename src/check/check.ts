/**
 * `mmsim check`: the model checker over a scenario, per kernel. The search is split into tasks
 * (check/tasks.ts) that run here or on worker threads (check/workers.ts) or as a shard of a batch job;
 * their outcomes merge into one report (check/counterexample.ts's CheckReport) whatever the split ran
 * on. Each problem's counterexample is minimal in preemptions (the bounded search is rerun with 0, 1, ...
 * preemptions until it shows) and then in length (the schedule ends at the offending transition), and
 * is replayed once more with the event log on to describe every transition.
 */
import { type KernelName, type ProfileOverrides, profileSettings } from '../kernel/profiles.js';
import type { Scenario } from '../scenario/ast.js';
import { compressSchedule, formatEvent, ScenarioRun } from '../scenario/run.js';
import { FOOTPRINT, type Footprint, resetFootprintSerials } from '../sim/footprint.js';
import type { Thread } from '../sim/scheduler.js';
import type { InterleavingSearch } from '../sim/search.js';
import type { BugEntry } from './bugs.js';
import type { CheckReport, CheckResult, Counterexample, CounterexampleTransition } from './counterexample.js';
import { type FoundProblem, searchScenario } from './search.js';
import { splitTasks, type Task } from './tasks.js';

export interface CheckOptions {
  /** The scenario file as named, and its text (carried in counterexamples). */
  file: string;
  text: string;
  kernels: readonly KernelName[];
  profileOverrides?: ProfileOverrides;
  /** The catalogued bug whose switch is applied (its `set` joins the overrides). */
  bug?: BugEntry;
  /** Infinity: no bound. */
  maxPreemptions: number;
  reduction: boolean;
  /** Sweep every invariant over all of memory at every quiescent point (`--paranoid`). */
  paranoid?: boolean;
  maxExecutions: number;
  /** Run only the tasks of this shard (index from 0). */
  shard?: { index: number; count: number };
  /** Run the tasks on this many worker threads (1: here). */
  workers?: number;
  /** Tasks done and to do, for a progress bar. */
  progress?: (done: number, total: number) => void;
}

/** What one task's search found: everything the report needs, in a form that crosses threads and files. */
export interface TaskOutcome {
  readonly task: number;
  readonly complete: boolean;
  readonly stoppedBy?: string;
  readonly executions: number;
  readonly abandoned: number;
  readonly finalStates: readonly string[];
  readonly problems: readonly FoundProblem[];
}

/** A result with what merging shards needs besides the report: the final states themselves. */
export interface ShardResult extends CheckResult {
  readonly finalStateHashes: readonly string[];
  readonly tasks: number;
  readonly abandoned: number;
}

export interface ShardReport extends Omit<CheckReport, 'results'> {
  readonly shard?: { readonly index: number; readonly count: number };
  readonly results: readonly ShardResult[];
  /** The settings that must agree for shards to merge. */
  readonly settings: string;
}

/** The overrides a run uses: the user's what-if fields, then the bug's switch. */
export function effectiveOverrides(opts: Pick<CheckOptions, 'profileOverrides' | 'bug'>): ProfileOverrides {
  return { ...(opts.bug?.base ?? {}), ...(opts.profileOverrides ?? {}), ...(opts.bug?.set ?? {}) };
}

export interface TaskSpec {
  readonly task: number;
  readonly prefix: readonly number[];
  readonly explored: Task['explored'];
  readonly kernel: KernelName;
  readonly profileOverrides: ProfileOverrides;
  readonly maxPreemptions: number;
  readonly reduction: boolean;
  readonly paranoid: boolean;
  readonly maxExecutions: number;
  readonly file: string;
}

/** Explore one task and shape its outcome (runs on a worker thread too). */
export function runTask(scenario: Scenario, spec: TaskSpec): TaskOutcome {
  const o = searchScenario(scenario, {
    kernel: spec.kernel,
    profileOverrides: spec.profileOverrides,
    maxPreemptions: spec.maxPreemptions,
    reduction: spec.reduction,
    paranoid: spec.paranoid,
    maxExecutions: spec.maxExecutions,
    file: spec.file,
    prefix: spec.prefix,
    prefixExplored: spec.explored,
  });
  return {
    task: spec.task,
    complete: o.complete,
    ...(o.stoppedBy !== undefined ? { stoppedBy: o.stoppedBy } : {}),
    executions: o.executions,
    abandoned: o.abandoned,
    finalStates: [...o.finalStates].sort(),
    problems: [...o.problems.values()],
  };
}

/** Fewest preemptions, then shortest, then the schedule's text: a total order, so any merge order agrees. */
export function betterProblem(a: FoundProblem, b: FoundProblem | undefined): boolean {
  if (b === undefined) return true;
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions;
  if (a.offending !== b.offending) return a.offending < b.offending;
  return (
    compressSchedule(a.decisions.slice(0, a.offending + 1)) <
    compressSchedule(b.decisions.slice(0, b.offending + 1))
  );
}

/** Run tasks here, one after another (the workers module runs them on threads). */
export type TaskRunner = (specs: readonly TaskSpec[], onDone: () => void) => TaskOutcome[];

export function localRunner(scenario: Scenario): TaskRunner {
  return (specs, onDone) =>
    specs.map((s) => {
      const r = runTask(scenario, s);
      onDone();
      return r;
    });
}

/** Check the scenario under each kernel: the report (and, for shards, the final states to merge). */
export function checkScenario(scenario: Scenario, opts: CheckOptions, runner: TaskRunner): ShardReport {
  const overrides = effectiveOverrides(opts);
  const results: ShardResult[] = [];
  for (const kernel of opts.kernels) {
    const tasks = splitTasks(scenario, {
      kernel,
      profileOverrides: overrides,
      maxPreemptions: opts.maxPreemptions,
      file: opts.file,
      paranoid: opts.paranoid === true,
    });
    const share = Math.max(1, Math.ceil(opts.maxExecutions / tasks.length));
    const specs: TaskSpec[] = tasks
      .map((t, task) => ({
        task,
        prefix: t.prefix,
        explored: t.explored,
        kernel,
        profileOverrides: overrides,
        maxPreemptions: opts.maxPreemptions,
        reduction: opts.reduction,
        paranoid: opts.paranoid === true,
        maxExecutions: share,
        file: opts.file,
      }))
      .filter((s) => opts.shard === undefined || s.task % opts.shard.count === opts.shard.index);
    // a shard cannot know what the others leave unused: its tasks keep their equal shares
    const run =
      opts.shard === undefined
        ? runWithinBudget(specs, opts.maxExecutions, runner, opts.progress)
        : runOnce(specs, runner, opts.progress);
    results.push(
      shardResult(scenario, opts, kernel, overrides, run.outcomes, run.specs, tasks.length, runner),
    );
  }
  return {
    format: 'mmsim-check',
    version: 1,
    file: opts.file,
    ...(opts.shard !== undefined ? { shard: opts.shard } : {}),
    settings: settingsKey(opts),
    results,
  };
}

/** Rounds of runWithinBudget: the work of a budget-limited search stays within this many budgets. */
const MAX_ROUNDS = 4;

/** The tasks' outcomes, and the specs (with the budgets) they last ran with, in task order. */
interface BudgetedRun {
  readonly outcomes: readonly TaskOutcome[];
  readonly specs: readonly TaskSpec[];
}

function runOnce(
  specs: readonly TaskSpec[],
  runner: TaskRunner,
  progress: CheckOptions['progress'],
): BudgetedRun {
  let done = 0;
  return { outcomes: runner(specs, () => progress?.(++done, specs.length)), specs };
}

/**
 * Run the tasks within `max` executions in all (whole or abandoned ones). Each starts with an equal
 * share; what the tasks that finish leave unused goes, in the next round, to those that used up their
 * share, which run again from the start with the bigger share, until every task finishes, a round gives
 * no task more than it had, or MAX_ROUNDS rounds ran. One task can hold nearly the whole space (four
 * racing vCPUs: one of 16 tasks): with equal shares alone, it stopped at a sixteenth of the budget.
 * The shares depend only on the earlier rounds' counts, so the report does not depend on the number of
 * workers.
 */
function runWithinBudget(
  specs: readonly TaskSpec[],
  max: number,
  runner: TaskRunner,
  progress: CheckOptions['progress'],
): BudgetedRun {
  const finished = new Map<number, { outcome: TaskOutcome; spec: TaskSpec }>();
  let round = specs;
  let total = specs.length;
  let done = 0;
  for (let rounds = 1; ; rounds++) {
    const specOf = new Map(round.map((s) => [s.task, s]));
    const outcomes = runner(round, () => progress?.(++done, total));
    const cut: TaskSpec[] = [];
    let used = 0;
    for (const { outcome } of finished.values()) used += outcome.executions + outcome.abandoned;
    for (const o of outcomes) {
      if (o.complete) used += o.executions + o.abandoned;
      else cut.push(specOf.get(o.task)!);
    }
    const share = cut.length === 0 ? 0 : Math.floor((max - used) / cut.length);
    // a rerun repeats what its task did before: at most MAX_ROUNDS budgets of work in all
    const grows = cut.length > 0 && share > cut[0].maxExecutions && rounds < MAX_ROUNDS;
    for (const o of outcomes)
      if (o.complete || !grows) finished.set(o.task, { outcome: o, spec: specOf.get(o.task)! });
    if (!grows) break;
    round = cut.map((s) => ({ ...s, maxExecutions: share }));
    total += round.length;
  }
  const inOrder = [...finished.values()].sort((a, b) => a.outcome.task - b.outcome.task);
  return { outcomes: inOrder.map((f) => f.outcome), specs: inOrder.map((f) => f.spec) };
}

/** What must agree between shards of one check. */
function settingsKey(opts: CheckOptions): string {
  return JSON.stringify({
    kernels: opts.kernels,
    set: profileSettings(effectiveOverrides(opts)),
    maxPreemptions: Number.isFinite(opts.maxPreemptions) ? opts.maxPreemptions : null,
    reduction: opts.reduction,
    ...(opts.paranoid === true ? { paranoid: true } : {}),
    maxExecutions: opts.maxExecutions,
  });
}

function shardResult(
  scenario: Scenario,
  opts: CheckOptions,
  kernel: KernelName,
  overrides: ProfileOverrides,
  outcomes: readonly TaskOutcome[],
  specs: readonly TaskSpec[],
  tasks: number,
  runner: TaskRunner,
): ShardResult {
  const states = new Set<string>();
  const best = new Map<string, FoundProblem>();
  let executions = 0;
  let abandoned = 0;
  let stoppedBy: string | undefined;
  for (const o of [...outcomes].sort((a, b) => a.task - b.task)) {
    executions += o.executions;
    abandoned += o.abandoned;
    // a task stops only at its share of the budget: say the budget the user gave (and, in a shard, how
    // it was shared: a shard's tasks keep equal shares)
    if (!o.complete)
      stoppedBy =
        opts.shard === undefined
          ? `--max-executions ${opts.maxExecutions}`
          : `--max-executions ${opts.maxExecutions}, shared equally among the ${tasks} tasks of the shards`;
    for (const h of o.finalStates) states.add(h);
    for (const p of o.problems) if (betterProblem(p, best.get(p.key))) best.set(p.key, p);
  }
  // fewest preemptions: rerun the bounded search with 0, 1, ... preemptions, stopping at the problem
  for (const [key, p] of best) {
    for (let bound = 0; bound < p.preemptions; bound++) {
      const lower = runner(
        specs.map((s) => ({ ...s, maxPreemptions: bound, maxExecutions: s.maxExecutions })),
        () => {},
      )
        .flatMap((o) => o.problems)
        .filter((q) => q.key === key);
      if (lower.length === 0) continue;
      best.set(
        key,
        lower.reduce((a, b) => (betterProblem(b, a) ? b : a)),
      );
      break;
    }
  }
  const counterexamples = [...best.values()]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((p) => describeCounterexample(scenario, opts, kernel, overrides, p));
  return {
    kernel,
    complete: stoppedBy === undefined,
    ...(stoppedBy !== undefined ? { stoppedBy } : {}),
    executions,
    finalStates: states.size,
    counterexamples,
    finalStateHashes: [...states].sort(),
    tasks,
    abandoned,
  };
}

/**
 * Replay a problem's schedule, up to its offending transition, with the event log and the footprint
 * recorder on: one row per transition (thread, CPU, where it paused before and after, the locks it took
 * and released, and its events).
 */
export function describeCounterexample(
  scenario: Scenario,
  opts: Pick<CheckOptions, 'file' | 'text' | 'bug' | 'paranoid'>,
  kernel: KernelName,
  overrides: ProfileOverrides,
  p: FoundProblem,
): Counterexample {
  const schedule = p.decisions.slice(0, p.offending + 1);
  const transitions: CounterexampleTransition[] = [];
  let threads: string[] = [];
  let run: ScenarioRun | null = null;
  let at = 0;
  let preemptions = 0;
  let pending: { thread: number; from: string; logFrom: number; preemptions: number } | null = null;
  const lockLog: string[] = [];
  // the replay sweeps at quiescent points inside the block, as `mmsim run --schedule` does: the first
  // transition after which the problem's invariant stood is the offending one
  let shown = -1;
  const cpuOf = new Map<number, number>();
  const close = (t: Thread | null, fp: Footprint | null): void => {
    if (pending === null || run === null) return;
    void fp;
    const events = run.events.slice(pending.logFrom);
    const cpu = events.find((e) => e.cpu >= 0)?.cpu ?? cpuOf.get(pending.thread) ?? -1;
    if (cpu >= 0) cpuOf.set(pending.thread, cpu);
    transitions.push({
      index: transitions.length,
      thread: pending.thread,
      cpu,
      from: pending.from,
      to: t === null ? '?' : pauseLabel(t),
      events: [
        ...(lockLog.length > 0 ? [`locks: ${lockLog.splice(0).join(', ')}`] : []),
        ...events.map(formatEvent),
      ],
      preemptions: pending.preemptions,
    });
    pending = null;
    if (
      shown < 0 &&
      p.invariant !== undefined &&
      run.world.violations.list.some((v) => v.invariant === p.invariant)
    )
      shown = transitions.length - 1;
  };
  const search: InterleavingSearch = {
    choose(ready, current, all) {
      threads = all.map((_, i) => `thread ${i}`);
      const want = at < schedule.length ? all[schedule[at]] : undefined;
      const chosen =
        want !== undefined && ready.includes(want)
          ? want
          : current !== null && ready.includes(current)
            ? current
            : ready[0];
      if (current !== null && chosen !== current && ready.includes(current)) preemptions++;
      pending = {
        thread: all.indexOf(chosen),
        from: pauseLabel(chosen),
        logFrom: run?.events.length ?? 0,
        preemptions,
      };
      at++;
      lastChosen = chosen;
      return chosen;
    },
    stepped: (fp) => close(lastChosen, fp),
  };
  let lastChosen: Thread | null = null;
  resetFootprintSerials();
  FOOTPRINT.lockLog = lockLog;
  try {
    run = new ScenarioRun(scenario, {
      kernel,
      profileOverrides: overrides,
      search,
      file: opts.file,
      recording: true,
      paranoid: opts.paranoid === true,
    });
    run.run();
  } catch {
    // a deadlock ends the replay where the search saw it
  } finally {
    FOOTPRINT.lockLog = null;
  }
  // a thread's first rows may have had no event naming its CPU
  for (const [i, t] of transitions.entries())
    if (t.cpu < 0 && cpuOf.has(t.thread)) transitions[i] = { ...t, cpu: cpuOf.get(t.thread)! };
  const offending = Math.min(shown >= 0 ? shown : p.offending, Math.max(0, transitions.length - 1));
  return {
    format: 'mmsim-counterexample',
    version: 1,
    file: opts.file,
    scenario: opts.text,
    kernel,
    overrides: overrides as Counterexample['overrides'],
    ...(opts.bug !== undefined ? { bug: opts.bug.id } : {}),
    schedule: compressSchedule(schedule.slice(0, offending + 1)),
    ...(opts.paranoid === true ? { paranoid: true as const } : {}),
    preemptions: transitions[offending]?.preemptions ?? p.preemptions,
    problem: {
      kind: p.kind,
      ...(p.invariant !== undefined ? { invariant: p.invariant } : {}),
      message: p.message,
    },
    threads: threadNames(scenario, threads.length),
    transitions: transitions.slice(0, offending + 1),
    offending,
  };
}

function pauseLabel(t: Thread): string {
  if (t.done) return 'done';
  const p = t.paused;
  if (p === null) return 'start';
  if (p.kind === 'lock-wait') return `waits for ${p.lock.name}`;
  return p.label;
}

/** Each parallel thread's name: its first step's operation and process or guest. */
function threadNames(scenario: Scenario, n: number): string[] {
  const block = findParallel(scenario.steps);
  return Array.from({ length: n }, (_, i) => {
    const first = block?.[i]?.[0] as unknown as { op?: string; proc?: string; vm?: string } | undefined;
    if (first === undefined) return `thread ${i}`;
    const who = first.proc ?? first.vm;
    return `${i}: ${first.op ?? 'step'}${who !== undefined ? ` ${who}` : ''}`;
  });
}

function findParallel(steps: readonly unknown[]): readonly (readonly unknown[])[] | undefined {
  for (const s of steps as {
    op: string;
    threads?: readonly (readonly unknown[])[];
    steps?: readonly unknown[];
  }[]) {
    if (s.op === 'parallel' && s.threads !== undefined) return s.threads;
  }
  return undefined;
}
