/**
 * mmu_notifier_register / unregister and mmu_interval_notifier_insert / remove (mm/mmu_notifier.c).
 * The first subscriber attaches a NotifierChain to the mm (mm->mmu_notifier_mm); until then every
 * notifier call site in mm/ is a no-op, as mm_has_notifiers() makes it in the kernel.
 */
import type { Errno, Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import { type Agent, type Path, runToCompletion } from '../sim/exec.js';
import { Access, FOOTPRINT, FootprintKind, note } from '../sim/footprint.js';
import { NotifierChain } from './chain.js';
import type { MmuIntervalNotifier, MmuNotifier } from './ops.js';

/** The mm's chain, created on first use. */
export function chainOf(k: Kernel, mm: Mm): NotifierChain {
  if (mm.notifiers instanceof NotifierChain) return mm.notifiers;
  const chain = new NotifierChain(k, mm);
  mm.notifiers = chain;
  return chain;
}

/**
 * mmu_notifier_register: null, or ESRCH when the mm is exiting. The kernel takes only a live mm
 * (BUG_ON(mm_users <= 0)); a driver whose process is gone finds it first (mmget_not_zero) and fails its
 * setup, as the model's setup paths answer: with an errno.
 */
export function mmuNotifierRegister(k: Kernel, mm: Mm, mn: MmuNotifier): Errno | null {
  if (mm.dead || mm.exiting) return 'ESRCH';
  chainOf(k, mm).add(mn);
  return null;
}

/** mmu_notifier_unregister: ->release (unless exit already ran it), then off the list. */
export function* mmuNotifierUnregister(k: Kernel, agent: Agent, mm: Mm, mn: MmuNotifier): Path {
  const chain = chainOf(k, mm);
  if (!chain.list.includes(mn)) return;
  if (mn.ops.release !== undefined) yield* mn.ops.release(agent, mm);
  chain.remove(mn);
}

/** mmu_interval_notifier_insert: null, or ESRCH when the mm is exiting (see mmuNotifierRegister). */
export function mmuIntervalNotifierInsert(k: Kernel, sub: MmuIntervalNotifier): Errno | null {
  if (sub.mm.dead || sub.mm.exiting) return 'ESRCH';
  chainOf(k, sub.mm).insertInterval(sub);
  return null;
}

export function mmuIntervalNotifierRemove(k: Kernel, agent: Agent, sub: MmuIntervalNotifier): void {
  runToCompletion(chainOf(k, sub.mm).removeInterval(agent, sub));
}

/** mmu_interval_set_seq: called by the subscriber's invalidate, under its own lock. */
export function mmuIntervalSetSeq(sub: MmuIntervalNotifier, curSeq: number): void {
  if (FOOTPRINT.on) note(FootprintKind.NotifierChain, sub.mm.id, 0, Access.Write);
  sub.invalidateSeq = curSeq;
}

/** mmu_interval_read_retry: must be called under the subscriber's lock. */
export function mmuIntervalReadRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  if (FOOTPRINT.on) note(FootprintKind.NotifierChain, sub.mm.id, 0, Access.Read);
  return sub.invalidateSeq !== seq;
}

/** mmu_interval_check_retry: a lockless hint. */
export function mmuIntervalCheckRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  if (FOOTPRINT.on) note(FootprintKind.NotifierChain, sub.mm.id, 0, Access.Read);
  return sub.invalidateSeq !== seq;
}

/** mmu_interval_read_begin. */
export function mmuIntervalReadBegin(k: Kernel, sub: MmuIntervalNotifier): Path<number> {
  return chainOf(k, sub.mm).readBegin(sub);
}
