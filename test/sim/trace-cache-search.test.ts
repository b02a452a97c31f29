/**
 * The trace-class cache (sim/trace-class.ts, sim/trace-cache-search.ts) on toy threads whose transitions
 * are given footprints: equivalent prefixes get one name, the search explores each class once and in
 * order of preemptions, and where no two schedules are equivalent it runs exactly the plain search's.
 */
import { describe, expect, it } from 'vitest';
import { Access, type Footprint, FootprintKind, footprintKey } from '../../src/sim/footprint.js';
import type { Thread } from '../../src/sim/scheduler.js';
import { PreemptionBoundedSearch } from '../../src/sim/search.js';
import { AlreadyExplored, TraceCacheSearch } from '../../src/sim/trace-cache-search.js';
import { TraceClass } from '../../src/sim/trace-class.js';

/** A footprint writing the given frames. */
function writes(...frames: number[]): Footprint {
  const keys = Float64Array.from(frames.map((f) => footprintKey(FootprintKind.Frame, 1, f))).sort();
  return { keys, modes: new Uint8Array(keys.length).fill(1 << Access.Write) };
}

/** Each toy thread is its transitions' footprints; a thread ends after its last. */
type Toy = Footprint[][];

interface Explored {
  /** Schedules run to the end, as "a0 b0 a1 ...". */
  completed: string[];
  /** Preemptions of each completed schedule, in the order they ran. */
  preemptions: number[];
  pruned: number;
}

function explore(toy: Toy, search: TraceCacheSearch | PreemptionBoundedSearch): Explored {
  const threads = toy.map(() => ({}) as Thread);
  const out: Explored = { completed: [], preemptions: [], pruned: 0 };
  for (;;) {
    search.begin();
    if (search instanceof TraceCacheSearch) search.beginBlock();
    const next = toy.map(() => 0);
    const log: string[] = [];
    let current: Thread | null = null;
    let preemptions = 0;
    let completed = true;
    try {
      for (;;) {
        const ready = threads.filter((_, i) => next[i] < toy[i].length);
        if (ready.length === 0) break;
        const chosen: Thread = search.choose(ready, current, threads);
        if (current !== null && chosen !== current && ready.includes(current)) preemptions++;
        const t = threads.indexOf(chosen);
        log.push(`${'ab'[t]}${next[t]}`);
        if (search instanceof TraceCacheSearch) search.stepped(toy[t][next[t]]);
        next[t]++;
        current = chosen;
      }
    } catch (e) {
      if (!(e instanceof AlreadyExplored)) throw e;
      completed = false;
      out.pruned++;
    }
    if (completed) {
      out.completed.push(log.join(' '));
      out.preemptions.push(preemptions);
    }
    if (!search.next()) break;
  }
  return out;
}

describe('TraceClass', () => {
  it('names two orders of independent transitions alike, and two orders of conflicting ones apart', () => {
    const key = (steps: [number, Footprint][], block = 0) => {
      const c = new TraceClass();
      for (const [thread, fp] of steps) c.push(block, thread, fp);
      return c.key(0);
    };
    const x = writes(1);
    const z = writes(3);
    const y = writes(2);
    expect(
      key([
        [0, x],
        [1, z],
      ]),
    ).toBe(
      key([
        [1, z],
        [0, x],
      ]),
    );
    expect(
      key([
        [0, y],
        [1, y],
      ]),
    ).not.toBe(
      key([
        [1, y],
        [0, y],
      ]),
    );
    expect(
      key([
        [0, x],
        [1, y],
        [0, y],
      ]),
    ).not.toBe(
      key([
        [0, x],
        [0, y],
        [1, y],
      ]),
    );
    expect(key([[0, x]], 0)).not.toBe(key([[0, x]], 1));
    expect(key([[0, x]])).not.toBe(
      key([
        [0, x],
        [0, x],
      ]),
    );
  });
});

describe('TraceCacheSearch', () => {
  const independent: Toy = [
    [writes(1), writes(2), writes(3)],
    [writes(11), writes(12), writes(13)],
  ];
  const dependent: Toy = [
    [writes(1), writes(1), writes(1)],
    [writes(1), writes(1), writes(1)],
  ];

  it('runs two threads that touch nothing in common in at most two executions, where the plain search runs all 20', () => {
    expect(explore(independent, new PreemptionBoundedSearch(9)).completed).toHaveLength(20);
    const cached = explore(independent, new TraceCacheSearch(9));
    expect(cached.completed.length).toBeLessThanOrEqual(2);
    expect(cached.pruned).toBeGreaterThan(0);
  });

  it('runs exactly the plain search’s schedules where every pair of transitions conflicts', () => {
    for (const bound of [0, 1, 2, 3]) {
      const plain = explore(dependent, new PreemptionBoundedSearch(bound)).completed.sort();
      const cached = explore(dependent, new TraceCacheSearch(bound)).completed.sort();
      expect(cached).toEqual(plain);
    }
  });

  it('explores in order of preemptions, never past the bound', () => {
    const r = explore(dependent, new TraceCacheSearch(2));
    expect(r.preemptions[0]).toBe(0);
    for (let i = 1; i < r.preemptions.length; i++)
      expect(r.preemptions[i]).toBeGreaterThanOrEqual(r.preemptions[i - 1]);
    expect(Math.max(...r.preemptions)).toBe(2);
  });

  it('reaches every order of the conflicting transitions when others are independent', () => {
    // a writes x then y; b writes y then z: the classes differ only in who writes y first
    const toy: Toy = [
      [writes(1), writes(2)],
      [writes(2), writes(3)],
    ];
    const firstOnY = (s: string) => (s.indexOf('a1') < s.indexOf('b0') ? 'a' : 'b');
    const plain = new Set(explore(toy, new PreemptionBoundedSearch(9)).completed.map(firstOnY));
    const cached = explore(toy, new TraceCacheSearch(9));
    expect(new Set(cached.completed.map(firstOnY))).toEqual(plain);
    expect(plain.size).toBe(2);
  });
});
