/**
 * KSM's merge paths (mm/ksm.c v5.0), in the kernel's order of operations — which is what the
 * MMU-notifier story is about. try_to_merge_one_page write-protects the page (write_protect_page:
 * range start, ptep_clear_flush, the pin check, set_pte_at_notify of the read-only pte, range end), then
 * either makes it a KSM page or maps kpage in its place (replace_page: range start, ptep_clear_flush,
 * set_pte_at_notify of the new pfn, range end). On v3.2 (before the 2012 wrap) there is no start/end.
 */

import { PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PG_KSM, ZERO_PFN } from '../../hw/frames.js';
import { PAGE_SIZE, PTRS_PER_PTE, ptePageBase, vpnAddress, vpnOf } from '../../hw/page.js';
import {
  mkPte,
  PTE_ACCESSED,
  PTE_SPECIAL,
  pteDirty,
  pteMkclean,
  pteMkdirty,
  ptePfn,
  ptePresent,
  pteSpecial,
  pteWrite,
  pteWrprotect,
} from '../../hw/pte.js';
import {
  type Agent,
  lock,
  lockShared,
  ModelBug,
  type Path,
  preempt,
  preemptPoint,
  unlock,
  unlockShared,
} from '../../sim/exec.js';
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, VM_FAULT_OOM, VM_FAULT_SIGBUS } from '../fault.js';
import { followPage } from '../gup.js';
import type { Errno } from '../kernel.js';
import { isKsmZeroPte, ksmMapZeroPage } from '../ksm-zero.js';
import { handleMmFault } from '../memory.js';
import type { Mm } from '../mm.js';
import { MMU_NOTIFIER_USE_CHANGE_PTE, MMU_NOTIFY_CLEAR } from '../notifier-port.js';
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  ptepClearFlush,
  setPteAtNotify,
} from '../notify.js';
import { trylockPage, unlockPage } from '../page-lock.js';
import type { Vma } from '../vma.js';
import { findMergeableVma, type KsmState } from './state.js';
import { NO_NODE } from './store.js';
import type { KsmTrees } from './trees.js';

const P_WP_STARTED = preemptPoint('write_protect_page: range started, before the ptl');
const P_REPLACE_STARTED = preemptPoint('replace_page: range started, before the ptl');
const P_BEFORE_REPLACE = preemptPoint('try_to_merge_one_page: page write-protected, before replace_page');
const P_TWO_PAGES = preemptPoint(
  'try_to_merge_two_pages: first page is a KSM page, before merging the second',
);

/**
 * try_to_merge_two_pages: make `pfn` a KSM page, then merge the tree page into it; break_cow on failure.
 * Returns the new KSM page, or -1.
 */
export function* tryToMergeTwoPages(
  s: KsmState,
  trees: KsmTrees,
  item: number,
  pfn: number,
  treeItem: number,
  treePfn: number,
): Path<number> {
  if (!(yield* tryToMergeWithKsmPage(s, trees, item, pfn, -1))) return -1;
  yield* preempt(P_TWO_PAGES);
  if (yield* tryToMergeWithKsmPage(s, trees, treeItem, treePfn, pfn)) return pfn;
  // "ksm page with only one pte pointing to it: so break it"
  yield* breakCow(s, item);
  // break_cow breaks only this item's pte: if forked mms map the page too (or break_cow could not run),
  // it stays a KSM page outside the stable tree until they unmap or write it — as in the kernel, where
  // set_page_stable_node(page, NULL) marked the page itself
  const f = s.k.frames;
  if ((f.flagsOf(pfn) & PG_KSM) !== 0 && f.mapcount(pfn) > 0) s.orphans.add(pfn);
  return -1;
}

/**
 * try_to_merge_with_ksm_page: under the item's mmap_sem, merge `pfn` into `kpfn` (or, with kpfn -1,
 * make it a KSM page); on success the item leaves its tree.
 */
