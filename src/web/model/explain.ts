/**
 * One sentence per logged event saying what the kernel did, naming the kernel function (and its file,
 * v5.0 unless the path only exists elsewhere) that the model's path follows. The event log is the
 * source: nothing here looks at the World.
 */
import { PAGE_SIZE } from '../../hw/page.js';
import { pteText } from '../../mm/event-text.js';
import { detailText, type LogEvent } from '../../sim/log.js';

const hex = (n: number | undefined): string => (n === undefined ? '?' : `0x${n.toString(16)}`);

function range(e: LogEvent): string {
  if (e.start === undefined) return '';
  if (e.end === undefined || e.end - e.start <= PAGE_SIZE) return ` at ${hex(e.start)}`;
  return ` over ${hex(e.start)}-${hex(e.end)}`;
}

const mm = (e: LogEvent): string => (e.mm === undefined ? '' : ` mm${e.mm}`);
const detail = (e: LogEvent): string => {
  const d = detailText(e);
  return d ? ` (${d})` : '';
};

/** Functions a pte event names, with where they live. */
const PTE_FUNCTIONS: Record<string, string> = {
  set_pte_at: 'set_pte_at() (arch/x86/include/asm/pgtable.h) installs',
  set_pte_at_notify: 'set_pte_at_notify() (include/linux/mmu_notifier.h) installs',
  ptep_clear_flush: 'ptep_clear_flush() (mm/pgtable-generic.c) clears and flushes',
  ptep_get_and_clear: 'ptep_get_and_clear() (arch/x86/include/asm/pgtable.h) clears',
  ptep_set_wrprotect: 'ptep_set_wrprotect() (copy_one_pte, mm/memory.c) write-protects',
  ptep_set_access_flags: 'ptep_set_access_flags() (arch/x86/mm/pgtable.c) upgrades',
  change_pte_range: 'change_pte_range() (mm/mprotect.c) rewrites',
};

const KSM_SENTENCES: Record<string, string> = {
  ksm_enter: '__ksm_enter() (mm/ksm.c) gives the mm an mm_slot: ksmd will scan it',
  ksm_exit: '__ksm_exit() (mm/ksm.c) leaves the mm_slot for ksmd to drop',
  'full scan begins': 'ksm_do_scan() (mm/ksm.c) starts a full scan: the unstable tree is rebuilt',
  'full scan done': 'scan_get_next_rmap_item() (mm/ksm.c) reached the end of the mm list: one more full scan',
  'merge into KSM page':
    'try_to_merge_with_ksm_page() (mm/ksm.c) found the page in the stable tree and replaced it by the KSM page',
  'new KSM page':
    'try_to_merge_two_pages() (mm/ksm.c) merged two identical pages into a new KSM page (stable_tree_insert)',
  break_cow: 'break_cow() (mm/ksm.c) faults a private copy back in',
  unmerge: 'unmerge_ksm_pages() (mm/ksm.c) breaks COW on every KSM page of the range',
  'write_protect_page refused':
    'write_protect_page() (mm/ksm.c) refuses the page: its refcount shows an extra reference (a pin)',
};

