/**
 * Page-fault handling for anonymous and shared-anonymous memory, modelled on mm/memory.c of v5.0
 * (v6.10 differences — PageAnonExclusive reuse — come from the profile). Every function is a path:
 * it yields at preemption points and waits for the locks it takes.
 */

import { ZERO_CONTENT } from '../hw/content.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_KSM, ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE, vpnAddress, vpnOf } from '../hw/page.js';
import {
  mkPte,
  PTE_ACCESSED,
  PTE_RW,
  PTE_SPECIAL,
  pteMkdirty,
  pteMkwrite,
  pteMkyoung,
  ptePfn,
  pteSpecial,
  pteWrite,
} from '../hw/pte.js';
import { type Agent, lock, type Path, preempt, preemptPoint, unlock } from '../sim/exec.js';
import {
  isUnshareFault,
  isWriteFault,
  VM_FAULT_DONE,
  VM_FAULT_OOM,
  type VmFault,
  type VmFaultResult,
} from './fault.js';
import type { Kernel } from './kernel.js';
import { ksmMightUnmapZeroPage } from './ksm-zero.js';
import { MMU_NOTIFIER_USE_CHANGE_PTE, MMU_NOTIFY_CLEAR } from './notifier-port.js';
import {
  mmuNotifierChangePte,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  ptepClearFlush,
  ptepClearFlushNotify,
  setPteAtNotify,
} from './notify.js';
import { pageLock, trylockPage, unlockPage } from './page-lock.js';
import { VM_SHARED, VM_WRITE, type Vma } from './vma.js';

const P_ANON_ALLOC = preemptPoint('do_anonymous_page: page allocated, before the ptl');
const P_PTE_READ = preemptPoint('handle_pte_fault: pte read, before the ptl');
const P_COPY_DONE = preemptPoint('wp_page_copy: page copied, before the ptl');
const P_SHARED = preemptPoint('do_shared_fault: page found, before the ptl');
const P_CHANGE_PTE_SENT = preemptPoint('wp_page_copy: change_pte sent, old pte not yet cleared');

/** A vma's prot for new ptes: vm_page_prot plus the accessed bit x86's protection_map carries. */
export function newPteBits(vma: Vma): number {
  return vma.pageProt() | PTE_ACCESSED;
}

/** handle_mm_fault → handle_pte_fault (mm/memory.c v5.0). Caller holds mmap_sem for read. */
export function handleMmFault(
  k: Kernel,
  agent: Agent,
  vma: Vma,
  address: number,
  flags: number,
): Path<VmFaultResult> {
  const mm = vma.mm;
  const vmf: VmFault = {
    vma,
    mm,
    address: vpnAddress(vpnOf(address)),
    flags,
    origPte: 0,
    ptl: mm.ptl,
  };
  return handlePteFault(k, agent, vmf);
}

/**
 * handle_pte_fault (mm/memory.c v5.0): no pte yet goes to do_anonymous_page or do_shared_fault, a
 * present pte to the rest of it. It only chooses: the handler's path is the fault's (no generator of its own).
 */
function handlePteFault(k: Kernel, agent: Agent, vmf: VmFault): Path<VmFaultResult> {
  vmf.origPte = vmf.mm.pt.get(vpnOf(vmf.address));
  if (vmf.origPte === 0) {
    if (vmf.vma.shmem !== null) return doSharedFault(k, agent, vmf);
    return doAnonymousPage(k, agent, vmf);
  }
  return handlePresentPte(k, agent, vmf);
}

