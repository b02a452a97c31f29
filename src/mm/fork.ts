/**
 * fork(2): dup_mmap → copy_page_range (kernel/fork.c, mm/memory.c v5.0). Private writable pages are
 * write-protected in both mms inside a PROTECTION_PAGE range on the parent; the parent's TLB is flushed
 * at the end (flush_tlb_mm). Profiles with forkCopiesPinnedPages (v5.9+) give the child its own copy of
 * a page that may be pinned for DMA, so the parent keeps the page its device writes to.
 */

import { PG_ANON_EXCLUSIVE } from '../hw/frames.js';
import { vpnAddress, vpnOf } from '../hw/page.js';
import {
  mkPte,
  pteBits,
  pteMkclean,
  pteMkold,
  ptePfn,
  pteSpecial,
  pteWrite,
  pteWrprotect,
} from '../hw/pte.js';
import { type Agent, lock, type Path, preempt, preemptPoint, unlock } from '../sim/exec.js';
import { doExit } from './exit.js';
import type { Errno, Kernel, Task } from './kernel.js';
import type { KsmHooks } from './ksm-port.js';
import { ksmForkZeroPages } from './ksm-zero.js';
import type { Mm } from './mm.js';
import { MMU_NOTIFY_PROTECTION_PAGE } from './notifier-port.js';
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './notify.js';
import { VM_DONTFORK, VM_SHARED, Vma } from './vma.js';

const P_VMA_COPIED = preemptPoint('dup_mmap: one vma copied');

/** page_maybe_dma_pinned (v5.8+): the refcount carries at least one pin bias. */
function pageMaybeDmaPinned(k: Kernel, pfn: number): boolean {
  const bias = k.profile.pinBias;
  return bias > 1 && k.frames.refcountOf(pfn) >= bias;
}

/** copy_page_range for one vma (copy_one_pte per entry). Caller holds both mmap_sems. */
function* copyPageRange(
  k: Kernel,
  agent: Agent,
  parent: Mm,
  child: Mm,
  src: Vma,
  dst: Vma,
): Path<Errno | null> {
  const cow = src.isCowMapping();
  const range = mmuNotifierRangeInit(
    'copy_page_range',
    MMU_NOTIFY_PROTECTION_PAGE,
    0,
    src,
    parent,
    src.start,
    src.end,
  );
  if (cow) yield* mmuNotifierInvalidateRangeStart(k, agent, range);
  yield* lock(agent, parent.ptl);
  yield* lock(agent, child.ptl);
  let err: Errno | null = null;
  const entries: { vpn: number; pte: number }[] = [];
  parent.pt.forEachMapped(vpnOf(src.start), vpnOf(src.end), (vpn, pte) => entries.push({ vpn, pte }));
  for (const { vpn, pte: orig } of entries) {
    let pte = orig;
    if (pteSpecial(pte)) {
      child.pt.set(vpn, pte); // the zero page: shared, never counted
      continue;
    }
    const pfn = ptePfn(pte);
    if (cow && k.profile.forkCopiesPinnedPages && pageMaybeDmaPinned(k, pfn)) {
      // copy_present_page (v5.9+): the child gets its own copy now; the parent's pte is left alone
      const copy = k.allocPage(k.frames.contentOf(pfn));
      if (copy < 0) {
        err = 'ENOMEM';
        break;
      }
      k.pageAddNewAnonRmap(copy, dst, vpnAddress(vpn));
      k.frames.setFlags(copy, PG_ANON_EXCLUSIVE);
      child.pt.set(vpn, mkPte(copy, pteBits(pte)));
      continue;
    }
    if (cow && pteWrite(pte)) {
      k.writePte(agent, parent, vpnAddress(vpn), pteWrprotect(pte), 'ptep_set_wrprotect');
      pte = pteWrprotect(pte);
    }
    if (src.flags & VM_SHARED) pte = pteMkclean(pte);
    pte = pteMkold(pte);
    k.getPage(pfn);
    k.pageDupRmap(pfn, child);
    k.frames.clearFlags(pfn, PG_ANON_EXCLUSIVE); // now shared with the child
    child.pt.set(vpn, pte);
  }
  unlock(agent, child.ptl);
  unlock(agent, parent.ptl);
  if (cow) yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
  return err;
}

/** fork(2): a new task `childName` whose mm is a copy-on-write duplicate of `parent`'s (dup_mmap). */
export function* doFork(
  k: Kernel,
  agent: Agent,
  parent: Task,
  childName: string,
  ksm: KsmHooks | null,
): Path<Task | Errno> {
  const pm = parent.mm;
  yield* lock(agent, pm.mmapLock);
  const child = k.spawn(childName);
  const cm = child.mm;
  let err: Errno | null = null;
  try {
    for (const src of pm.vmas) {
      if (src.flags & VM_DONTFORK) continue;
      const dst = new Vma(
        k.newVmaId(),
        cm,
        src.start,
        src.end,
        src.flags,
        src.anonVma,
        src.shmem,
        src.shmemPgoff,
      );
      // anon_vma_fork: the child's vma joins the parent's anon_vma (the model keeps one anon_vma per family)
      if (dst.anonVma !== null) {
        dst.anonVma.join(dst);
        dst.anonId = k.anonVmas.newIdentity(); // anon_vma_fork: the child's own, chained to the parent's
        dst.forkChild = true;
      }
      if (dst.shmem !== null) dst.shmem.users++;
      cm.insertVma(dst);
      // copy_page_range (v5.0) / vma_needs_copy (v5.16+): a vma without anon_vma has no anonymous page
      // to copy (only zero-page ptes, or shmem pages the child faults in again): the child starts empty
      if (src.anonVma !== null) {
        err = yield* copyPageRange(k, agent, pm, cm, src, dst);
        if (err !== null) break;
      }
      yield* preempt(P_VMA_COPIED);
    }
    yield* k.flushTlbRange(agent, pm, 0, 2 ** 47); // flush_tlb_mm(oldmm)
    ksmForkZeroPages(k, pm, cm); // ksm_fork's part in include/linux/ksm.h
    if (ksm !== null) ksm.fork(pm, cm);
    for (const o of k.observers) o.onFork?.(pm, cm);
  } finally {
    unlock(agent, pm.mmapLock);
  }
  if (err !== null) {
    // dup_mmap failed: copy_process drops the half-built mm (mmput -> exit_mmap) and no child exists
    yield* doExit(k, child.agent, child, null);
    k.tasks.delete(childName);
    return err;
  }
  return child;
}