const SECONDARY_SENTENCES: Record<string, (e: LogEvent) => string> = {
  'zap sptes': (e) =>
    `kvm_mmu_notifier_invalidate_range_start() (virt/kvm/kvm_main.c) zaps the sptes${range(e)} via kvm_unmap_hva_range()`,
  'change_pte: remap spte': (e) =>
    `kvm_set_pte_rmapp() (arch/x86/kvm/mmu.c) re-points the spte${range(e)} read-only${detail(e)}: no fault needed`,
  'change_pte: no spte': (e) =>
    `kvm_mmu_notifier_change_pte() (virt/kvm/kvm_main.c) finds no spte${range(e)}: it was zapped, change_pte() misses`,
  'change_pte: drop spte': (e) =>
    `kvm_set_pte_rmapp() (arch/x86/kvm/mmu.c) drops the spte${range(e)}${detail(e)}: the new pte is writable`,
  ept_violation: (e) =>
    `tdp_page_fault() (arch/x86/kvm/mmu.c) handles an EPT violation${range(e)}${detail(e)}`,
  'map spte': (e) => `__direct_map() (arch/x86/kvm/mmu.c) installs the spte${range(e)}${detail(e)}`,
  'fault retry': (e) =>
    `mmu_notifier_retry() (include/linux/kvm_host.h) sends the EPT fault${range(e)} back to retry${detail(e)}`,
  kvm_flush_remote_tlbs: (e) =>
    `kvm_flush_remote_tlbs() (virt/kvm/kvm_main.c) flushes every vCPU's TLB${detail(e)}`,
  kvm_create_vm: (e) => `kvm_create_vm() (virt/kvm/kvm_main.c) registers the VM's mmu_notifier${detail(e)}`,
  'dmirror bind': () => 'dmirror_fops_open() (lib/test_hmm.c) registers an interval notifier for the mirror',
  'dmirror fault': (e) =>
    `dmirror_fault() (lib/test_hmm.c) mirrors the range${range(e)} via hmm_range_fault()${detail(e)}`,
  'dmirror invalidate': (e) =>
    `dmirror_interval_invalidate() (lib/test_hmm.c) drops the mirror's entries${range(e)}${detail(e)}`,
  'sva bind': () =>
    'iommu_sva_bind_device() (drivers/iommu) shares the mm with the device (an IOMMU notifier)',
  'iotlb invalidate': (e) =>
    `the IOMMU driver's ->invalidate_range() flushes the IOTLB${range(e)}${detail(e)}`,
  iopf: (e) => `iommu_queue_iopf() (drivers/iommu/io-pgfault.c) handles a device page request${detail(e)}`,
  'stuck write': (e) =>
    `iommu_queue_iopf() (drivers/iommu/io-pgfault.c) served the device's page requests, but handle_mm_fault() found the pte already writable and nothing flushed the IOTLB: the write is stuck${range(e)}${detail(e)}`,
};

export function explain(e: LogEvent): string {
  const who = e.agent;
  switch (e.kind) {
    case 'step':
      return `the scenario starts its ${e.what} step (${detailText(e) ?? ''})`;
    case 'fault':
      if (e.what === 'SIGSEGV')
        return `${who}: do_user_addr_fault() (arch/x86/mm/fault.c) finds no permission${range(e)}: SIGSEGV${detail(e)}`;
      return `${who}: handle_mm_fault() (mm/memory.c) takes a ${e.what}${mm(e)}${range(e)}${detail(e)}`;
    case 'pte': {
      const f = PTE_FUNCTIONS[e.what] ?? `${e.what}() sets`;
      return `${who}: ${f} the pte${mm(e)}${range(e)}: ${pteText(e.oldPte, '?')} → ${pteText(e.newPte, '?')}`;
    }
    case 'tlb':
      return `${who}: ${e.what}() (arch/x86/mm/tlb.c) flushes the CPU TLBs${mm(e)}${range(e)}`;
    case 'notify': {
      if (e.what === 'change_pte')
        return `${who}: mmu_notifier_change_pte() (mm/mmu_notifier.c) tells every subscriber the new pte${range(e)}: ${pteText(e.newPte)}`;
      const [call, by] = e.what.split(' ');
      const flags = e.flags ? ` [${e.flags}]` : '';
      return `${who}: ${by ?? '?'}() calls mmu_notifier_${call}() (mm/mmu_notifier.c)${range(e)}, event ${e.event ?? '?'}${flags}`;
    }
    case 'secondary': {
      const s = SECONDARY_SENTENCES[e.what];
      return `${who}: ${s === undefined ? `${e.what}${range(e)}${detail(e)}` : s(e)}`;
    }
    case 'ksm': {
      const s = KSM_SENTENCES[e.what] ?? e.what;
      return `${who}: ${s}${mm(e)}${range(e)}${detail(e)}`;
    }
    case 'violation':
      return `invariant broken (${e.what}): ${detailText(e) ?? ''}`;
  }
}
