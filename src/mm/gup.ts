/**
 * get_user_pages / pin_user_pages (mm/gup.c v5.0; FOLL_PIN's bias from v5.6+): follow_page, and
 * faultin_page when the pte is missing or not writable for a write. The reference (or pin) is held in
 * the page's refcount until released — which is what KSM's write_protect_page refcount check sees.
 */

import { PG_ANON, PG_ANON_EXCLUSIVE, ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE, vpnOf } from '../hw/page.js';
import { ptePfn, ptePresent, pteSpecial, pteWrite } from '../hw/pte.js';
import { type Agent, lockShared, type Path, unlockShared } from '../sim/exec.js';
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, VM_FAULT_OOM } from './fault.js';
import type { Errno, Kernel } from './kernel.js';
import { handleMmFault } from './memory.js';
import type { Mm } from './mm.js';
import { VM_READ, VM_WRITE } from './vma.js';

export interface GupResult {
  pfns: number[];
  /** References taken per page (1 for get_user_pages, the pin bias for pin_user_pages). */
  refs: number;
}

/** follow_page_pte: the pfn to reference, or -1 if a fault is needed first. Caller holds mmap_sem. */
export function followPage(mm: Mm, address: number, write: boolean): number {
  const pte = mm.pt.get(vpnOf(address));
  if (!ptePresent(pte)) return -1;
  if (write && !pteWrite(pte)) return -1;
  return pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
}

/**
 * gup_must_unshare (include/linux/mm.h, a7f226604170 v5.19) for a read-only pin: an anonymous page that
 * is not PageAnonExclusive (shared after fork; a KSM page never is) must be unshared first. The zero
 * page is not anonymous: it is pinned as it is (the model leaves out the FOLL_LONGTERM rule for it).
 */
function gupMustUnshare(k: Kernel, pfn: number): boolean {
  if (pfn <= 0) return false;
  const fl = k.frames.flagsOf(pfn);
  return (fl & PG_ANON) !== 0 && (fl & PG_ANON_EXCLUSIVE) === 0;
}

/** __get_user_pages: `pages` pages from `address`, faulting them in as needed. */
export function* getUserPages(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  address: number,
  pages: number,
  opts: { write: boolean; pin: boolean },
): Path<GupResult | Errno> {
  const refs = opts.pin ? k.profile.pinBias : 1;
  const pfns: number[] = [];
  yield* lockShared(agent, mm.mmapLock);
  try {
    for (let i = 0; i < pages; i++) {
      const addr = address + i * PAGE_SIZE;
      const vma = mm.findVma(addr);
      const needed = opts.write ? VM_WRITE : VM_READ;
      if (vma === undefined || (vma.flags & needed) === 0 || mm.exiting) {
        release(k, pfns, refs);
        return 'EFAULT';
      }
      const unshare = opts.pin && !opts.write && k.profile.gupUnsharesReadOnlyPins;
      let pfn = followPage(mm, addr, opts.write);
      if (unshare && gupMustUnshare(k, pfn)) pfn = -1;
      for (let tries = 0; pfn < 0 && tries < 4; tries++) {
        // faultin_page: FAULT_FLAG_UNSHARE when follow_page said -EMLINK (a mapped page to unshare)
        const flags = opts.write
          ? FAULT_FLAG_WRITE
          : unshare && mm.pt.get(vpnOf(addr)) !== 0
            ? FAULT_FLAG_UNSHARE
            : 0;
        const r = yield* handleMmFault(k, agent, vma, addr, flags);
        if (r & VM_FAULT_OOM) {
          release(k, pfns, refs);
          return 'ENOMEM';
        }
        pfn = followPage(mm, addr, opts.write);
        if (unshare && gupMustUnshare(k, pfn)) pfn = -1;
      }
      if (pfn < 0) {
        release(k, pfns, refs);
        return 'EFAULT';
      }
      if (pfn !== ZERO_PFN) {
        k.frames.addRef(pfn, refs);
      }
      pfns.push(pfn);
    }
  } finally {
    unlockShared(mm.mmapLock);
  }
  return { pfns, refs };
}

/** put_page / unpin_user_pages for every page of a GUP result. */
export function putUserPages(k: Kernel, result: GupResult): void {
  release(k, result.pfns, result.refs);
}

function release(k: Kernel, pfns: number[], refs: number): void {
  for (const pfn of pfns) {
    if (pfn === ZERO_PFN) continue;
    k.frames.addRef(pfn, -(refs - 1));
    k.putPage(pfn);
  }
}
