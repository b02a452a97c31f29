/**
 * The library entry point (`import { run, Scenario } from 'mmsim'`): the same scenarios as the files,
 * the World to drive by hand, the experiments, and the pieces needed to write a secondary MMU.
 */

import type { ScenarioDocument } from './scenario/document.js';
import { formatError, parseScenario } from './scenario/parse.js';
import { type RunOptions, type RunResult, runScenario } from './scenario/run.js';

/** A scenario, written as a file would hold it. */
export type Scenario = ScenarioDocument;

/** Raised by `run` for a scenario that is not valid: every error with its line:col in the JSON form. */
export class ScenarioError extends Error {
  constructor(readonly errors: { line: number; col: number; message: string }[]) {
    super(errors.map((e) => formatError({ file: '<scenario>', ...e })).join('\n'));
  }
}

/**
 * Run a scenario (a document object, or the text of a YAML/JSON file) and return the result the
 * `--json` output has. Invalid input throws ScenarioError; a failed expectation is `ok: false`.
 */
export function run(scenario: Scenario | string, options: RunOptions = {}): RunResult {
  const text = typeof scenario === 'string' ? scenario : JSON.stringify(scenario, null, 2);
  const parsed = parseScenario(text, options.file ?? '<scenario>');
  if (!parsed.ok) throw new ScenarioError(parsed.errors);
  return runScenario(parsed.scenario, options);
}
