/**
 * What the page asks of the model and what it gets back (the Web Worker's protocol), and the Backend
 * that answers: it owns the sessions (one per kernel shown) and hands out one point's view at a time,
 * with a window of the step's events, so a 16k-page scenario whose ksm step logs 184k events never
 * crosses the worker boundary whole. Pure TypeScript: the worker is a thin postMessage wrapper around it
 * and tests drive it directly.
 */

import { checkStepLimit, parallelThreads } from '../../cli/run-limits.js';
import { EXPERIMENTS, findExperiment } from '../../experiments/index.js';
import { renderBarChart } from '../../experiments/svg.js';
import { renderTable } from '../../experiments/table.js';
import {
  isKernelName,
  type KernelName,
  type ProfileOverrides,
  parseProfileSetting,
} from '../../kernel/profiles.js';
import { parseScenario, type ScenarioError } from '../../scenario/parse.js';
import { parseSchedule } from '../../scenario/replay.js';
import type { Bracket } from './brackets.js';
import { diffSnapshots, type Marks } from './diff.js';
import { Session, type TransitionRecord } from './session.js';
import type { Snapshot } from './snapshot.js';

export interface OpenRequest {
  kind: 'open';
  text: string;
  file: string;
  /** One kernel, or two for compare mode; '' (or none): the scenario's own. */
  kernels: string[];
  /** What-if profile fields as `FIELD=VALUE` (the CLI's --set). */
  settings?: string[];
  /** Replay this schedule for the `parallel` threads (a counterexample's). */
  schedule?: string;
}

export interface ViewRequest {
  kind: 'view';
  step: number;
  event: number;
}

export interface ExperimentRequest {
  kind: 'experiment';
  name: string;
  scale: number;
}

export type Request = OpenRequest | ViewRequest | ExperimentRequest | { kind: 'catalog' };

export interface StepSummary {
  op: string;
  line: number;
  col: number;
  events: number;
}

export interface Opened {
  kind: 'opened';
  /** The file opened (the page's name for it). */
  file: string;
  errors: ScenarioError[];
  kernels: KernelName[];
  /** The steps (the same in every kernel: one scenario), with each kernel's event count. */
  steps: StepSummary[][];
  runtimeErrors: (ScenarioError | null)[];
  /** Each kernel's result: ok, failed expectations, violations. */
  results: { ok: boolean; failed: string[]; violations: string[] }[];
  /** Each kernel's scheduler transitions (interleaved `parallel` steps under a schedule). */
  transitions: TransitionRecord[][];
  /** Whether every event's state was recorded (large scenarios show a step's end for its events). */
  eventStates: boolean[];
  /** What is wrong with the what-if fields or the schedule (not the file), if anything. */
  optionError?: string;
}

/** Steps the page runs at most (it keeps a snapshot of each; `mmsim run` goes much further). */
export const PAGE_MAX_STEPS = 50_000;

/** A window of a step's events with one sentence each. */
export interface EventWindow {
  total: number;
  from: number;
  sentences: string[];
  kinds: string[];
}

/** One kernel's side of a point. */
export interface SideView {
  kernel: KernelName;
  snapshot: Snapshot;
  /** False where the point is inside a step whose per-event states were not recorded. */
  exact: boolean;
  /** Changed since the previous point. */
  changed: Marks;
  /** Counter deltas since the previous point (non-zero only). */
  deltas: Record<string, number>;
  events: EventWindow;
  /** The step's notifier brackets that overlap the event window, and how many the step has. */
  brackets: Bracket[];
  bracketTotal: number;
}

export interface PointView {
  kind: 'view';
  step: number;
  event: number;
  sides: SideView[];
  /** Compare mode, at a step's end: cells where the first kernel differs from the second. */
  differs: Marks | null;
}

export interface ExperimentView {
  kind: 'experiment';
  name: string;
  title: string;
  summary: string;
  table: string;
  notes: string[];
  svg: string;
  violations: number;
}

/** The named experiments (code, so they are listed by the worker that runs them). */
export interface Catalog {
  kind: 'catalog';
  experiments: { name: string; description: string; kernels: string[] }[];
}

export type Response = Opened | PointView | ExperimentView | Catalog | { kind: 'error'; message: string };

/** Events sent per view: the current one and its neighbours. */
export const EVENT_WINDOW = 160;

export class Backend {
  private sessions: Session[] = [];

  handle(req: Request): Response {
    if (req.kind === 'open') return this.open(req);
    if (req.kind === 'experiment') return runExperiment(req);
    if (req.kind === 'catalog')
      return {
        kind: 'catalog',
        experiments: EXPERIMENTS.map((e) => ({
          name: e.name,
          description: e.description,
          kernels: [...e.defaultKernels],
        })),
      };
    return this.view(req.step, req.event);
  }

