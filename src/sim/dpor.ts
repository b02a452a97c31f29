/**
 * Dynamic partial-order reduction for the interleaving driver: a stateless search over the schedules of
 * the threads of each interleaved block (a scenario's `parallel` step) that runs one schedule per
 * Mazurkiewicz trace instead of every schedule, judging two transitions dependent when their footprints
 * (sim/footprint.ts, recorded by the state accessors) conflict.
 *
 * What it implements, with the papers:
 * - Races are found after each execution as in Flanagan and Godefroid, "Dynamic partial-order reduction
 *   for model checking software" (POPL 2005): for each transition j of thread p, the last earlier
 *   transition i of another thread that conflicts with j, may be co-enabled with it, and does not happen
 *   before p's previous transition. A transition that releases a lock it held when it began is never
 *   co-enabled with another thread's use of that lock (that thread was blocked), so such pairs are not
 *   races; the acquisitions are.
 * - The backtrack choice at the race's state is a source set's (Abdulla, Aronis, Jonsson and Sagonas,
 *   "Optimal dynamic partial order reduction", POPL 2014, Algorithm 1): nothing is added when an initial
 *   of v = notdep(i).j is already in the backtrack set; else one enabled initial; else (no initial can
 *   run there) every enabled thread, as Flanagan and Godefroid do.
 * - Sleep sets (Godefroid 1996): a thread explored from a state sleeps in its siblings' subtrees until a
 *   transition dependent with its own runs; an execution whose every enabled thread sleeps is abandoned.
 *
 * It explores every schedule, with no preemption bound: a bound makes sleep sets unsound (a sibling's
 * subtree, cut short by the bound, no longer covers what a sleeper would run) and backtracking at the
 * start of each preempted run (Coons, Musuvathi and McKinley, "Bounded partial-order reduction", OOPSLA
 * 2013) gives back most of the reduction; a bounded search caches trace classes instead
 * (sim/trace-cache-search.ts).
 *
 * The search knows nothing of memory management: threads are indices within a block, transitions are
 * footprints. It is driven like PreemptionBoundedSearch: begin() before each execution, choose() at each
 * decision, stepped() after each transition, next() after each execution.
 */
import { conflicts, type Footprint, FootprintKind, footprintKey, keyKind } from './footprint.js';
import type { Thread } from './scheduler.js';
import { type InterleavingSearch, PrefixInfeasible } from './search.js';

/** Thrown by choose() when every enabled thread sleeps: the execution repeats an explored trace. */
export class SleepSetBlocked extends Error {
  override name = 'SleepSetBlocked';
}

interface Node {
  readonly block: number;
  /** Thread indices enabled at this state. */
  readonly enabled: readonly number[];
  /** The thread that ran the previous transition of this block (-1 at the block's start). */
  readonly current: number;
  /** Threads asleep on entry, with the footprint of the transition each would run. */
  readonly sleep: Map<number, Footprint>;
  chosen: number;
  /** Footprint of the chosen thread's transition here (set by stepped()). */
  fp: Footprint | null;
  readonly backtrack: Set<number>;
  /** Threads explored from here, with their transitions' footprints. */
  readonly explored: Map<number, Footprint>;
}

export class DporSearch implements InterleavingSearch {
  private readonly nodes: Node[] = [];
  private depth = 0;
  private block = -1;
  private blockStart = 0;
  /**
   * `prefix`: choices every execution starts with (a task of a split search: the caller explores every
   * alternative above them, so no race backtracks there).
   */
  constructor(
    readonly prefix: readonly number[] = [],
    /** At each prefix decision, threads sibling tasks explore first there (they start asleep below). */
    readonly prefixExplored: readonly (readonly (readonly [number, Footprint])[])[] = [],
  ) {}

  /** Call before each execution. */
  begin(): void {
    this.depth = 0;
    this.block = -1;
  }

  /** A new interleaved block (a `parallel` step) begins. */
  beginBlock(): void {
    this.block++;
    this.blockStart = this.depth;
  }

  /** The decisions of the execution now running, as thread indices. */
  get schedule(): number[] {
    return this.nodes.slice(0, this.depth).map((n) => n.chosen);
  }

