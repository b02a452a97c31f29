/** PG_locked as a model lock: created when first needed, one per frame (lock_page / trylock_page). */
import { type Agent, Lock, tryLock, unlock } from '../sim/exec.js';
import type { Kernel } from './kernel.js';

const locks = new WeakMap<Kernel, Map<number, Lock>>();
/** Pages locked through trylockPage that have no Lock object yet: pfn -> owner's agent id (0: none). */
const marks = new WeakMap<Kernel, Int32Array>();
/** The agents that took such locks, by id. */
const owners = new WeakMap<Kernel, Map<number, Agent>>();

function marksOf(k: Kernel): Int32Array {
  let mk = marks.get(k);
  if (mk === undefined) marks.set(k, (mk = new Int32Array(k.frames.count)));
  return mk;
}

export function pageLock(k: Kernel, pfn: number): Lock {
  let m = locks.get(k);
  if (m === undefined) locks.set(k, (m = new Map()));
  let l = m.get(pfn);
  if (l === undefined) {
    m.set(pfn, (l = new Lock(`page${pfn}.lock`)));
    // locked through trylockPage: the new Lock object starts out held by that agent
    const mk = marks.get(k);
    if (mk !== undefined && mk[pfn] !== 0) {
      l.owner = owners.get(k)!.get(mk[pfn])!;
      mk[pfn] = 0;
    }
  }
  return l;
}

/**
 * trylock_page for a path that locks millions of pages briefly (ksmd): the same lock as pageLock's,
 * but no Lock object is made unless another path asks for this page's lock while it is held.
 */
export function trylockPage(k: Kernel, agent: Agent, pfn: number): boolean {
  const l = locks.get(k)?.get(pfn);
  if (l !== undefined) return tryLock(agent, l);
  const mk = marksOf(k);
  if (mk[pfn] !== 0) return false;
  mk[pfn] = agent.id;
  let byId = owners.get(k);
  if (byId === undefined) owners.set(k, (byId = new Map()));
  if (byId.get(agent.id) !== agent) byId.set(agent.id, agent);
  return true;
}

/** unlock_page, for a page locked with trylockPage or pageLock. */
export function unlockPage(k: Kernel, agent: Agent, pfn: number): void {
  const mk = marks.get(k);
  if (mk !== undefined && mk[pfn] === agent.id) mk[pfn] = 0;
  else unlock(agent, pageLock(k, pfn));
}
