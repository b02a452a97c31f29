/**
 * Livelocks: retry loops that can cycle forever under a fair schedule (a KVM fault retried while
 * invalidations keep coming, hmm_range_fault's -EBUSY loop, an SVA device faulting on an IOTLB entry
 * nobody flushes). The model bounds every such loop so a run ends; this module finds the cycle before
 * the bound does. A function of one execution's scheduling decisions: at every decision taken while
 * some thread waits at the head of a retry loop (a `retryPoint`), the caller records the global state's
 * fingerprint (check/fingerprint.ts). A livelock is a pair of decisions i < j with the same fingerprint
 * such that only retrying threads ran in between and every thread enabled in between ran (weak
 * fairness): the segment i..j can then repeat forever, and no thread leaves its loop.
 */

/** One scheduling decision of an execution. */
export interface LivelockDecision {
  /** The thread chosen to run next. */
  thread: number;
  /** The threads that could have run. */
  enabled: readonly number[];
  /** The threads paused at a retry point at this decision. */
  retrying: readonly number[];
  /** Where the chosen thread was paused. */
  label: string;
  /** Global state fingerprint (thread positions included) before the step; taken only while retrying. */
  state?: string;
}

export interface Livelock {
  /** The threads that cycle. */
  threads: number[];
  /** The cycle: decisions [from, to) repeat forever, returning to the state of decision `from`. */
  from: number;
  to: number;
  /** The threads chosen in the cycle, in order, and where each was paused. */
  cycle: { thread: number; label: string }[];
}

/** The first cycle among one execution's decisions (in order), or null. */
export function findLivelock(decisions: readonly LivelockDecision[]): Livelock | null {
  const seen = new Map<string, number>();
  for (let j = 0; j < decisions.length; j++) {
    const state = decisions[j].state;
    if (state === undefined) continue;
    const i = seen.get(state);
    seen.set(state, j);
    if (i === undefined || i === j) continue;
    const segment = decisions.slice(i, j);
    const ran = new Set(segment.map((d) => d.thread));
    const retrying = new Set(decisions[i].retrying);
    // only threads that were retrying ran, and every thread enabled in the cycle ran (weak fairness)
    if (![...ran].every((t) => retrying.has(t))) continue;
    if (!segment.every((d) => d.enabled.every((t) => ran.has(t)))) continue;
    return {
      threads: [...ran].sort((a, b) => a - b),
      from: i,
      to: j,
      cycle: segment.map((d) => ({ thread: d.thread, label: d.label })),
    };
  }
  return null;
}

/** One line: who cycles, and through which pauses. */
export function describeLivelock(l: Livelock): string {
  const steps = l.cycle.map((c) => `thread ${c.thread} at '${c.label}'`).join(', then ');
  return `thread${l.threads.length > 1 ? 's' : ''} ${l.threads.join(', ')} retr${l.threads.length > 1 ? 'y' : 'ies'} forever: decisions ${l.from}..${l.to} of the schedule return to the same state (${steps}), and no other thread can run`;
}
