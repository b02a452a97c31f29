/**
 * A search over the schedules of the interleaved blocks that never explores one Mazurkiewicz trace class
 * twice: at each new decision it names the class of the prefix run so far (sim/trace-class.ts) and
 * abandons the execution when that class was already explored, as CHESS does with happens-before graphs
 * (Musuvathi and Qadeer, "Iterative context bounding for systematic testing of multithreaded programs",
 * PLDI 2007, sections 3 and 4.3).
 *
 * Schedules are explored in order of preemptions, as in that paper: all with none first, then all with
 * one, and so on, a preemptive choice being put off to the next round as the prefix that takes it. A
 * class is thus first reached with the fewest preemptions it can be reached with, and never explored
 * again; a depth-first search over a preemption bound would explore a class again each time it reached
 * it with fewer preemptions than before.
 *
 * Why it is sound: two prefixes of one class reach the same world and leave every thread at the same
 * point, so what can follow one can follow the other. With a preemption bound the thread that ran last,
 * when it can go on, is part of the name (it decides what the next switch costs). Whatever else the
 * state of the execution holds (the retry-loop bookkeeping of check/search.ts) comes in as `salt`, and
 * must itself be a function of the class.
 *
 * Unlike source sets and sleep sets (sim/dpor.ts) it stays sound under a preemption bound, and it merges
 * schedules that a partial-order reduction over a tree cannot: every interleaving of two independent runs
 * of transitions meets again in one class.
 */
import type { Footprint } from './footprint.js';
import { mix } from './hash.js';
import type { Thread } from './scheduler.js';
import { type InterleavingSearch, PrefixInfeasible } from './search.js';
import { TraceClass } from './trace-class.js';

/** Thrown by choose() when the prefix's class was explored already. */
export class AlreadyExplored extends Error {
  override name = 'AlreadyExplored';
}

interface Frame {
  /** Thread indices to try here in this round (the running thread alone, or every ready one when it cannot go on). */
  readonly options: readonly number[];
  tried: number;
}

export class TraceCacheSearch implements InterleavingSearch {
  /** The prefix the current round's item starts with (replayed), and the frames of the search below it. */
  private base: readonly number[];
  private readonly frames: Frame[] = [];
  /** This round's items still to explore, and the next round's (one more preemption each). */
  private queue: (readonly number[])[] = [];
  private later: (readonly number[])[] = [];
  /** The choice at every decision of the execution now running. */
  private readonly path: number[] = [];
  private readonly trace = new TraceClass();
  /** Class keys explored. */
  private readonly visited = new Set<number>();
  private depth = 0;
  private block = -1;
  /** Preemptions taken by the execution now running. */
  preemptions = 0;
  /** What else the execution's future depends on (set by the search's owner; 0 when nothing). */
  salt: () => number = () => 0;

  private readonly bounded: boolean;

  /** `prefix`: choices every schedule starts with (a task of a split search); the search varies what follows. */
  constructor(
    readonly maxPreemptions = Number.POSITIVE_INFINITY,
    readonly prefix: readonly number[] = [],
  ) {
    this.bounded = Number.isFinite(maxPreemptions);
    this.base = prefix;
  }

  /** Call before each execution. */
  begin(): void {
    this.depth = 0;
    this.block = -1;
    this.preemptions = 0;
  }

  beginBlock(): void {
    this.block++;
  }

  choose = (ready: readonly Thread[], current: Thread | null, all: readonly Thread[]): Thread => {
    const cur = current === null ? -1 : all.indexOf(current);
    const idx = ready.map((t) => all.indexOf(t));
    const curRunnable = idx.includes(cur);
    let choice: number;
    if (this.depth < this.base.length) {
      choice = this.base[this.depth];
      if (!idx.includes(choice)) {
        if (this.depth < this.prefix.length)
          throw new PrefixInfeasible(`thread ${choice} cannot run at decision ${this.depth}`);
        throw new Error(`trace-cache search: replay of decision ${this.depth} diverged`);
      }
    } else {
      const at = this.depth - this.base.length;
      let frame = this.frames[at];
      if (frame === undefined) frame = this.newFrame(idx, cur, curRunnable);
      choice = frame.options[frame.tried];
    }
    if (curRunnable && choice !== cur) this.preemptions++;
    this.path[this.depth] = choice;
    return all[choice];
  };

  private newFrame(idx: number[], cur: number, curRunnable: boolean): Frame {
    // the thread that ran last matters only when it could go on and another could run instead (switching
    // away from it is then a preemption); a class explored where every choice was free covers it too
    const salt = this.salt();
    const free = this.trace.key(mix(salt, -1, 0x2545f491));
    const key =
      this.bounded && curRunnable && idx.length > 1 ? this.trace.key(mix(salt, cur, 0x2545f491)) : free;
    if (this.visited.has(key) || this.visited.has(free))
      throw new AlreadyExplored('this trace class was explored');
    this.visited.add(key);
    let options: number[];
    if (!curRunnable) options = idx;
    else {
      options = [cur];
      if (this.preemptions < this.maxPreemptions)
        for (const t of idx) if (t !== cur) this.later.push([...this.path.slice(0, this.depth), t]);
    }
    const frame = { options, tried: 0 };
    this.frames.push(frame);
    return frame;
  }

  /** The transition just chosen ran, with this footprint (a replayed one is known already). */
  readonly stepped = (fp: Footprint): void => {
    if (this.depth >= this.trace.length) this.trace.push(this.block, this.path[this.depth], fp);
    this.depth++;
  };

  /** Call after each execution (complete or abandoned): moves to the next schedule; false when done. */
  next(): boolean {
    const below = this.depth - this.base.length;
    this.frames.length = Math.max(0, Math.min(this.frames.length, below));
    while (this.frames.length > 0) {
      const top = this.frames[this.frames.length - 1];
      if (top.tried + 1 < top.options.length) {
        top.tried++;
        this.trace.truncate(this.base.length + this.frames.length - 1);
        return true;
      }
      this.frames.pop();
    }
    // this item is done: the next one of this round, or of the next round
    if (this.queue.length === 0 && this.later.length > 0) {
      this.queue = this.later.reverse();
      this.later = [];
    }
    const item = this.queue.pop();
    if (item === undefined) return false;
    let common = 0;
    while (common < item.length && common < this.depth && item[common] === this.path[common]) common++;
    this.trace.truncate(common);
    this.base = item;
    return true;
  }
}