  choose = (ready: readonly Thread[], current: Thread | null, all: readonly Thread[]): Thread => {
    const cur = current === null ? -1 : all.indexOf(current);
    let node = this.nodes[this.depth];
    if (node === undefined)
      node = this.newNode(
        ready.map((t) => all.indexOf(t)),
        cur,
      );
    return all[node.chosen];
  };

  private newNode(enabled: number[], current: number): Node {
    const parent = this.depth > this.blockStart ? this.nodes[this.depth - 1] : undefined;
    const sleep = new Map<number, Footprint>();
    if (parent !== undefined && parent.fp !== null) {
      // the parent's sleepers and its earlier-explored threads stay asleep unless the parent's transition touched what they would
      for (const [t, fp] of parent.sleep)
        if (t !== parent.chosen && !conflicts(fp, parent.fp)) sleep.set(t, fp);
      for (const [t, fp] of parent.explored)
        if (t !== parent.chosen && !conflicts(fp, parent.fp)) sleep.set(t, fp);
    }
    const awake = enabled.filter((t) => !sleep.has(t));
    if (awake.length === 0) throw new SleepSetBlocked('every enabled thread sleeps');
    const fixed = this.depth < this.prefix.length ? this.prefix[this.depth] : -1;
    if (fixed >= 0 && !enabled.includes(fixed))
      throw new PrefixInfeasible(`thread ${fixed} cannot run at decision ${this.depth}`);
    // a task whose prefix runs a sleeping thread repeats a sibling task's schedules
    if (fixed >= 0 && sleep.has(fixed)) throw new SleepSetBlocked('the prefix runs a sleeping thread');
    const chosen = fixed >= 0 ? fixed : awake.includes(current) ? current : awake[0];
    const node: Node = {
      block: this.block,
      enabled,
      current,
      sleep,
      chosen,
      fp: null,
      backtrack: new Set([chosen]),
      explored: new Map(fixed >= 0 ? (this.prefixExplored[this.depth] ?? []) : []),
    };
    this.nodes.push(node);
    return node;
  }

  /** The transition just chosen ran, with this footprint. */
  readonly stepped = (fp: Footprint): void => {
    const node = this.nodes[this.depth];
    node.fp = fp;
    node.explored.set(node.chosen, fp);
    this.depth++;
  };

  /**
   * Call after each execution (complete or abandoned): finds its races, adds backtrack points, and moves
   * to the next execution. False when the search is exhausted.
   */
  next(): boolean {
    this.nodes.length = this.depth; // a node created by an abandoned choose() has no transition
    this.addBacktracks();
    for (let i = this.nodes.length - 1; i >= this.prefix.length; i--) {
      const n = this.nodes[i];
      const pick = this.pending(n);
      if (pick >= 0) {
        this.nodes.length = i + 1;
        n.chosen = pick;
        n.fp = null;
        return true;
      }
    }
    this.nodes.length = 0;
    return false;
  }

  /** A thread to explore next from `n`: in its backtrack set, not explored, not asleep. */
  private pending(n: Node): number {
    let best = -1;
    for (const t of n.backtrack) {
      if (n.explored.has(t) || n.sleep.has(t) || !n.enabled.includes(t)) continue;
      if (best < 0 || t < best) best = t;
    }
    return best;
  }

  // ---- race analysis over the execution just run ----

  private addBacktracks(): void {
    const nodes = this.nodes;
    const n = nodes.length;
    if (n === 0) return;
    let width = 0;
    for (const node of nodes) for (const t of node.enabled) width = Math.max(width, t + 1);
    width = Math.max(width, 1 + Math.max(...nodes.map((x) => x.chosen)));
    // vc[j][t]: the latest transition of thread t (as a node index) that happens before or is j
    const vc: Int32Array[] = [];
    // per thread, its latest node in the block of node j (blocks run one after another)
    const lastOf = new Int32Array(width).fill(-1);
    let block = n > 0 ? nodes[0].block : 0;
    for (let j = 0; j < n; j++) {
      const nj = nodes[j];
      const fj = nj.fp!;
      const p = nj.chosen;
      const clock = new Int32Array(width).fill(-1);
      if (nj.block !== block) {
        block = nj.block;
        lastOf.fill(-1);
      }
      const prev = lastOf[p];
      if (prev >= 0) join(clock, vc[prev]);
      const dependent: number[] = []; // latest first
      const before = prev >= 0 ? vc[prev] : null;
      for (let i = j - 1; i >= 0 && nodes[i].block === nj.block; i--) {
        const ni = nodes[i];
        if (ni.chosen === p) continue;
        // i happens before p's previous transition: in the clock already, and never a race partner of j
        // (Flanagan and Godefroid: the partner must not happen before p's previous transition)
        if (before !== null && before[ni.chosen] >= i) continue;
        if (!conflicts(ni.fp!, fj)) continue;
        join(clock, vc[i]);
        dependent.push(i);
      }
      clock[p] = j;
      vc.push(clock);
      lastOf[p] = j;
      for (const i of dependent) {
        if (!coEnabled(nodes[i].fp!, fj)) continue;
        this.reverse(i, j, vc);
        break;
      }
    }
  }