export function* tryToMergeWithKsmPage(
  s: KsmState,
  trees: KsmTrees,
  item: number,
  pfn: number,
  kpfn: number,
): Path<boolean> {
  const mm = s.slotMm(item);
  const addr = s.itemAddress(item);
  yield* lockShared(s.agent, mm.mmapLock);
  const vma = findMergeableVma(mm, addr);
  let ok = false;
  if (vma !== undefined) {
    ok = yield* tryToMergeOnePage(s, vma, pfn, kpfn, addr);
    if (ok) trees.removeRmapItemFromTree(item);
  }
  unlockShared(mm.mmapLock);
  return ok;
}

/**
 * try_to_merge_one_page (v5.0): with the page lock (trylock: come back next scan), write-protect the
 * page; then either mark it a KSM page (kpfn < 0) or, if it still equals kpage, replace it by kpage.
 */
export function* tryToMergeOnePage(
  s: KsmState,
  vma: Vma,
  pfn: number,
  kpfn: number,
  addr: number,
): Path<boolean> {
  if (pfn === kpfn) return true; // a KSM page forked
  const f = s.k.frames;
  if ((f.flagsOf(pfn) & PG_ANON) === 0) return false;
  if (!trylockPage(s.k, s.agent, pfn)) return false; // don't wait: come back next scan
  let ok = false;
  const orig = yield* writeProtectPage(s, vma, pfn, addr);
  if (orig >= 0) {
    if (kpfn < 0) {
      // set_page_stable_node(page, NULL): PageKsm from now on, its stable node still to come
      f.setFlags(pfn, PG_KSM | PG_DIRTY);
      f.clearFlags(pfn, PG_ANON_EXCLUSIVE);
      s.pfnNode[pfn] = NO_NODE;
      ok = true;
    } else if (f.contentOf(pfn) === f.contentOf(kpfn)) {
      yield* preempt(P_BEFORE_REPLACE);
      ok = yield* replacePage(s, vma, pfn, kpfn, orig, addr);
    }
  }
  unlockPage(s.k, s.agent, pfn);
  return ok;
}

/**
 * write_protect_page (mm/ksm.c v5.0): range start; under the ptl, if the pte is writable or dirty,
 * ptep_clear_flush, then the pin check `mapcount + 1 + swapped == refcount` (ksmd's own reference is
 * the 1; a GUP pin makes it fail and the pte is restored by a plain set_pte_at); else
 * set_pte_at_notify of the clean read-only pte; range end. Returns the pte now mapped, or -1.
 */
function* writeProtectPage(s: KsmState, vma: Vma, pfn: number, addr: number): Path<number> {
  const { k, agent } = s;
  const mm = vma.mm;
  if (addr < vma.start || addr >= vma.end) return -1; // page_address_in_vma
  // page_address_in_vma (mm/rmap.c v5.0, v6.18) finds no anon_vma behind a KSM page (page_anon_vma is
  // NULL for PAGE_MAPPING_KSM) and answers -EFAULT: a KSM page that a failed try_to_merge_two_pages left
  // outside the stable tree is never write-protected, merged or broken by ksmd again (found by the
  // oracle's fuzzer: fork of a pinned page's copy, the pinned page as the unstable-tree twin)
  if (k.frames.flagsOf(pfn) & PG_KSM) return -1;
  const flag = k.profile.useChangePteFlagAt.writeProtectPage ? MMU_NOTIFIER_USE_CHANGE_PTE : 0;
  const range = rangeInit(s, 'write_protect_page', flag, vma, addr);
  if (range !== null) yield* mmuNotifierInvalidateRangeStart(k, agent, range);
  yield* preempt(P_WP_STARTED);
  let result = -1;
  // page_vma_mapped_walk: the ptl, and the pte must still map this page
  yield* lock(agent, mm.ptl);
  const vpn = vpnOf(addr);
  const pte = mm.pt.get(vpn);
  if (ptePresent(pte) && !pteSpecial(pte) && ptePfn(pte) === pfn) {
    result = pte;
    if (pteWrite(pte) || pteDirty(pte)) {
      const f = k.frames;
      const swapped = 0; // no swap cache in the model
      // clear and flush before the check, so no O_DIRECT can start after it or during it
      const entry = yield* ptepClearFlush(k, agent, mm, addr);
      if (k.profile.ksmWriteProtectChecksPins && f.mapcount(pfn) + 1 + swapped !== f.refcountOf(pfn)) {
        k.writePte(agent, mm, addr, entry, 'set_pte_at');
        s.stats.wpRefusedPinned++;
        s.log(
          'write_protect_page refused',
          mm,
          addr,
          `pfn ${pfn}: mapcount ${f.mapcount(pfn)} + 1 != refcount ${f.refcountOf(pfn)} (pinned)`,
        );
        result = -1;
      } else {
        if (pteDirty(entry)) f.setFlags(pfn, PG_DIRTY);
        const clean = pteMkclean(pteWrprotect(entry));
        yield* setPteAtNotify(k, agent, mm, addr, clean);
        result = clean;
      }
    }
  }
  unlock(agent, mm.ptl);
  if (range !== null) yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
  return result;
}

