/**
 * What the page asks of the model and what it gets back (the Web Worker's protocol), and the Backend
 * that answers: it owns the sessions (one per kernel shown) and hands out one point's view at a time,
 * so a 16k-page scenario never crosses the worker boundary whole. Pure TypeScript: the worker is a thin
 * postMessage wrapper around it and tests drive it directly.
 */
import { isKernelName, type KernelName, type ProfileOverrides } from '../../kernel/profiles.js';
import type { ScenarioError } from '../../scenario/parse.js';
import type { LogEvent } from '../../sim/log.js';
import type { Bracket } from './brackets.js';
import { diffSnapshots, type Marks } from './diff.js';
import { openSession, type Session } from './session.js';
import type { Snapshot } from './snapshot.js';

export interface OpenRequest {
  kind: 'open';
  text: string;
  file: string;
  /** One kernel, or two for compare mode; empty: the scenario's own. */
  kernels: string[];
  profileOverrides?: ProfileOverrides;
  schedule?: string;
}

export interface ViewRequest {
  kind: 'view';
  step: number;
  event: number;
}

export type Request = OpenRequest | ViewRequest;

export interface StepSummary {
  op: string;
  line: number;
  col: number;
  events: number;
}

export interface Opened {
  kind: 'opened';
  errors: ScenarioError[];
  kernels: KernelName[];
  /** The steps (the same in every kernel: one scenario), with each kernel's event count. */
  steps: StepSummary[][];
  runtimeErrors: (ScenarioError | null)[];
  /** Each kernel's result: ok, failed expectations, violations. */
  results: { ok: boolean; failed: string[]; violations: string[] }[];
}

/** One kernel's side of a point. */
export interface SideView {
  kernel: KernelName;
  snapshot: Snapshot;
  /** Changed since the previous point. */
  changed: Marks;
  /** Counter deltas since the previous point (non-zero only). */
  deltas: Record<string, number>;
  events: LogEvent[];
  sentences: string[];
  brackets: Bracket[];
}

export interface PointView {
  kind: 'view';
  step: number;
  event: number;
  sides: SideView[];
  /** Compare mode: cells where the first kernel differs from the second. */
  differs: Marks | null;
}

export type Response = Opened | PointView | { kind: 'error'; message: string };

export class Backend {
  private sessions: Session[] = [];

  handle(req: Request): Response {
    if (req.kind === 'open') return this.open(req);
    return this.view(req.step, req.event);
  }

  open(req: OpenRequest): Opened {
    const kernels = req.kernels.filter(isKernelName);
    const wanted: (KernelName | undefined)[] = kernels.length === 0 ? [undefined] : kernels;
    const sessions: Session[] = [];
    for (const kernel of wanted) {
      const r = openSession(req.text, req.file, {
        kernel,
        profileOverrides: req.profileOverrides,
        schedule: req.schedule,
      });
      if (!r.ok) {
        this.sessions = [];
        return { kind: 'opened', errors: r.errors, kernels: [], steps: [], runtimeErrors: [], results: [] };
      }
      sessions.push(r.session);
    }
    this.sessions = sessions;
    return {
      kind: 'opened',
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
    };
  }

  view(step: number, event: number): PointView {
    const sides = this.sessions.map((s) => sideView(s, step, event));
    const differs =
      sides.length === 2 ? diffSnapshots(sides[0].snapshot, sides[1].snapshot, 'kernels') : null;
    return { kind: 'view', step, event, sides, differs };
  }
}

function sideView(s: Session, step: number, event: number): SideView {
  const last = Math.min(step, s.steps.length - 1);
  const snapshot = s.at(last, event);
  const before = s.before(last, event);
  const deltas: Record<string, number> = {};
  for (const [n, v] of Object.entries(snapshot.counters)) {
    const d = v - (before.counters[n] ?? 0);
    if (d !== 0) deltas[n] = d;
  }
  const rec = last < 0 ? undefined : s.steps[last];
  return {
    kernel: s.kernel,
    snapshot,
    changed: diffSnapshots(snapshot, before, 'changed'),
    deltas,
    events: rec?.events ?? [],
    sentences: rec?.sentences ?? [],
    brackets: rec?.brackets ?? [],
  };
}