/** handle_pte_fault on a present pte: a write to a read-only pte (do_wp_page), or an access-flag update. */
function* handlePresentPte(k: Kernel, agent: Agent, vmf: VmFault): Path<VmFaultResult> {
  const { mm } = vmf;
  const vpn = vpnOf(vmf.address);
  yield* preempt(P_PTE_READ);
  yield* lock(agent, vmf.ptl);
  const pte = mm.pt.get(vpn);
  if (pte !== vmf.origPte) {
    unlock(agent, vmf.ptl); // someone else changed it: let the access retry
    return VM_FAULT_DONE;
  }
  const write = isWriteFault(vmf);
  if ((write || isUnshareFault(vmf)) && !pteWrite(pte)) return yield* doWpPage(k, agent, vmf);
  let entry = pteMkyoung(pte);
  if (write) entry = pteMkdirty(entry);
  if (entry !== pte) k.writePte(agent, mm, vmf.address, entry, 'ptep_set_access_flags');
  unlock(agent, vmf.ptl);
  return VM_FAULT_DONE;
}

/**
 * do_anonymous_page (mm/memory.c v5.0): the zero page on a read, a fresh zeroed page on a write. No
 * notifier. The two halves are paths of their own, so each is small enough for V8 to inline the
 * page-table and lock accessors it calls; this only chooses, as the kernel's
 * `if (!(vmf->flags & FAULT_FLAG_WRITE) ...)` does.
 */
export function doAnonymousPage(k: Kernel, agent: Agent, vmf: VmFault): Path<VmFaultResult> {
  return isWriteFault(vmf) ? anonNewPage(k, agent, vmf) : anonZeroPage(k, agent, vmf);
}

/** do_anonymous_page on a read: map the shared zero page, read-only and special (`goto setpte`). */
function* anonZeroPage(k: Kernel, agent: Agent, vmf: VmFault): Path<VmFaultResult> {
  const { mm, vma } = vmf;
  const entry = mkPte(ZERO_PFN, (newPteBits(vma) | PTE_SPECIAL) & ~PTE_RW);
  yield* lock(agent, vmf.ptl);
  if (mm.pt.get(vpnOf(vmf.address)) === 0) {
    k.writePte(agent, mm, vmf.address, entry, 'set_pte_at');
    k.faultCounters.anonReadZero.inc();
  }
  unlock(agent, vmf.ptl);
  return VM_FAULT_DONE;
}

/** do_anonymous_page on a write: a new zeroed page, mapped writable and dirty. */
function* anonNewPage(k: Kernel, agent: Agent, vmf: VmFault): Path<VmFaultResult> {
  const { mm, vma } = vmf;
  anonVmaPrepare(k, vma);
  const pfn = k.allocPage(ZERO_CONTENT);
  if (pfn < 0) return VM_FAULT_OOM;
  let entry = mkPte(pfn, newPteBits(vma));
  if (vma.flags & VM_WRITE) entry = pteMkwrite(pteMkdirty(entry));
  yield* preempt(P_ANON_ALLOC);
  yield* lock(agent, vmf.ptl);
  if (mm.pt.get(vpnOf(vmf.address)) !== 0) {
    unlock(agent, vmf.ptl);
    k.putPage(pfn);
    return VM_FAULT_DONE;
  }
  k.pageAddNewAnonRmap(pfn, vma, vmf.address);
  k.frames.setFlags(pfn, PG_ANON_EXCLUSIVE);
  k.writePte(agent, mm, vmf.address, entry, 'set_pte_at');
  k.faultCounters.anonWrite.inc();
  unlock(agent, vmf.ptl);
  return VM_FAULT_DONE;
}

/** anon_vma_prepare: a private vma gets its anon_vma on first anonymous page. */
export function anonVmaPrepare(k: Kernel, vma: Vma): void {
  if (vma.anonVma !== null) return;
  vma.anonVma = k.anonVmas.create(vpnOf(vma.start));
  vma.anonVma.join(vma);
  vma.anonId = k.anonVmas.newIdentity();
}

/**
 * do_wp_page (mm/memory.c v5.0), entered with the ptl held on a write to a present read-only pte:
 * reuse the page if this mapping is its only user (never a KSM page), else copy it. An unshare fault
 * (v5.19+) does the same but leaves the pte read-only: a reusable page is only marked exclusive.
 */
