/**
 * The result of a run as the contract describes it (SCENARIO.md "Result"): counters, expectations,
 * violations with a replay line and the events before them, step outcomes; and how events are written.
 */

import type { Machine } from '../hw/machine.js';
import type { KernelName } from '../kernel/profiles.js';
import { pteText } from '../mm/event-text.js';
import type { Violation } from '../notifier/violations.js';
import { Digest } from '../sim/hash.js';
import { detailText, type LogEvent } from '../sim/log.js';
import type { Expectation, SourcePos, Step } from './ast.js';
import { at, type ExpectationResult } from './evaluate.js';
import { stepSpec } from './steps/index.js';

export type { ExpectationResult } from './evaluate.js';

export interface ViolationResult {
  invariant: string;
  message: string;
  step: number;
  /** The step's source position, file:line:col. */
  at: string;
  agents: string[];
  addresses: string[];
  trace: { replay: string; events: string[] };
}

/** A step whose system call or access did not succeed (errno, signal): not an error of the file. */
export interface StepOutcome {
  step: number;
  at: string;
  op: string;
  /** The errno or signal (e.g. ENOMEM, SIGSEGV, EOPNOTSUPP). */
  result: string;
  /** Where it happened when a step touches many pages: the first and last page, and how many. */
  where?: { first: string; last: string; count: number };
}

export interface RunResult {
  name: string;
  kernel: KernelName;
  seed: number;
  ok: boolean;
  counters: Record<string, number>;
  expectations: ExpectationResult[];
  violations: ViolationResult[];
  outcomes: StepOutcome[];
  /** The event log's digest and the memory contents at the end (see traceHash). */
  traceHash: string;
  /** The --interleave seed the parallel threads followed, if any. */
  interleave?: number;
  /** The --schedule replayed, if any. */
  schedule?: string;
}

/** The outcomes of a run's steps; repeated per-page failures of one step merge into one entry. */
export class Outcomes {
  readonly list: StepOutcome[] = [];

  add(index: number, step: Step, result: string, where?: string): void {
    const last = this.list[this.list.length - 1];
    if (where !== undefined && last?.step === index && last.result === result && last.where !== undefined) {
      last.where.last = where;
      last.where.count++;
      return;
    }
    this.list.push({
      step: index,
      at: at(step.pos),
      op: step.op,
      result,
      ...(where === undefined ? {} : { where: { first: where, last: where, count: 1 } }),
    });
  }
}

/** The invariants the file expects to see broken (`violations:` expectations anywhere in it). */
export function expectedViolations(top: readonly Expectation[], steps: readonly Step[]): Set<string> {
  const expected = new Set<string>();
  const collect = (list: readonly Expectation[]): void => {
    for (const e of list) if (e.kind === 'violations') expected.add(e.invariant);
  };
  const walk = (list: readonly Step[]): void => {
    for (const st of list) {
      collect(st.expect ?? []);
      for (const nested of stepSpec(st.op).children?.(st) ?? []) walk(nested);
    }
  };
  collect(top);
  walk(steps);
  return expected;
}

/** A violation as reported: where its step was written, the last events up to it, the replay line. */
export function violationResult(
  v: Violation,
  stepPos: readonly SourcePos[],
  events: readonly LogEvent[],
  replay: string,
): ViolationResult {
  const before: string[] = [];
  if (events.length > 0 && events[events.length - 1].seq < v.seq - 1)
    // memory keeps the first events only (EventLog keep): say so rather than show older ones
    before.push(
      `(the events just before #${v.seq} are past the ${events.length} kept in memory; --trace FILE records every event)`,
    );
  else
    for (let i = events.length - 1; i >= 0 && before.length < 12; i--)
      if (events[i].seq <= v.seq) before.push(formatEvent(events[i]));
  return {
    invariant: v.invariant,
    message: v.message,
    step: v.step,
    at: v.step >= 0 && stepPos[v.step] ? at(stepPos[v.step]) : '',
    agents: v.agents,
    addresses: v.addresses,
    trace: { replay, events: before.reverse() },
  };
}

export function formatEvent(e: LogEvent): string {
  const parts = [`#${e.seq}`, e.agent, e.kind, e.what];
  if (e.mm !== undefined) parts.push(`mm${e.mm}`);
  if (e.start !== undefined)
    parts.push(`0x${e.start.toString(16)}${e.end !== undefined ? `-0x${e.end.toString(16)}` : ''}`);
  if (e.event) parts.push(e.event);
  if (e.flags) parts.push(`[${e.flags}]`);
  if (e.oldPte !== undefined || e.newPte !== undefined)
    parts.push(`${pteText(e.oldPte)} -> ${pteText(e.newPte)}`);
  const detail = detailText(e);
  if (detail) parts.push(`(${detail})`);
  return parts.join(' ');
}

/**
 * The run's trace hash: the event log's digest and what every frame in use holds (the events do not
 * carry the bytes written, so two runs writing different data would otherwise hash the same).
 */
export function traceHash(machine: Machine): string {
  const d = new Digest();
  d.string(machine.log.hash());
  const f = machine.frames;
  for (let pfn = 1; pfn < f.everUsedBelow; pfn++) {
    if (f.raw.refcount[pfn] === 0) continue;
    d.number(pfn);
    machine.contents.digest(f.raw.content[pfn], d);
  }
  return d.hex();
}