  open(req: OpenRequest): Opened {
    const failed = (errors: ScenarioError[], optionError?: string): Opened => {
      this.sessions = [];
      return {
        kind: 'opened',
        file: req.file,
        ...(optionError === undefined ? {} : { optionError }),
        errors,
        kernels: [],
        steps: [],
        runtimeErrors: [],
        results: [],
        transitions: [],
        eventStates: [],
      };
    };
    const overrides: ProfileOverrides = {};
    for (const s of req.settings ?? []) {
      const err = parseProfileSetting(s, overrides);
      if (err !== null) return failed([], `--set: ${err}`);
    }
    const parsed = parseScenario(req.text, req.file);
    if (!parsed.ok) return failed(parsed.errors);
    const scenario = parsed.scenario;
    if (req.schedule !== undefined) {
      const runs = parseSchedule(req.schedule, parallelThreads(scenario.steps));
      if (typeof runs === 'string') return failed([], `schedule: ${runs}`);
    }
    try {
      checkStepLimit(scenario, req.file, PAGE_MAX_STEPS);
    } catch (e) {
      const m = /^(.*):(\d+):(\d+): error: (.*?)(; --max-steps N raises it)?$/.exec((e as Error).message);
      if (m === null) throw e;
      const message = `${m[4]} that the page records (it keeps a snapshot of every step); mmsim run runs it`;
      return failed([{ file: m[1], line: Number(m[2]), col: Number(m[3]), message }]);
    }
    const wanted: (KernelName | undefined)[] =
      req.kernels.length === 0 ? [undefined] : req.kernels.map((k) => (isKernelName(k) ? k : undefined));
    const sessions = wanted.map(
      (kernel) =>
        new Session(scenario, {
          kernel,
          profileOverrides: Object.keys(overrides).length > 0 ? overrides : undefined,
          schedule: req.schedule,
        }),
    );
    this.sessions = sessions;
    // brackets of every step now, so that no step's first view pays for them (184k events in a ksm step)
    for (const s of sessions) for (let i = 0; i < s.steps.length; i++) s.brackets(i);
    return {
      kind: 'opened',
      file: req.file,
      errors: [],
      kernels: sessions.map((s) => s.kernel),
      steps: sessions.map((s) =>
        s.steps.map((x) => ({ op: x.op, line: x.line, col: x.col, events: x.events.length })),
      ),
      runtimeErrors: sessions.map((s) => s.runtimeError),
      results: sessions.map((s) => ({
        ok: s.result?.ok ?? false,
        failed: (s.result?.expectations ?? []).filter((e) => !e.ok).map((e) => `${e.at}: ${e.text}`),
        violations: (s.result?.violations ?? []).map((v) => `${v.invariant}: ${v.message}`),
      })),
      transitions: sessions.map((s) => s.transitions),
      eventStates: sessions.map((s) => s.eventStatesComplete),
    };
  }

  view(step: number, event: number): PointView {
    const sides = this.sessions.map((s) => sideView(s, step, event));
    const differs =
      sides.length === 2 && event < 0 ? diffSnapshots(sides[0].snapshot, sides[1].snapshot, 'kernels') : null;
    return { kind: 'view', step, event, sides, differs };
  }
}

function sideView(s: Session, step: number, event: number): SideView {
  const last = Math.min(step, s.steps.length - 1);
  // a kernel whose step logged fewer events than the other's shows that step's end
  const ev = last >= 0 && event >= (s.steps[last]?.events.length ?? 0) ? -1 : event;
  const snapshot = s.at(last, ev);
  const before = s.before(last, ev);
  const deltas: Record<string, number> = {};
  for (const [n, v] of Object.entries(snapshot.counters)) {
    const d = v - (before.counters[n] ?? 0);
    if (d !== 0) deltas[n] = d;
  }
  const total = last < 0 ? 0 : s.steps[last].events.length;
  const from = Math.max(0, Math.min(ev - EVENT_WINDOW / 3, total - EVENT_WINDOW));
  const to = Math.min(total, from + EVENT_WINDOW);
  const all = last < 0 ? [] : s.brackets(last);
  return {
    kernel: s.kernel,
    snapshot,
    exact: s.exact(last, ev),
    changed: diffSnapshots(snapshot, before, 'changed'),
    deltas,
    events: {
      total,
      from,
      sentences: last < 0 ? [] : s.sentences(last, from, to),
      kinds: last < 0 ? [] : s.steps[last].events.slice(from, to).map((e) => e.kind),
    },
    brackets: all.filter((b) => b.open < to && (b.close < 0 || b.close >= from)).slice(0, 40),
    bracketTotal: all.length,
  };
}

function runExperiment(req: ExperimentRequest): Response {
  const exp = findExperiment(req.name);
  if (exp === undefined) return { kind: 'error', message: `unknown experiment '${req.name}'` };
  const r = exp.run({ kernels: exp.defaultKernels, seed: 1, scale: req.scale });
  return {
    kind: 'experiment',
    name: r.name,
    title: r.title,
    summary: r.summary,
    table: renderTable(r.columns, r.rows, 120),
    notes: r.notes,
    svg: renderBarChart(r.chart),
    violations: r.violations,
  };
}
