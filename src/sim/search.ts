/**
 * Preemption-bounded exhaustive exploration (stateless model checking in the style of CHESS): every
 * interleaving of a scenario's `parallel` threads that switches away from a runnable thread at most
 * `maxPreemptions` times is run from scratch, by depth-first search over the scheduler's choices.
 * Switching when the running thread blocks or finishes is free. Runs are deterministic, so a choice
 * prefix always reproduces the same states.
 */
import type { Footprint } from './footprint.js';
import type { Thread } from './scheduler.js';

/** What drives an interleaved block for the model checker: a choice at every pause. */
export interface InterleavingSearch {
  choose(ready: readonly Thread[], current: Thread | null, all: readonly Thread[]): Thread;
  /** Present when the search needs what each transition read and wrote (partial-order reduction). */
  readonly stepped?: (footprint: Footprint) => void;
  /** A new interleaved block (a `parallel` step) begins. */
  beginBlock?(): void;
}

interface Frame {
  /** Thread indices to try here, the non-preemptive default first. */
  options: number[];
  tried: number;
}

export interface ExploreResult {
  runs: number;
  /** False if maxRuns stopped the search before every schedule was tried. */
  complete: boolean;
}

/** A chooser for Scheduler.runWith that follows the current DFS branch. */
/** A search told to start with a prefix of choices that this scenario cannot take (a task of a split search). */
export class PrefixInfeasible extends Error {
  override name = 'PrefixInfeasible';
}

export class PreemptionBoundedSearch implements InterleavingSearch {
  private readonly stack: Frame[] = [];
  private depth = 0;
  private preemptions = 0;
  runs = 0;

  /** `prefix`: choices every schedule starts with (a task of a split search); the search varies what follows. */
  constructor(
    readonly maxPreemptions: number,
    readonly prefix: readonly number[] = [],
  ) {}

  /** Call before each run. */
  begin(): void {
    this.depth = 0;
    this.preemptions = 0;
  }

  choose = (ready: readonly Thread[], current: Thread | null, all: readonly Thread[]): Thread => {
    const idx = ready.map((t) => all.indexOf(t));
    const cur = current === null ? -1 : all.indexOf(current);
    const curRunnable = idx.includes(cur);
    let frame = this.stack[this.depth];
    if (frame === undefined && this.depth < this.prefix.length) {
      const fixed = this.prefix[this.depth];
      if (!idx.includes(fixed))
        throw new PrefixInfeasible(`thread ${fixed} cannot run at decision ${this.depth}`);
      frame = { options: [fixed], tried: 0 };
      this.stack.push(frame);
    }
    if (frame === undefined) {
      const def = curRunnable ? cur : idx[0];
      const alternatives =
        curRunnable && this.preemptions >= this.maxPreemptions ? [] : idx.filter((i) => i !== def);
      frame = { options: [def, ...alternatives], tried: 0 };
      this.stack.push(frame);
    }
    const choice = frame.options[frame.tried];
    if (curRunnable && choice !== cur) this.preemptions++;
    this.depth++;
    return all[choice];
  };

  /** Call after each run: moves to the next schedule; false when every schedule has been run. */
  next(): boolean {
    this.runs++;
    this.stack.length = Math.min(this.stack.length, this.depth);
    while (
      this.stack.length > 0 &&
      this.stack[this.stack.length - 1].tried + 1 >= this.stack[this.stack.length - 1].options.length
    ) {
      this.stack.pop();
    }
    if (this.stack.length === 0) return false;
    this.stack[this.stack.length - 1].tried++;
    return true;
  }
}
