/**
 * Splitting a search into tasks: every distinct prefix of the first few scheduling decisions is a task,
 * explored below it by the reduced (or plain) search and never above it. The top levels are enumerated
 * whole, so the tasks together cover the space, and a task's races that would backtrack above its prefix
 * are covered by its siblings. The split depends only on the scenario, the kernel and the what-if fields
 * (never on the number of workers or shards), so a split run, a sharded run merged, and a run with any
 * number of workers explore the same executions and give the same report.
 */
import type { Scenario } from '../scenario/ast.js';
import type { Footprint } from '../sim/footprint.js';
import type { Thread } from '../sim/scheduler.js';
import type { InterleavingSearch } from '../sim/search.js';
import { type ForkedRun, type ForkOptions, forkedRun } from './forked-run.js';

/** Enough tasks to share among workers and shards; deeper prefixes give up more reduction. */
const ENOUGH_TASKS = 16;
const MAX_DEPTH = 3;
/**
 * With no bound, the first task is split this many levels further: sleep sets make the first child of
 * every decision the one that explores most (its later siblings start with it asleep), so the first task
 * held nearly the whole space (6,681 of the 3-vCPU race's 6,696 executions) and workers had nothing to
 * share. Under a bound each task keeps its own class cache, and more tasks would repeat more classes.
 */
const FIRST_TASK_DEPTH = 12;

/** The options of the run the tasks' executions start from (check/forked-run.ts), and the bound. */
export interface TaskOptions extends ForkOptions {
  maxPreemptions: number;
}

class ReachedDepth extends Error {}

/** A task: its prefix of choices, and at each prefix decision the threads its earlier siblings ran first. */
export interface Task {
  readonly prefix: readonly number[];
  /**
   * At each decision of the prefix, the threads that sibling tasks explore there before this task's
   * choice, with the footprints of their transitions: they start asleep (sim/dpor.ts), since those
   * siblings cover every schedule that runs them first.
   */
  readonly explored: readonly (readonly (readonly [number, Footprint])[])[];
}

interface Probe {
  /** Threads that could run at the decision after the prefix (null: the run ended first). */
  enabled: number[] | null;
  /** Footprint of the prefix's last transition. */
  last: Footprint | null;
}

/**
 * Follow `prefix` and look at the next decision, from the run at the first `parallel` step that the
 * tasks' executions start from too (check/forked-run.ts).
 */
function probe(forked: ForkedRun, prefix: readonly number[]): Probe {
  let depth = 0;
  const found: Probe = { enabled: null, last: null };
  const search: InterleavingSearch = {
    choose(ready: readonly Thread[], current: Thread | null, all: readonly Thread[]): Thread {
      if (depth === prefix.length) {
        found.enabled = ready.map((t) => all.indexOf(t));
        throw new ReachedDepth();
      }
      const t = all[prefix[depth++]];
      return ready.includes(t) ? t : (current ?? ready[0]);
    },
    stepped: (fp) => {
      found.last = fp;
    },
  };
  forked.rewind();
  try {
    forked.run.runFrom(forked.fork, { search });
  } catch (e) {
    if (!(e instanceof ReachedDepth)) throw e;
  }
  return found;
}

function preemptions(prefix: readonly number[], next: number, enabledBefore: readonly number[]): number {
  const cur = prefix[prefix.length - 1];
  return prefix.length > 0 && next !== cur && enabledBefore.includes(cur) ? 1 : 0;
}

interface Node extends Task {
  readonly preemptions: number;
  readonly enabled: number[] | null;
}

/** The tasks, in a canonical order (by prefix). */
export function splitTasks(scenario: Scenario, opts: TaskOptions): Task[] {
  const forked = forkedRun(scenario, opts); // the run the tasks' searches start from too
  let frontier: Node[] = [{ prefix: [], explored: [], preemptions: 0, enabled: probe(forked, []).enabled }];
  const leaves: Node[] = [];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (frontier.length + leaves.length >= ENOUGH_TASKS) break;
    const next: Node[] = [];
    for (const node of frontier) {
      if (node.enabled === null) leaves.push(node);
      else next.push(...children(forked, node, opts));
    }
    frontier = next;
  }
  if (!Number.isFinite(opts.maxPreemptions)) {
    for (let depth = 0; depth < FIRST_TASK_DEPTH && frontier[0]?.enabled != null; depth++)
      frontier = [...children(forked, frontier[0], opts), ...frontier.slice(1)];
  }
  return [...leaves, ...frontier]
    .map(({ prefix, explored }) => ({ prefix, explored }))
    .sort((a, b) => comparePrefixes(a.prefix, b.prefix));
}

/** A node's children, one per thread that can run there within the bound, each with its earlier siblings asleep. */
function children(forked: ForkedRun, node: Node, opts: TaskOptions): Node[] {
  const enabled = node.enabled!;
  const kids: { thread: number; cost: number; probe: Probe }[] = [];
  for (const thread of enabled) {
    const cost = node.preemptions + preemptions(node.prefix, thread, enabled);
    if (cost <= opts.maxPreemptions)
      kids.push({ thread, cost, probe: probe(forked, [...node.prefix, thread]) });
  }
  return kids.map((kid, i) => ({
    prefix: [...node.prefix, kid.thread],
    explored: [...node.explored, kids.slice(0, i).map((k) => [k.thread, k.probe.last!] as const)],
    preemptions: kid.cost,
    enabled: kid.probe.enabled,
  }));
}

function comparePrefixes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
