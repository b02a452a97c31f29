/**
 * Tearing down ptes: zap_page_range / unmap_vmas with the mmu_gather (mm/memory.c, mm/mmu_gather.c v5.0).
 * Order: range start, clear ptes under the ptl, flush the CPU TLB and ->invalidate_range, range end,
 * then free the pages — secondary MMUs have let go before any frame is reused.
 */
import { vpnAddress, vpnOf } from '../hw/page.js';
import { ptePfn, pteSpecial } from '../hw/pte.js';
import { type Agent, lock, type Path, preempt, preemptPoint, unlock } from '../sim/exec.js';
import type { Kernel } from './kernel.js';
import { ksmMightUnmapZeroPage } from './ksm-zero.js';
import type { Mm } from './mm.js';
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './notify.js';
import type { Vma } from './vma.js';

const P_ZAP_STARTED = preemptPoint('zap_page_range: range started, before the ptl');
const P_ZAPPED = preemptPoint('zap_page_range: ptes cleared, before range end');

/** Clear every pte of `vma` within [start, end) and drop the pages' mappings; returns pfns to put. */
function zapPteRange(k: Kernel, agent: Agent, vma: Vma, start: number, end: number, freed: number[]): void {
  const mm = vma.mm;
  const from = vpnOf(Math.max(start, vma.start));
  const to = vpnOf(Math.min(end, vma.end));
  const cleared: { vpn: number; pte: number }[] = [];
  mm.pt.forEachMapped(from, to, (vpn, pte) => cleared.push({ vpn, pte }));
  for (const { vpn, pte } of cleared) {
    k.writePte(agent, mm, vpnAddress(vpn), 0, 'ptep_get_and_clear');
    if (pteSpecial(pte)) {
      ksmMightUnmapZeroPage(k, mm, pte);
      continue;
    }
    const pfn = ptePfn(pte);
    k.pageRemoveRmap(pfn, mm);
    freed.push(pfn);
  }
}

/**
 * zap_page_range (v5.0; event CLEAR as v5.2's madvise path uses) or unmap_vmas (event UNMAP) over the
 * given vmas. Caller holds mmap_sem.
 */
export function* zapPageRange(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  vmas: readonly Vma[],
  start: number,
  end: number,
  event: number,
  by: string,
): Path {
  const range = mmuNotifierRangeInit(by, event, 0, vmas.length === 1 ? vmas[0] : null, mm, start, end);
  yield* mmuNotifierInvalidateRangeStart(k, agent, range);
  // unmap_single_vma walks down to zap_pte_range's pte_offset_map_lock (cond_resched on the way)
  yield* preempt(P_ZAP_STARTED);
  const freed: number[] = [];
  yield* lock(agent, mm.ptl);
  for (const vma of vmas) zapPteRange(k, agent, vma, start, end, freed);
  unlock(agent, mm.ptl);
  // tlb_flush_mmu_tlbonly: CPU TLB flush, then mmu_notifier_invalidate_range for secondary TLBs
  if (freed.length > 0 || vmas.length > 0) {
    yield* k.flushTlbRange(agent, mm, start, end);
    if (mm.notifiers !== null && k.profile.hasInvalidateRange && !k.profile.secondaryTlbsFollowCpuFlush) {
      yield* mm.notifiers.invalidateRange(agent, mm, start, end);
    }
  }
  yield* preempt(P_ZAPPED);
  yield* mmuNotifierInvalidateRangeEnd(k, agent, range, true);
  for (const pfn of freed) k.putPage(pfn); // tlb_finish_mmu frees the batch
  for (const vma of vmas) mm.pt.freeEmpty(vpnOf(Math.max(start, vma.start)), vpnOf(Math.min(end, vma.end)));
}
