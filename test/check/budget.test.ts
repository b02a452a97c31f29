/**
 * `--max-executions` is a budget for the whole search, not an equal share per task: one task can hold
 * nearly all of a space (the racing vCPUs), and what the others leave unused goes to it. The report
 * still does not depend on the number of workers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CheckOptions, checkScenario, localRunner } from '../../src/check/check.js';
import type { CheckReport } from '../../src/check/counterexample.js';
import { loadScenario } from '../../src/check/hunt.js';
import { runCli } from '../cli/run-cli.js';

const RACE = 'bench/spin/race-vcpus-2.yaml';

function check(maxExecutions: number) {
  const scenario = loadScenario(RACE);
  const opts: CheckOptions = {
    file: RACE,
    text: readFileSync(RACE, 'utf8'),
    kernels: ['rfc-2019'],
    maxPreemptions: Number.POSITIVE_INFINITY,
    reduction: true,
    maxExecutions,
  };
  return checkScenario(scenario, opts, localRunner(scenario)).results[0];
}

describe('the execution budget', () => {
  const whole = check(1_000_000);

  it('is enough when it covers the whole search, however unevenly the tasks share it', () => {
    expect(whole.complete).toBe(true);
    const used = whole.executions + whole.abandoned;
    // an equal share per task would be far below what the largest task needs
    expect(whole.tasks).toBeGreaterThan(10);
    const exact = check(used);
    expect(exact.complete).toBe(true);
    expect(exact.executions).toBe(whole.executions);
    expect(exact.finalStateHashes).toEqual(whole.finalStateHashes);
  });

  it('stops the search at the budget, not at a task share of it', () => {
    const budget = Math.floor((whole.executions + whole.abandoned) * 0.6);
    const cut = check(budget);
    expect(cut.complete).toBe(false);
    expect(cut.stoppedBy).toBe(`--max-executions ${budget}`);
    const used = cut.executions + cut.abandoned;
    expect(used).toBeLessThanOrEqual(budget);
    expect(used).toBeGreaterThan(budget - cut.tasks);
  });

  it('gives the same report with workers when it stops the search', () => {
    const args = ['check', RACE, '--max-executions', '200', '--json'];
    const one = runCli(...args);
    const report = JSON.parse(one.out) as CheckReport;
    expect(report.results[0].complete).toBe(false);
    expect(runCli(...args, '--workers', '2').out).toBe(one.out);
  });
});