export function* doWpPage(k: Kernel, agent: Agent, vmf: VmFault): Path<VmFaultResult> {
  const { mm, vma } = vmf;
  const vpn = vpnOf(vmf.address);
  const orig = vmf.origPte;
  const pfn = ptePfn(orig);
  if (pteSpecial(orig)) {
    unlock(agent, mm.ptl);
    return yield* wpPageCopy(k, agent, vmf, -1);
  }
  const f = k.frames;
  const flags = f.flagsOf(pfn);
  const unshare = isUnshareFault(vmf);
  if (vma.flags & VM_SHARED) {
    if (unshare) {
      unlock(agent, mm.ptl); // no anonymous page in a shared mapping: nothing to unshare
      return VM_FAULT_DONE;
    }
    // wp_page_shared: a shared writable mapping just becomes writable
    yield* wpPageReuse(k, agent, vmf);
    return VM_FAULT_DONE;
  }
  if (flags & PG_ANON && !(flags & PG_KSM)) {
    if (k.profile.wpReuse === 'anon-exclusive') {
      if (flags & PG_ANON_EXCLUSIVE || f.refcountOf(pfn) === 1) {
        f.setFlags(pfn, PG_ANON_EXCLUSIVE);
        if (unshare) {
          unlock(agent, mm.ptl); // exclusive now: nothing left to unshare
          return VM_FAULT_DONE;
        }
        yield* wpPageReuse(k, agent, vmf);
        return VM_FAULT_DONE;
      }
    } else {
      if (!trylockPage(k, agent, pfn)) {
        // drop the ptl, sleep on the page lock, re-check the pte
        k.getPage(pfn);
        unlock(agent, mm.ptl);
        yield* lock(agent, pageLock(k, pfn));
        yield* lock(agent, mm.ptl);
        if (mm.pt.get(vpn) !== orig) {
          unlock(agent, mm.ptl);
          unlockPage(k, agent, pfn);
          k.putPage(pfn);
          return VM_FAULT_DONE;
        }
        k.putPage(pfn);
      }
      // reuse_swap_page(): no swap in the model, so "the only mapping" is the test
      if (f.mapcount(pfn) === 1) {
        unlockPage(k, agent, pfn);
        yield* wpPageReuse(k, agent, vmf);
        return VM_FAULT_DONE;
      }
      unlockPage(k, agent, pfn);
    }
  }
  k.getPage(pfn);
  unlock(agent, mm.ptl);
  return yield* wpPageCopy(k, agent, vmf, pfn);
}

/**
 * wp_page_reuse (mm/memory.c v5.0): make the pte writable in place. No mmu-notifier call at all —
 * secondary MMUs keep their read-only translation (v6.6+ profiles tell secondary TLBs, as the 2023 fix did).
 * Caller holds the ptl; this releases it.
 */
export function* wpPageReuse(k: Kernel, agent: Agent, vmf: VmFault): Path {
  const { mm, vma, address } = vmf;
  let entry = pteMkdirty(pteMkyoung(vmf.origPte));
  if (vma.flags & VM_WRITE) entry = pteMkwrite(entry);
  k.writePte(agent, mm, address, entry, 'ptep_set_access_flags');
  k.faultCounters.cowReuse.inc();
  unlock(agent, mm.ptl);
  // the 2023 fix (arm64 ptep_set_access_flags → arch_invalidate_secondary_tlbs), on v6.6+ profiles
  if (k.profile.secondaryTlbsFollowCpuFlush && mm.notifiers !== null) {
    yield* mm.notifiers.cpuTlbFlushed(agent, mm, address, address + PAGE_SIZE);
  }
}

/**
 * wp_page_copy (mm/memory.c v5.0): copy the page (or take a zeroed one for the zero page), then inside
 * an invalidation range: ptep_clear_flush_notify, set_pte_at_notify, invalidate_range_only_end.
 * `oldPfn` is -1 for the zero page; otherwise the caller holds a reference that this drops.
 */
