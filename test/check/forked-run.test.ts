/**
 * The run the searches start from (check/forked-run.ts) is made once and shared by the next searches of
 * the same scenario with the same options: each execution puts it back at the first `parallel` step, so
 * a search that reuses it gives exactly what a search from a fresh run gives.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { forkedRun } from '../../src/check/forked-run.js';
import { type SearchOptions, searchScenario } from '../../src/check/search.js';
import type { Scenario } from '../../src/scenario/ast.js';
import { parseScenario } from '../../src/scenario/parse.js';

const FILE = 'bench/spin/race-vcpus-2.yaml';

function load(): Scenario {
  const r = parseScenario(readFileSync(FILE, 'utf8'), FILE);
  if (!r.ok) throw new Error(`${FILE} does not parse`);
  return r.scenario;
}

const search = (scenario: Scenario, kernel: SearchOptions['kernel']) => {
  const o = searchScenario(scenario, {
    kernel,
    maxPreemptions: Number.POSITIVE_INFINITY,
    reduction: true,
    maxExecutions: 1e6,
    file: FILE,
  });
  return { executions: o.executions, abandoned: o.abandoned, finalStates: [...o.finalStates].sort() };
};

describe('the forked run', () => {
  it('is shared by searches of one scenario with the same options, which find what fresh ones find', () => {
    const scenario = load();
    const options = { kernel: 'rfc-2019' as const, file: FILE };
    expect(forkedRun(scenario, options)).toBe(forkedRun(scenario, options));
    expect(forkedRun(scenario, { ...options, kernel: 'v5.0' })).not.toBe(forkedRun(scenario, options));

    const first = search(scenario, 'rfc-2019');
    const again = search(scenario, 'rfc-2019'); // starts from the run the first left mid-execution
    const other = search(scenario, 'v5.0'); // another kernel: another run
    const back = search(scenario, 'rfc-2019');
    expect(again).toEqual(first);
    expect(back).toEqual(first);
    expect(search(load(), 'v5.0')).toEqual(other); // a fresh scenario object: a fresh run
    expect(first.executions).toBe(309);
    expect(first.finalStates).toHaveLength(30);
  });
});