/**
 * replace_page (mm/ksm.c v5.0): range start; under the ptl, if the pte is still `orig`, take kpage
 * (or map the zero page, pte_special, one anonymous page less), ptep_clear_flush, set_pte_at_notify
 * of the read-only pte to the new pfn, drop the old page's mapping and reference; range end.
 */
function* replacePage(
  s: KsmState,
  vma: Vma,
  pfn: number,
  kpfn: number,
  orig: number,
  addr: number,
): Path<boolean> {
  const { k, agent } = s;
  const mm = vma.mm;
  if (addr < vma.start || addr >= vma.end) return false;
  const vpn = vpnOf(addr);
  if (!mm.pt.ptePageExists(vpn)) return false; // mm_find_pmd
  const flag = k.profile.useChangePteFlagAt.replacePage ? MMU_NOTIFIER_USE_CHANGE_PTE : 0;
  const range = rangeInit(s, 'replace_page', flag, vma, addr);
  if (range !== null) yield* mmuNotifierInvalidateRangeStart(k, agent, range);
  yield* preempt(P_REPLACE_STARTED);
  yield* lock(agent, mm.ptl);
  let ok = false;
  if (mm.pt.get(vpn) !== orig) {
    s.stats.replaceRaced++;
    s.log('replace_page: pte changed', mm, addr);
  } else {
    const bits = vma.pageProt() | PTE_ACCESSED; // mk_pte(kpage, vma->vm_page_prot): PROT_NONE stays so
    let newPte: number;
    if (kpfn !== ZERO_PFN) {
      k.getPage(kpfn);
      k.pageDupRmap(kpfn, mm); // page_add_anon_rmap
      newPte = mkPte(kpfn, bits);
    } else {
      newPte = mkPte(ZERO_PFN, bits | PTE_SPECIAL); // dec_mm_counter: the old page's rmap removal below
      if (k.profile.ksmZeroPages) {
        newPte = pteMkdirty(newPte); // 79271476b336: the dirty bit marks a zero page KSM placed
        ksmMapZeroPage(k, mm);
      }
    }
    // no need to notify: a read-only page becomes another read-only page with the same content
    yield* ptepClearFlush(k, agent, mm, addr);
    yield* setPteAtNotify(k, agent, mm, addr, newPte);
    k.pageRemoveRmap(pfn, mm);
    k.putPage(pfn);
    ok = true;
  }
  unlock(agent, mm.ptl);
  if (range !== null) yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
  return ok;
}

/**
 * mmu_notifier_range_init for one page — or null when nothing sees this mm's ranges (no subscriber, no
 * kernel observer such as the invariant checker, no forced flag): then invalidate_range_start/end
 * would do nothing at all, and skipping them saves the range at millions of merges. On v3.2 (before
 * the 2012 wrap) write_protect_page and replace_page have no range.
 */
