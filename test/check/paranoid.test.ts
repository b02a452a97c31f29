/**
 * `mmsim check --paranoid`: the full sweep of every invariant also runs at the quiescent points inside
 * the `parallel` block (without it, only at the end of each execution), and the search reaches the same
 * final states either way.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { searchScenario } from '../../src/check/search.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { World } from '../../src/scenario/world.js';

const FILE = 'examples/20-race-fault-vs-merge.yaml';

function search(paranoid: boolean) {
  const parsed = parseScenario(readFileSync(FILE, 'utf8'), FILE);
  if (!parsed.ok) throw new Error(`${FILE} does not parse`);
  const sweeps = vi.spyOn(World.prototype, 'checkAll');
  const outcome = searchScenario(parsed.scenario, {
    maxPreemptions: Number.POSITIVE_INFINITY,
    reduction: true,
    maxExecutions: 1_000,
    paranoid,
  });
  const calls = sweeps.mock.calls.length;
  sweeps.mockRestore();
  return { outcome, calls };
}

afterEach(() => vi.restoreAllMocks());

describe('check --paranoid', () => {
  it('sweeps inside the block as well as at the end of each execution, and reaches the same states', () => {
    const plain = search(false);
    const paranoid = search(true);
    expect(plain.outcome.complete).toBe(true);
    expect(paranoid.outcome.complete).toBe(true);
    expect([...paranoid.outcome.finalStates].sort()).toEqual([...plain.outcome.finalStates].sort());
    // at least one sweep per execution at its end; paranoid adds the block's quiescent points
    expect(plain.calls).toBeGreaterThanOrEqual(plain.outcome.executions);
    expect(paranoid.calls).toBeGreaterThan(plain.calls);
  });
});
