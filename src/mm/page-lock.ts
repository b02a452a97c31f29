/** PG_locked as a model lock: created when first needed, one per frame (lock_page / trylock_page). */
import { type Agent, DONE, Lock, lock, type Path, tryLock, unlock } from '../sim/exec.js';
import type { Kernel } from './kernel.js';

interface PageLocks {
  locks: Map<number, Lock>;
  /**
   * Pages locked through trylockPage that have no Lock object yet: pfn -> owner's agent id (0: none).
   * Made with the state (a snapshot then holds it: made after one, every execution made it again).
   */
  marks: Int32Array;
  /** The agents that took such locks, by id. */
  owners: Map<number, Agent>;
}

const all = new WeakMap<Kernel, PageLocks>();
let lastKernel: Kernel | null = null;
let lastState: PageLocks | null = null;

function stateOf(k: Kernel): PageLocks {
  if (k === lastKernel) return lastState!;
  let s = all.get(k);
  if (s === undefined)
    all.set(k, (s = { locks: new Map(), marks: k.frames.perFrame(Int32Array), owners: new Map() }));
  lastKernel = k;
  lastState = s;
  return s;
}

export function pageLock(k: Kernel, pfn: number): Lock {
  const s = stateOf(k);
  let l = s.locks.get(pfn);
  if (l === undefined) {
    s.locks.set(pfn, (l = new Lock(`page${pfn}.lock`)));
    // locked through trylockPage: the new Lock object starts out held by that agent
    if (s.marks[pfn] !== 0) {
      l.owner = s.owners.get(s.marks[pfn])!;
      s.marks[pfn] = 0;
    }
  }
  return l;
}

/**
 * trylock_page for a path that locks millions of pages briefly (ksmd): the same lock as pageLock's,
 * but no Lock object is made unless another path asks for this page's lock while it is held.
 */
export function trylockPage(k: Kernel, agent: Agent, pfn: number): boolean {
  const s = stateOf(k);
  const l = s.locks.get(pfn);
  if (l !== undefined) return tryLock(agent, l);
  const marks = s.marks;
  if (marks[pfn] !== 0) return false;
  marks[pfn] = agent.id;
  if (s.owners.get(agent.id) !== agent) s.owners.set(agent.id, agent);
  return true;
}

/** lock_page (include/linux/pagemap.h v5.0): trylock_page, else sleep until the page lock is free. */
export function lockPage(k: Kernel, agent: Agent, pfn: number): Path {
  return trylockPage(k, agent, pfn) ? DONE : lock(agent, pageLock(k, pfn));
}

/** unlock_page, for a page locked with trylockPage or pageLock. */
export function unlockPage(k: Kernel, agent: Agent, pfn: number): void {
  const s = stateOf(k);
  if (s.marks[pfn] === agent.id) s.marks[pfn] = 0;
  else unlock(agent, pageLock(k, pfn));
}

/**
 * The page-lock state of `k` (kept beside the Kernel, not in it): a World snapshot includes it, so a
 * restore also puts back the page locks made and taken since.
 */
export function pageLockState(k: Kernel): object {
  return stateOf(k);
}