export function* wpPageCopy(k: Kernel, agent: Agent, vmf: VmFault, oldPfn: number): Path<VmFaultResult> {
  const { mm, vma, address } = vmf;
  const vpn = vpnOf(address);
  const orig = vmf.origPte;
  const f = k.frames;
  const p = k.profile;
  anonVmaPrepare(k, vma);
  const newPfn = k.allocPage(oldPfn < 0 ? ZERO_CONTENT : f.contentOf(oldPfn)); // cow_user_page before any notifier
  if (newPfn < 0) {
    if (oldPfn >= 0) k.putPage(oldPfn);
    return VM_FAULT_OOM;
  }
  const wasKsm = oldPfn >= 0 && (f.flagsOf(oldPfn) & PG_KSM) !== 0;
  const flag = p.useChangePteFlagAt.wpPageCopy ? MMU_NOTIFIER_USE_CHANGE_PTE : 0;
  const range = mmuNotifierRangeInit(
    'wp_page_copy',
    MMU_NOTIFY_CLEAR,
    flag,
    vma,
    mm,
    address,
    address + PAGE_SIZE,
  );
  if (p.wrapChangePteInRange) yield* mmuNotifierInvalidateRangeStart(k, agent, range);
  yield* preempt(P_COPY_DONE);
  yield* lock(agent, mm.ptl);
  let release = newPfn;
  if (mm.pt.get(vpn) === orig) {
    // an unshare leaves the new page read-only and clean (wp_page_copy, v5.19+)
    let entry = mkPte(newPfn, newPteBits(vma));
    if (!isUnshareFault(vmf)) entry = pteMkdirty(entry);
    if (vma.flags & VM_WRITE && !isUnshareFault(vmf)) entry = pteMkwrite(entry);
    if (oldPfn < 0) ksmMightUnmapZeroPage(k, mm, orig);
    // a bug switch: change_pte before the clear-flush, the order Andrea Arcangeli objected to — the
    // secondaries hear of the new page while lockless walkers can still find the old pte
    const early = !p.clearFlushBeforeChangePte && p.hasChangePte && mm.notifiers !== null;
    if (early) {
      yield* mmuNotifierChangePte(k, agent, mm, address, entry);
      yield* preempt(P_CHANGE_PTE_SENT);
    }
    // v3.2 (before the range wrap): plain ptep_clear_flush, change_pte alone tells the secondaries
    if (p.wrapChangePteInRange) yield* ptepClearFlushNotify(k, agent, mm, address);
    else yield* ptepClearFlush(k, agent, mm, address);
    k.pageAddNewAnonRmap(newPfn, vma, address);
    f.setFlags(newPfn, PG_ANON_EXCLUSIVE);
    if (early)
      k.writePte(agent, mm, vmf.address, entry, 'set_pte_at_notify'); // its change_pte went out first
    else yield* setPteAtNotify(k, agent, mm, address, entry);
    if (oldPfn >= 0) {
      k.pageRemoveRmap(oldPfn, mm); // only after the pte switch
      release = oldPfn; // the put below drops the old page's pte reference
    } else release = -1;
    const fc = k.faultCounters;
    (oldPfn < 0 ? fc.anonWrite : wasKsm ? fc.ksmCow : fc.cowCopy).inc();
  }
  if (release >= 0) k.putPage(release);
  unlock(agent, mm.ptl);
  if (p.wrapChangePteInRange) yield* mmuNotifierInvalidateRangeEnd(k, agent, range, true);
  if (oldPfn >= 0) k.putPage(oldPfn);
  return VM_FAULT_DONE;
}