  /** Make the search try j's side before i at i's state. */
  private reverse(i: number, j: number, vc: readonly Int32Array[]): void {
    this.addChoice(i, this.initials(i, j, vc), this.nodes[j].chosen);
  }

  /**
   * The initials of v = notdep(i).j: threads whose first transition among those after i that do not
   * happen after i (then j) has no predecessor there.
   */
  private initials(i: number, j: number, vc: readonly Int32Array[]): Set<number> {
    const nodes = this.nodes;
    const ti = nodes[i].chosen;
    const v: number[] = [];
    for (let k = i + 1; k < j; k++) if (vc[k][ti] < i) v.push(k);
    v.push(j);
    const out = new Set<number>();
    const seen = new Set<number>();
    for (let a = 0; a < v.length; a++) {
      const k = v[a];
      const t = nodes[k].chosen;
      if (seen.has(t)) continue;
      seen.add(t);
      let first = true;
      for (let b = 0; b < a && first; b++) {
        const e = v[b];
        if (vc[k][nodes[e].chosen] >= e) first = false;
      }
      if (first) out.add(t);
    }
    return out;
  }

  private addChoice(at: number, initials: Set<number>, prefer: number): void {
    if (at < this.prefix.length) return; // every alternative there is a task of its own
    const node = this.nodes[at];
    for (const t of initials) if (node.backtrack.has(t)) return;
    const runnable = [...initials].filter((t) => node.enabled.includes(t));
    if (runnable.length > 0) {
      const awake = runnable.filter((t) => !node.sleep.has(t));
      const pool = awake.length > 0 ? awake : runnable;
      node.backtrack.add(pool.includes(prefer) ? prefer : Math.min(...pool));
      return;
    }
    for (const t of node.enabled) node.backtrack.add(t);
  }
}

function join(into: Int32Array, from: Int32Array): void {
  for (let t = 0; t < from.length; t++) if (from[t] > into[t]) into[t] = from[t];
}

/**
 * Whether the two transitions may be enabled at one state: not when the first releases a lock it held
 * when it began and the second takes or tests that lock (it was blocked until the release); for a lock
 * held shared, only a second that takes it exclusively (it reads the reader count, footprint.ts
 * noteTake) was blocked.
 */
function coEnabled(first: Footprint, second: Footprint): boolean {
  const held = first.keys;
  for (let a = 0; a < held.length; a++) {
    const key = held[a];
    const kind = keyKind(key);
    if (kind !== FootprintKind.LockHeld && kind !== FootprintKind.LockHeldShared) continue;
    const owner = key - kind + FootprintKind.Lock; // index 0 of the same serial
    if (
      kind === FootprintKind.LockHeld
        ? modesOf(second, owner) !== 0
        : (modesOf(second, owner + READERS) & READ) !== 0
    )
      return false;
  }
  return true;
}

/** Footprint mode bit (footprint.ts) of a read. */
const READ = 1;
/** From a lock's owner key to its reader-count key (index 1: footprintKey's index unit). */
const READERS = footprintKey(FootprintKind.Lock, 0, 1) - footprintKey(FootprintKind.Lock, 0, 0);

/** The mode bits `fp` has for `key` (0: none). */
function modesOf(fp: Footprint, key: number): number {
  let lo = 0;
  let hi = fp.keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = fp.keys[mid];
    if (k === key) return fp.modes[mid];
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}
