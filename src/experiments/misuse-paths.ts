/**
 * A kernel path no kernel has: replace a *writable* pte by a new read-only page inside a range that
 * carries MMU_NOTIFIER_USE_CHANGE_PTE (RW→RO with a new pfn, the transition every version of the RFC
 * forbids). It is written like replace_page (mm/ksm.c v5.0) minus the write-protect step, so the
 * flag-misuse experiment can show what goes wrong when a secondary MMU trusts the flag there.
 */
import { PAGE_SIZE } from '../hw/page.js';
import { mkPte, PTE_RW, pteBits, ptePfn } from '../hw/pte.js';
import type { Kernel } from '../mm/kernel.js';
import { anonVmaPrepare } from '../mm/memory.js';
import { MMU_NOTIFIER_USE_CHANGE_PTE, MMU_NOTIFY_CLEAR } from '../mm/notifier-port.js';
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  ptepClearFlush,
  setPteAtNotify,
} from '../mm/notify.js';
import type { Vma } from '../mm/vma.js';
import { type Agent, lock, type Path, preempt, preemptPoint, unlock } from '../sim/exec.js';

export const P_MISUSE_CLEARED = preemptPoint('replace_writable_page: pte cleared, before set_pte_at_notify');

export function* replaceWritablePage(k: Kernel, agent: Agent, vma: Vma, address: number): Path<boolean> {
  const mm = vma.mm;
  const vpn = Math.floor(address / PAGE_SIZE);
  const range = mmuNotifierRangeInit(
    'replace_writable_page',
    MMU_NOTIFY_CLEAR,
    MMU_NOTIFIER_USE_CHANGE_PTE,
    vma,
    mm,
    vpn * PAGE_SIZE,
    vpn * PAGE_SIZE + PAGE_SIZE,
  );
  yield* mmuNotifierInvalidateRangeStart(k, agent, range);
  yield* lock(agent, mm.ptl);
  const orig = mm.pt.get(vpn);
  if (orig === 0 || (orig & PTE_RW) === 0) {
    unlock(agent, mm.ptl);
    yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
    return false;
  }
  const oldPfn = ptePfn(orig);
  anonVmaPrepare(k, vma);
  const newPfn = k.allocPage(k.frames.contentOf(oldPfn));
  yield* ptepClearFlush(k, agent, mm, vpn * PAGE_SIZE);
  yield* preempt(P_MISUSE_CLEARED);
  k.pageAddNewAnonRmap(newPfn, vma, vpn * PAGE_SIZE);
  yield* setPteAtNotify(k, agent, mm, vpn * PAGE_SIZE, mkPte(newPfn, pteBits(orig) & ~PTE_RW));
  k.pageRemoveRmap(oldPfn, mm);
  k.putPage(oldPfn);
  unlock(agent, mm.ptl);
  yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
  return true;
}