function rangeInit(s: KsmState, by: string, flag: number, vma: Vma, addr: number) {
  const k = s.k;
  const mm = vma.mm;
  if (!k.profile.wrapChangePteInRange) return null;
  if (mm.notifiers === null && k.observers.length === 0 && k.forceUseChangePteAt.size === 0) return null;
  return mmuNotifierRangeInit(by, MMU_NOTIFY_CLEAR, flag, vma, mm, addr, addr + PAGE_SIZE);
}

/** break_cow: COW the item's page back to a private copy, under its mm's mmap_sem; did it run? */
function* breakCow(s: KsmState, item: number): Path<boolean> {
  const mm = s.slotMm(item);
  const addr = s.itemAddress(item);
  yield* lockShared(s.agent, mm.mmapLock);
  const vma = findMergeableVma(mm, addr);
  const broken = vma !== undefined && (yield* breakKsm(s, s.agent, vma, addr)) === null;
  unlockShared(mm.mmapLock);
  s.stats.breakCow++;
  s.log('break_cow', mm, addr);
  return broken;
}

/** A KSM page is mapped at addr, or (v6.5+) a zero page KSM placed there. */
function ksmPageAt(s: KsmState, mm: Mm, addr: number): boolean {
  const k = s.k;
  const pfn = followPage(mm, addr, false);
  if (pfn > 0) return (k.frames.flagsOf(pfn) & PG_KSM) !== 0;
  return pfn === ZERO_PFN && isKsmZeroPte(k, mm.pt.get(vpnOf(addr)));
}

/**
 * break_ksm (v5.0): while the address maps a KSM page, take a write fault on it (handle_mm_fault with
 * FAULT_FLAG_WRITE); do_wp_page never reuses a KSM page, so wp_page_copy gives a private copy. Since
 * v6.2 ("mm/ksm: fix KSM COW breaking with userfaultfd-wp via FAULT_FLAG_UNSHARE") an unshare fault,
 * which leaves the copy read-only; since v6.5 (79271476b336) a zero page KSM placed is broken too.
 * Caller holds mmap_sem.
 */
function* breakKsm(s: KsmState, agent: Agent, vma: Vma, addr: number): Path<Errno | null> {
  const k = s.k;
  const mm = vma.mm;
  const flags = k.profile.breakKsmUnshares ? FAULT_FLAG_UNSHARE : FAULT_FLAG_WRITE;
  for (let tries = 0; tries < 64; tries++) {
    if (!ksmPageAt(s, mm, addr)) return null;
    const pfn = followPage(mm, addr, false);
    if (pfn > 0) s.getPage(pfn); // follow_page(FOLL_GET)
    const r = yield* handleMmFault(k, agent, vma, addr, flags);
    if (pfn > 0) s.putPage(pfn);
    if (r & VM_FAULT_OOM) return 'ENOMEM';
    if (r & VM_FAULT_SIGBUS) return null;
  }
  throw new ModelBug(`break_ksm at 0x${addr.toString(16)} keeps finding a KSM page`);
}

/** ksm_madvise(MADV_UNMERGEABLE) → unmerge_ksm_pages: break every KSM page in [start, end). */
export function* unmergeKsmPages(
  s: KsmState,
  agent: Agent,
  vma: Vma,
  start: number,
  end: number,
): Path<Errno | null> {
  if (vma.anonVma === null) return null;
  const mm: Mm = vma.mm;
  let broken = 0;
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    if (mm.exiting) break;
    const vpn = vpnOf(addr);
    if (!mm.pt.ptePageMapped(vpn)) {
      addr = vpnAddress(ptePageBase(vpn) + PTRS_PER_PTE - 1); // nothing mapped in this pte page
      continue;
    }
    if (!ksmPageAt(s, mm, addr)) continue;
    const err = yield* breakKsm(s, agent, vma, addr);
    if (err !== null) return err;
    broken++;
  }
  s.stats.unmerged += broken;
  if (broken > 0) s.log('unmerge', mm, start, `${broken} KSM pages broken by MADV_UNMERGEABLE`);
  return null;
}
