/** Preemption-bounded exhaustive search over the scheduler's choices. */
import { describe, expect, it } from 'vitest';
import { type Path, preemptPoint } from '../../src/sim/exec.js';
import { Scheduler } from '../../src/sim/scheduler.js';
import { PreemptionBoundedSearch } from '../../src/sim/search.js';

const P = preemptPoint('toy');

function* steps(log: string[], name: string, n: number): Path {
  for (let i = 0; i < n; i++) {
    log.push(`${name}${i}`);
    if (i < n - 1) yield P;
  }
}

function explore(maxPreemptions: number): Set<string> {
  const seen = new Set<string>();
  const search = new PreemptionBoundedSearch(maxPreemptions);
  for (;;) {
    search.begin();
    const log: string[] = [];
    const sched = new Scheduler();
    sched.add('a', steps(log, 'a', 3));
    sched.add('b', steps(log, 'b', 3));
    sched.runWith((ready, current) => search.choose(ready, current, sched.threads));
    seen.add(log.join(' '));
    if (!search.next()) break;
  }
  return seen;
}

describe('PreemptionBoundedSearch', () => {
  it('with no bound it runs every interleaving exactly once: C(6,3) = 20 for two threads of 3 steps', () => {
    const all = explore(9);
    expect(all.size).toBe(20);
  });

  it('with no preemption allowed only the two serial orders run; each extra preemption adds schedules', () => {
    expect([...explore(0)].sort()).toEqual(['a0 a1 a2 b0 b1 b2', 'b0 b1 b2 a0 a1 a2']);
    const one = explore(1);
    expect(one.size).toBeGreaterThan(2);
    expect(one.size).toBeLessThan(20);
    for (const s of explore(0)) expect(one.has(s)).toBe(true);
  });
});
