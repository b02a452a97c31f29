/**
 * Accesses that failed where the scenario does not say it expects them: a SIGSEGV or SIGBUS with no
 * `signal:` expectation naming it, an ENOMEM or EFAULT on a step without an `expect:` of its own. The
 * run may still pass (nothing it checks failed), so these are said prominently rather than noted.
 */
import type { Expectation, Scenario, Step } from '../scenario/ast.js';
import { at } from '../scenario/evaluate.js';
import type { RunResult, StepOutcome } from '../scenario/run.js';
import { stepSpec } from '../scenario/steps/index.js';

const SIGNALS = new Set(['SIGSEGV', 'SIGBUS']);
const ERRNOS = new Set(['ENOMEM', 'EFAULT']);

export function unexpectedFailures(scenario: Scenario, result: RunResult): StepOutcome[] {
  const steps = new Map<string, Step>();
  const signals = new Set<string>();
  const collect = (list: readonly Expectation[]): void => {
    for (const e of list) if (e.kind === 'signal') signals.add(e.signal);
  };
  const walk = (list: readonly Step[]): void => {
    for (const s of list) {
      steps.set(at(s.pos), s);
      collect(s.expect ?? []);
      for (const nested of stepSpec(s.op).children?.(s) ?? []) walk(nested);
    }
  };
  collect(scenario.expect);
  walk(scenario.steps);
  return result.outcomes.filter((o) => {
    if (SIGNALS.has(o.result)) return !signals.has(o.result);
    if (ERRNOS.has(o.result)) return (steps.get(o.at)?.expect ?? []).length === 0;
    return false;
  });
}

/** The warning line for standard error. */
export function describeFailures(list: readonly StepOutcome[]): string {
  const first = list[0];
  const kinds = [...new Set(list.map((o) => o.result))].join(', ');
  return `warning: ${list.length} step${list.length === 1 ? '' : 's'} failed with ${kinds} and nothing in the scenario expects it (first: step ${first.step} ${first.op} at ${first.at}); a 'signal:' expectation, or an 'expect:' on the step, says it is meant`;
}
