/** PG_locked as a model lock: created when first needed, one per frame (lock_page / trylock_page). */
import { Lock } from '../sim/exec.js';
import type { Kernel } from './kernel.js';

const locks = new WeakMap<Kernel, Map<number, Lock>>();

export function pageLock(k: Kernel, pfn: number): Lock {
  let m = locks.get(k);
  if (m === undefined) locks.set(k, (m = new Map()));
  let l = m.get(pfn);
  if (l === undefined) m.set(pfn, (l = new Lock(`page${pfn}.lock`)));
  return l;
}
