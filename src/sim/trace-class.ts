/**
 * The Mazurkiewicz trace class of an execution prefix, as a hash kept up to date transition by
 * transition. Two prefixes that order every pair of conflicting transitions (sim/footprint.ts) alike are
 * the same trace and reach the same state; each transition is named by its thread, its place in its
 * thread, and its vector clock (how many transitions of every thread happen before it), and the class is
 * the sum of those names' hashes, so it does not depend on the order of independent transitions. This is
 * what lets a search cache the classes it has explored (sim/trace-cache-search.ts), as CHESS caches
 * happens-before graphs (Musuvathi and Qadeer, "Iterative context bounding for systematic testing of
 * multithreaded programs", PLDI 2007, section 4.3).
 *
 * Clocks are within a block (a `parallel` step): blocks run one after another, and the block's number is
 * part of each transition's name.
 */
import { conflicts, type Footprint } from './footprint.js';
import { finish, mix } from './hash.js';

interface Transition {
  readonly block: number;
  readonly thread: number;
  /** 1 for the thread's first transition in its block, 2 for the next, ... */
  readonly position: number;
  readonly footprint: Footprint;
  /** clock[u]: how many of thread u's transitions in this block happen before this one (or are it). */
  readonly clock: readonly number[];
  /** The class hash of the prefix ending with this transition, two 32-bit lanes. */
  readonly lo: number;
  readonly hi: number;
}

export class TraceClass {
  private readonly transitions: Transition[] = [];

  get length(): number {
    return this.transitions.length;
  }

  /** Forget every transition after the first `length` (the search went back to that prefix). */
  truncate(length: number): void {
    this.transitions.length = Math.min(this.transitions.length, length);
  }

  /** The transition that ran next. */
  push(block: number, thread: number, footprint: Footprint): void {
    const ts = this.transitions;
    let first = ts.length;
    while (first > 0 && ts[first - 1].block === block) first--;
    let previous: Transition | undefined;
    for (let k = ts.length - 1; k >= first && previous === undefined; k--)
      if (ts[k].thread === thread) previous = ts[k];
    const clock = previous === undefined ? [] : previous.clock.slice();
    // latest first: a transition already ordered before this one needs no conflict test
    for (let k = ts.length - 1; k >= first; k--) {
      const other = ts[k];
      if (other.thread === thread || (clock[other.thread] ?? 0) >= other.position) continue;
      if (conflicts(other.footprint, footprint)) {
        join(clock, other.clock);
      }
    }
    const position = (previous?.position ?? 0) + 1;
    clock[thread] = position;
    let lo = mix(0x9e3779b9, block, thread);
    let hi = mix(0x85ebca6b, block, thread);
    for (let u = 0; u < clock.length; u++) {
      const c = clock[u] ?? 0;
      if (c === 0) continue;
      lo = mix(lo, u, c);
      hi = mix(hi, c, u);
    }
    const before = ts.length > 0 ? ts[ts.length - 1] : undefined;
    ts.push({
      block,
      thread,
      position,
      footprint,
      clock,
      lo: ((before?.lo ?? 0) + finish(lo)) >>> 0,
      hi: ((before?.hi ?? 0) + finish(hi)) >>> 0,
    });
  }

  /** The class of the whole prefix, mixed with `salt` (what else the state depends on), as a 53-bit number. */
  key(salt: number): number {
    const ts = this.transitions;
    const last = ts.length > 0 ? ts[ts.length - 1] : undefined;
    const lo = finish(mix(last?.lo ?? 0, salt, ts.length));
    const hi = finish(mix(last?.hi ?? 0, ts.length, salt));
    return (hi >>> 11) * 0x100000000 + lo;
  }
}

function join(into: number[], from: readonly number[]): void {
  for (let u = 0; u < from.length; u++) if ((from[u] ?? 0) > (into[u] ?? 0)) into[u] = from[u];
}
