/**
 * The primary MMU's notifier call sites: mmu_notifier_range_init, invalidate_range_start/end/only_end,
 * ptep_clear_flush(_notify), set_pte_at_notify (include/linux/mmu_notifier.h, v5.0/v5.2; pgtable-generic.c).
 * Each asks the kernel profile, so the same path behaves as v3.2, v5.0, the RFC or v6.10.
 */
import { PAGE_SIZE, vpnOf } from '../hw/page.js';
import { PTE_ACCESSED, pteMkold, ptePresent } from '../hw/pte.js';
import { type Agent, DONE, done, type Path } from '../sim/exec.js';
import { newEvent } from '../sim/log.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import {
  EVENT_NAMES,
  formatRangeFlags,
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFIER_USE_CHANGE_PTE,
  type MmuNotifierPort,
  type NotifierRange,
} from './notifier-port.js';
import type { Vma } from './vma.js';

/** mmu_notifier_range_init (v5.2 signature: event, flags, vma, mm, start, end). */
export function mmuNotifierRangeInit(
  by: string,
  event: number,
  flags: number,
  vma: Vma | null,
  mm: Mm,
  start: number,
  end: number,
): NotifierRange {
  return { by, event, flags, vma, mm, start, end };
}

/**
 * `invalidate_range_start BY` and `_end BY` by caller, made once each (the log hashes a string seen before
 * as a number). The last two callers of a phase are tried before the table: KSM's merges open ranges of
 * two callers by turns, millions of them in a long run.
 */
class CallNames {
  private readonly names = new Map<string, string>();
  private by1 = '';
  private what1 = '';
  private by2 = '';
  private what2 = '';

  constructor(private readonly prefix: string) {}

  of(by: string): string {
    if (by === this.by1) return this.what1;
    const by1 = this.by1;
    const what1 = this.what1;
    let what: string | undefined;
    if (by === this.by2) what = this.what2;
    else {
      what = this.names.get(by);
      if (what === undefined) {
        what = `${this.prefix} ${by}`;
        this.names.set(by, what);
      }
    }
    this.by1 = by;
    this.what1 = what;
    this.by2 = by1;
    this.what2 = what1;
    return what;
  }
}
const callNames = { B: new CallNames('invalidate_range_start'), E: new CallNames('invalidate_range_end') };

function logNotify(k: Kernel, agent: Agent, range: NotifierRange, phase: 'B' | 'E'): void {
  if (!k.recording) return;
  const what = callNames[phase].of(range.by);
  const e = newEvent(agent.name, agent.cpu, 'notify', what, range.mm.id, range.start, range.end);
  e.event = EVENT_NAMES[range.event];
  e.flags = formatRangeFlags(range.flags);
  e.detail = range.by;
  e.phase = phase;
  k.log(e);
}

/** No subscriber refused the range (what invalidate_range_start returns with nobody to call). */
const STARTED: Path<number> = done(0);

/**
 * mmu_notifier_invalidate_range_start: tell every subscriber the range is about to change. Returns the
 * chain's path (0, or the error of a non-blockable start), or at once when the mm has no subscriber.
 */
export function mmuNotifierInvalidateRangeStart(k: Kernel, agent: Agent, range: NotifierRange): Path<number> {
  if (k.forceUseChangePteAt.has(range.by)) range.flags |= MMU_NOTIFIER_USE_CHANGE_PTE;
  if (range.flags & MMU_NOTIFIER_USE_CHANGE_PTE) k.notifierCounters.useChangePte.inc();
  for (const o of k.observers) o.onRangeStart?.(agent, range);
  const port = range.mm.notifiers;
  if (port === null) return STARTED;
  range.flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
  logNotify(k, agent, range, 'B');
  return port.invalidateRangeStart(agent, range);
}

/*
 * The call sites below return a complete path when nothing can make them wait (no subscriber to call),
 * as an uncontended lock() does: ksmd and the fault paths pass through them millions of times. Only the
 * rest of a call site that has to wait is a generator (no closure per call either: under tsx every
 * closure is renamed when it is made).
 */

/** mmu_notifier_invalidate_range_end (with ->invalidate_range) or, with onlyEnd, _only_end (without). */
export function mmuNotifierInvalidateRangeEnd(
  k: Kernel,
  agent: Agent,
  range: NotifierRange,
  onlyEnd = false,
): Path {
  const port = range.mm.notifiers;
  if (port === null) {
    rangeEnded(k, agent, range);
    return DONE;
  }
  // v6.6+ has no ->invalidate_range at end: secondary TLBs follow the CPU flush instead
  const only = onlyEnd || !k.profile.hasInvalidateRange || k.profile.secondaryTlbsFollowCpuFlush;
  return invalidateRangeEndThenLog(k, agent, range, port.invalidateRangeEnd(agent, range, only));
}

function* invalidateRangeEndThenLog(k: Kernel, agent: Agent, range: NotifierRange, end: Path): Path {
  yield* end;
  logNotify(k, agent, range, 'E');
  rangeEnded(k, agent, range);
}

function rangeEnded(k: Kernel, agent: Agent, range: NotifierRange): void {
  for (const o of k.observers) o.onRangeEnd?.(agent, range);
}

