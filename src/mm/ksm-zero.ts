/**
 * The zero pages KSM places with use_zero_pages (include/linux/ksm.h, v6.5+: 79271476b336 "ksm: support
 * unsharing KSM-placed zero pages", e2942062e01d "ksm: count all zero pages placed by KSM"): replace_page
 * maps the zero page with the dirty bit set, which tells it apart from a read fault's zero page, so that
 * MADV_UNMERGEABLE can unshare it and /sys/kernel/mm/ksm/ksm_zero_pages can count it. The core mm calls
 * these where a pte goes (zap, wp_page_copy), as the kernel's inline helpers are called.
 */
import { ZERO_PFN } from '../hw/frames.js';
import { pteDirty, ptePfn, pteSpecial } from '../hw/pte.js';
import type { Kernel } from './kernel.js';
import { KSM_COUNTERS } from './ksm/counters.js';
import type { Mm } from './mm.js';

const KSM_ZERO_PAGES = KSM_COUNTERS.name('ksm_zero_pages');

/** is_ksm_zero_pte: the zero page, mapped dirty (only KSM does that), on a profile that marks them. */
export function isKsmZeroPte(k: Kernel, pte: number): boolean {
  return k.profile.ksmZeroPages && pteSpecial(pte) && ptePfn(pte) === ZERO_PFN && pteDirty(pte);
}

/** ksm_map_zero_page: replace_page mapped the zero page. */
export function ksmMapZeroPage(k: Kernel, mm: Mm): void {
  k.counters.add(KSM_ZERO_PAGES, 1);
  mm.ksmZeroPages++;
}

/** ksm_might_unmap_zero_page: a pte that goes (zapped, or replaced by wp_page_copy). */
export function ksmMightUnmapZeroPage(k: Kernel, mm: Mm, pte: number): void {
  if (!isKsmZeroPte(k, pte)) return;
  k.counters.add(KSM_ZERO_PAGES, -1);
  mm.ksmZeroPages--;
}

/**
 * fork: dup_mm copies mm->ksm_zero_pages into the child, whose copied ptes are KSM zero ptes too;
 * ksm_fork adds them to the global count since "mm/ksm: fix incorrect KSM counter handling in mm_struct
 * during fork" (Donet Tom, 2025, in 6.18; before, the child's unmaps drove the global count down).
 */
export function ksmForkZeroPages(k: Kernel, parent: Mm, child: Mm): void {
  child.ksmZeroPages = parent.ksmZeroPages;
  if (k.profile.ksmZeroPagesForkAccounting && child.ksmZeroPages !== 0)
    k.counters.add(KSM_ZERO_PAGES, child.ksmZeroPages);
}
