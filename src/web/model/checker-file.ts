/**
 * Reading the model checker's output (check/counterexample.ts): a `Counterexample`, or a `CheckReport`
 * whose results carry them. Whatever the file says is checked before the page trusts it, and an error
 * says what was expected. A counterexample replays as a scenario run: its text, kernel, `--set` fields
 * and schedule.
 */
import type { CheckReport, Counterexample } from '../../check/counterexample.js';
import { isKernelName } from '../../kernel/profiles.js';

export type CheckerFile = { ok: true; counterexamples: Counterexample[] } | { ok: false; error: string };

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

export function readCheckerFile(text: string): CheckerFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!isObject(data)) return { ok: false, error: 'expected a JSON object' };
  if (data.format === 'mmsim-counterexample') {
    const err = counterexampleError(data);
    return err === null ? { ok: true, counterexamples: [data as unknown as Counterexample] } : fail(err);
  }
  if (data.format === 'mmsim-check') {
    if (data.version !== 1) return fail(`unsupported mmsim-check version ${String(data.version)}`);
    const results = (data as unknown as CheckReport).results;
    if (!Array.isArray(results)) return fail('a mmsim-check report needs `results`');
    const all: Counterexample[] = [];
    for (const r of results) {
      if (!isObject(r) || !Array.isArray(r.counterexamples))
        return fail('each result needs `counterexamples`');
      for (const c of r.counterexamples) {
        const err = counterexampleError(c);
        if (err !== null) return fail(err);
        all.push(c as Counterexample);
      }
    }
    if (all.length === 0) return fail('the report has no counterexample: every schedule explored was clean');
    return { ok: true, counterexamples: all };
  }
  return fail("expected format 'mmsim-counterexample' or 'mmsim-check' (the output of mmsim check)");
}

const fail = (error: string): CheckerFile => ({ ok: false, error });

function counterexampleError(c: unknown): string | null {
  if (!isObject(c) || c.format !== 'mmsim-counterexample') return "expected format 'mmsim-counterexample'";
  if (c.version !== 1) return `unsupported counterexample version ${String(c.version)}`;
  for (const f of ['file', 'scenario', 'kernel', 'schedule'] as const)
    if (typeof c[f] !== 'string') return `a counterexample needs \`${f}\` (a string)`;
  if (!isKernelName(c.kernel as string)) return `unknown kernel '${String(c.kernel)}'`;
  if (!isObject(c.overrides)) return 'a counterexample needs `overrides` (an object)';
  if (!Array.isArray(c.threads) || !c.threads.every((t) => typeof t === 'string'))
    return 'a counterexample needs `threads` (names)';
  if (!Array.isArray(c.transitions)) return 'a counterexample needs `transitions`';
  for (const t of c.transitions)
    if (!isObject(t) || typeof t.thread !== 'number' || !Array.isArray(t.events))
      return 'each transition needs `thread` and `events`';
  if (typeof c.offending !== 'number' || c.offending < 0 || c.offending >= c.transitions.length)
    return '`offending` must index `transitions`';
  if (!isObject(c.problem) || typeof c.problem.message !== 'string')
    return 'a counterexample needs `problem.message`';
  return null;
}

/** The counterexample's what-if fields as the CLI's `--set FIELD=VALUE` arguments. */
export function settingsOf(c: Counterexample): string[] {
  return Object.entries(c.overrides).map(([k, v]) => `${k}=${String(v)}`);
}