/** The pte cleared (its old value returned), as ptep_clear_flush does before its flush. */
function clearPte(k: Kernel, agent: Agent, mm: Mm, address: number): number {
  const old = mm.pt.get(vpnOf(address));
  k.writePte(agent, mm, address, 0, 'ptep_clear_flush');
  return old;
}

/** ptep_clear_flush: clear the pte and flush the CPU TLBs; returns the old pte. No notifier. */
export function ptepClearFlush(k: Kernel, agent: Agent, mm: Mm, address: number): Path<number> {
  const old = clearPte(k, agent, mm, address);
  const flush = k.flushTlbRange(agent, mm, address, address + PAGE_SIZE);
  return flush === DONE ? done(old) : flushThenReturn(flush, old);
}

function* flushThenReturn(flush: Path, old: number): Path<number> {
  yield* flush;
  return old;
}

/** ptep_clear_flush_notify: ptep_clear_flush, then ->invalidate_range for the page (doc case B). */
export function ptepClearFlushNotify(k: Kernel, agent: Agent, mm: Mm, address: number): Path<number> {
  const port = mm.notifiers;
  if (port === null || !k.profile.hasInvalidateRange || k.profile.secondaryTlbsFollowCpuFlush)
    return ptepClearFlush(k, agent, mm, address);
  return clearFlushInvalidate(k, agent, port, mm, address);
}

function* clearFlushInvalidate(
  k: Kernel,
  agent: Agent,
  port: MmuNotifierPort,
  mm: Mm,
  address: number,
): Path<number> {
  const old = yield* ptepClearFlush(k, agent, mm, address);
  yield* port.invalidateRange(agent, mm, address, address + PAGE_SIZE);
  return old;
}

/**
 * set_pte_at_notify: ->change_pte first, then the store ("the secondary MMU must be updated first").
 * v6.10 has neither: a plain set_pte_at.
 */
export function setPteAtNotify(k: Kernel, agent: Agent, mm: Mm, address: number, pte: number): Path {
  if (!k.profile.hasChangePte) {
    k.writePte(agent, mm, address, pte, 'set_pte_at');
    return DONE;
  }
  const notify = mmuNotifierChangePte(k, agent, mm, address, pte);
  if (notify !== DONE) return changePteThenSet(k, agent, mm, address, pte, notify);
  k.writePte(agent, mm, address, pte, 'set_pte_at_notify');
  return DONE;
}

function* changePteThenSet(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  address: number,
  pte: number,
  notify: Path,
): Path {
  yield* notify;
  k.writePte(agent, mm, address, pte, 'set_pte_at_notify');
}

/** mmu_notifier_change_pte: tell every subscriber that the pte at `address` becomes `pte` (no store). */
export function mmuNotifierChangePte(k: Kernel, agent: Agent, mm: Mm, address: number, pte: number): Path {
  if (mm.notifiers === null) return DONE;
  if (k.recording) {
    const e = newEvent(agent.name, agent.cpu, 'notify', 'change_pte', mm.id, address);
    e.newPte = pte;
    k.log(e);
  }
  return mm.notifiers.changePte(agent, mm, address, pte);
}

/**
 * ptep_clear_flush_young_notify (include/linux/mmu_notifier.h): test-and-clear the pte's accessed bit,
 * flush the CPU TLB if it was set, then ask every secondary MMU (clear_flush_young); young if any was.
 * Used by page_referenced (reclaim) and idle-page tracking.
 */
export function* ptepClearFlushYoungNotify(k: Kernel, agent: Agent, mm: Mm, address: number): Path<boolean> {
  let young = ptepTestAndClearYoung(k, agent, mm, address);
  if (young) yield* k.flushTlbRange(agent, mm, address, address + PAGE_SIZE);
  if (mm.notifiers !== null)
    young = (yield* mm.notifiers.clearFlushYoung(agent, mm, address, address + PAGE_SIZE)) || young;
  return young;
}

/** ptep_clear_young_notify: as above without any TLB flush (the secondaries may skip theirs too). */
export function* ptepClearYoungNotify(k: Kernel, agent: Agent, mm: Mm, address: number): Path<boolean> {
  let young = ptepTestAndClearYoung(k, agent, mm, address);
  if (mm.notifiers !== null)
    young = (yield* mm.notifiers.clearYoung(agent, mm, address, address + PAGE_SIZE)) || young;
  return young;
}

/** mmu_notifier_test_young: is the page young in any secondary MMU (without clearing)? */
export function* mmuNotifierTestYoung(mm: Mm, agent: Agent, address: number): Path<boolean> {
  if (mm.notifiers === null) return false;
  return yield* mm.notifiers.testYoung(agent, mm, address);
}

/** ptep_test_and_clear_young: the hardware accessed bit, cleared in place (no pte writer is involved). */
function ptepTestAndClearYoung(k: Kernel, agent: Agent, mm: Mm, address: number): boolean {
  const vpn = vpnOf(address);
  const pte = mm.pt.get(vpn);
  if (!ptePresent(pte) || (pte & PTE_ACCESSED) === 0) return false;
  mm.pt.set(vpn, pteMkold(pte));
  if (k.recording) {
    k.log(newEvent(agent.name, agent.cpu, 'pte', 'ptep_test_and_clear_young', mm.id, address));
  }
  return true;
}
