/**
 * What a run will do, known before it starts: how many steps it executes (so a scenario that would run
 * for ever is refused with the limit and the option raising it) and how many threads its parallel steps
 * have (so a --schedule naming another thread is refused).
 */
import type { Scenario, Step } from '../scenario/ast.js';
import { UsageError } from './usage-error.js';

/** A trace file whose name names no format gets JSON up to this many events (trace-writer.ts). */
export const AUTO_JSON_MAX_EVENTS = 100_000;

/** Steps a run may execute unless --max-steps says otherwise. */
export const DEFAULT_MAX_STEPS = 10_000_000;

/**
 * The steps a run executes: repeat bodies times their count, every parallel thread; a ksm step counts
 * once per full scan (or per batch of pages_to_scan pages), since that is the work it stands for.
 */
export function executedSteps(steps: readonly Step[], pagesToScan: number): number {
  let n = 0;
  for (const s of steps) {
    if (s.op === 'repeat') n += s.times * executedSteps(s.steps, pagesToScan);
    else if (s.op === 'parallel') for (const t of s.threads) n += executedSteps(t, pagesToScan);
    else if (s.op === 'ksm')
      n += s.fullScans ?? Math.max(1, Math.ceil((s.scanPages ?? 0) / Math.max(1, pagesToScan)));
    else n++;
  }
  return n;
}

/** The most threads one interleaved parallel step has (a parallel inside a thread runs in it). */
export function parallelThreads(steps: readonly Step[]): number {
  let most = 0;
  for (const s of steps) {
    if (s.op === 'parallel') most = Math.max(most, s.threads.length);
    else if (s.op === 'repeat') most = Math.max(most, parallelThreads(s.steps));
  }
  return most;
}

/** Throw a UsageError at the first top-level step past the limit. */
export function checkStepLimit(scenario: Scenario, file: string, max: number): void {
  const total = executedSteps(scenario.steps, scenario.ksm.pagesToScan);
  if (total <= max) return;
  let n = 0;
  for (const s of scenario.steps) {
    n += executedSteps([s], scenario.ksm.pagesToScan);
    if (n > max)
      throw new UsageError(
        `${file}:${s.pos.line}:${s.pos.col}: error: the run would execute ${formatCount(total)} steps, more than the limit of ${formatCount(max)}; --max-steps N raises it`,
      );
  }
}

export function formatCount(n: number): string {
  return Number.isSafeInteger(n) ? n.toLocaleString('en-US') : n.toExponential(2);
}

/** `--max-steps N`. */
export function maxStepsOption(v: string | undefined): number {
  if (v === undefined) return DEFAULT_MAX_STEPS;
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v)))
    throw new UsageError(`--max-steps: expected a positive integer, got '${v}'`);
  return Number(v);
}