/** do_shared_fault / do_read_fault for a shared anonymous (shmem) mapping: map the object's page. */
export function* doSharedFault(k: Kernel, agent: Agent, vmf: VmFault): Path<VmFaultResult> {
  const { mm, vma } = vmf;
  const vpn = vpnOf(vmf.address);
  const write = isWriteFault(vmf);
  const obj = vma.shmem!;
  const index = vma.shmemPgoff + (vpn - vpnOf(vma.start));
  if (!write && k.profile.shmemFaultAround && (yield* doFaultAround(k, agent, vmf))) {
    k.faultCounters.shmemRead.inc();
    return VM_FAULT_DONE; // the faulting page was in the cache: mapped with its neighbours
  }
  let pfn = obj.pages.get(index);
  if (pfn === undefined) {
    pfn = k.allocPage(ZERO_CONTENT); // shmem_getpage: a new zeroed page, the cache holds this reference
    if (pfn < 0) return VM_FAULT_OOM;
    obj.pages.set(index, pfn);
  }
  k.getPage(pfn);
  yield* preempt(P_SHARED);
  yield* lock(agent, mm.ptl);
  if (mm.pt.get(vpn) !== 0) {
    unlock(agent, mm.ptl);
    k.putPage(pfn);
    return VM_FAULT_DONE;
  }
  let entry = mkPte(pfn, newPteBits(vma));
  if (write) entry = pteMkdirty(entry);
  k.pageDupRmap(pfn, mm);
  k.writePte(agent, mm, vmf.address, entry, 'set_pte_at');
  (write ? k.faultCounters.shmemWrite : k.faultCounters.shmemRead).inc();
  unlock(agent, mm.ptl);
  return VM_FAULT_DONE;
}

/** fault_around_bytes' default (64 KiB): the pages a read fault on a file-backed vma may map at once. */
export const FAULT_AROUND_PAGES = 16;

/**
 * do_fault_around (mm/memory.c v6.18; since v3.15, 8c6e50b0290c) with shmem's ->map_pages,
 * filemap_map_pages: a read fault first maps, under one ptl, every page of the naturally aligned
 * 16-page window (clamped to the vma and the page table) that is already in the page cache and has no
 * pte yet. True when that mapped the faulting page itself (VM_FAULT_NOPAGE: no ->fault needed).
 */
function* doFaultAround(k: Kernel, agent: Agent, vmf: VmFault): Path<boolean> {
  const { mm, vma } = vmf;
  const obj = vma.shmem!;
  const vpn = vpnOf(vmf.address);
  const pteOff = vpn % 512;
  const vmaOff = vpn - vpnOf(vma.start);
  const from = Math.max(pteOff - (pteOff % FAULT_AROUND_PAGES), pteOff - Math.min(pteOff, vmaOff));
  const to = Math.min(from + FAULT_AROUND_PAGES, 512, pteOff + (vma.end - vma.start) / PAGE_SIZE - vmaOff);
  let mappedFaulting = false;
  yield* lock(agent, mm.ptl);
  for (let off = from; off < to; off++) {
    const v = vpn - pteOff + off;
    const pfn = obj.pages.get(vma.shmemPgoff + (v - vpnOf(vma.start)));
    if (pfn === undefined || mm.pt.get(v) !== 0) continue;
    k.getPage(pfn);
    k.pageDupRmap(pfn, mm);
    // set_pte_range: vm_page_prot, not dirty (a read); x86 prefaults young ptes (no arch_wants_old_prefaulted_pte)
    k.writePte(agent, mm, vpnAddress(v), mkPte(pfn, newPteBits(vma)), 'set_pte_at');
    if (v === vpn) mappedFaulting = true;
  }
  unlock(agent, mm.ptl);
  return mappedFaulting;
}

/** PageAnon && !PageKsm: used by callers that must not touch KSM pages. */
export function isPlainAnon(k: Kernel, pfn: number): boolean {
  const fl = k.frames.flagsOf(pfn);
  return (fl & PG_ANON) !== 0 && (fl & PG_KSM) === 0;
}
