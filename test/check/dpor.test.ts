/**
 * Partial-order reduction is tested, not assumed: on every example with `parallel` and on every seeded
 * bug (with and without its switch), the reduced search reaches exactly the set of final states the
 * unreduced search reaches at the same bound, and finds the same problems. Each case runs with no bound
 * (source-DPOR with sleep sets, sim/dpor.ts) where the unreduced space is small enough to exhaust, and at
 * one and two preemptions (the trace-class cache, sim/trace-cache-search.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUGS } from '../../src/check/bugs.js';
import { searchScenario } from '../../src/check/search.js';
import type { ProfileOverrides } from '../../src/kernel/profiles.js';
import type { Scenario } from '../../src/scenario/ast.js';
import { parseScenario } from '../../src/scenario/parse.js';

function load(file: string): Scenario {
  const r = parseScenario(readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error(`${file} does not parse`);
  return r.scenario;
}

const hasParallel = (file: string) => /^\s*- parallel:/m.test(readFileSync(file, 'utf8'));

interface Case {
  name: string;
  file: string;
  set?: ProfileOverrides;
  /** Infinity: exhaust both searches. */
  bound: number;
}

/** Unreduced spaces too large to exhaust in a unit test: compared under a bound only. */
const LARGE = new Set(['examples/18-parallel-race.yaml', 'examples/bugs/kvm-no-notifier-retry.yaml']);

const cases: Case[] = [];
function addCases(name: string, file: string, set?: ProfileOverrides): void {
  for (const bound of LARGE.has(file) ? [1, 2] : [Number.POSITIVE_INFINITY, 1, 2])
    cases.push({ name, file, set, bound });
}
for (const f of readdirSync('examples').filter((x) => /\.ya?ml$/.test(x))) {
  const file = join('examples', f);
  if (hasParallel(file)) addCases(file, file);
}
for (const bug of BUGS) {
  addCases(`${bug.id} (clean)`, bug.scenario, bug.base);
  addCases(`${bug.id} (with its switch)`, bug.scenario, bug.set);
}

describe('the reduced search reaches what the unreduced one reaches', () => {
  it('covers every example with parallel and every catalogued bug', () => {
    expect(cases.filter((c) => !c.name.includes('(')).length).toBeGreaterThanOrEqual(2 * 2);
    expect(cases.length).toBeGreaterThanOrEqual(2 * (2 + 2 * BUGS.length));
    expect(cases.filter((c) => Number.isFinite(c.bound)).length).toBeGreaterThan(cases.length / 2);
  });
  for (const c of cases) {
    it(`${c.name}${Number.isFinite(c.bound) ? `, at most ${c.bound} preemption(s)` : ', no bound'}`, () => {
      const scenario = load(c.file);
      const run = (reduction: boolean) =>
        searchScenario(scenario, {
          maxPreemptions: c.bound,
          reduction,
          maxExecutions: 100_000,
          file: c.file,
          profileOverrides: c.set,
        });
      const reduced = run(true);
      const plain = run(false);
      expect(reduced.complete && plain.complete).toBe(true);
      expect([...reduced.finalStates].sort()).toEqual([...plain.finalStates].sort());
      expect([...reduced.problems.keys()].sort()).toEqual([...plain.problems.keys()].sort());
      expect(reduced.executions).toBeLessThanOrEqual(plain.executions);
    }, 300_000);
  }
});
