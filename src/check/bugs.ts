/**
 * The catalogue of historical notifier / KVM / KSM / COW bugs that the model checker must find. Each
 * entry names a scenario under examples/bugs/ whose `parallel` threads race the paths involved, and the
 * kernel-profile switch(es) that bring the bug back (`set`, as `--set FIELD=VALUE` would): with them,
 * some schedule breaks an invariant or livelocks; without them, every schedule is clean. `fix` names the
 * real fix (commit or CVE) or, for what never shipped, the message that rejected it.
 */
import { type KernelName, type ProfileOverrides, profileSettings } from '../kernel/profiles.js';

export interface BugEntry {
  id: string;
  title: string;
  /** The fix: a commit id and subject, a CVE, or the mailing-list message that explains it. */
  fix: string;
  /** The kernel profile the scenario runs on (the fixed behaviour, unless the switch says otherwise). */
  kernel: KernelName;
  /** The scenario file, relative to the package root. */
  scenario: string;
  /** The profile switches that re-introduce the bug (with `base`, when there is one). */
  set: ProfileOverrides;
  /**
   * A what-if the scenario is explored under both with and without the switch, where the bug needs a
   * behaviour no kernel shipped to show (the clean run is then `base` alone, not the bare profile).
   */
  base?: ProfileOverrides;
  /** What the checker reports: a broken invariant, or a retry loop that cycles. */
  kind: 'invariant' | 'livelock';
}

export const BUGS: readonly BugEntry[] = [
  {
    id: 'rfc-change-pte-no-seq',
    title:
      "RFC 4/4 on a KVM whose change_pte() no longer bumps mmu_notifier_seq: an EPT fault racing KSM's replace_page maps the page KSM replaced",
    fix: 'never merged: RFC 4/4 <20190131183706.20980-5-jglisse@redhat.com> relied on the seq++ that c13fda237f08 ("KVM: Assert that notifier count is elevated in .change_pte()", 2021) replaced by a WARN',
    kernel: 'rfc-2019',
    scenario: 'examples/bugs/rfc-change-pte-no-seq.yaml',
    set: { kvmChangePteBumpsSeq: false },
    kind: 'invariant',
  },
  {
    id: 'kvm-no-notifier-retry',
    title:
      'KVM installs an spte without the mmu_notifier_retry check: an EPT fault racing MADV_DONTNEED maps a dropped page',
    fix: 'e930bffe95e1 ("KVM: Synchronize guest physical memory map to host virtual memory map", 2008): mmu_notifier_seq/count and mmu_notifier_retry',
    kernel: 'v5.0',
    scenario: 'examples/bugs/kvm-no-notifier-retry.yaml',
    set: { kvmFaultChecksNotifierRetry: false },
    kind: 'invariant',
  },
  {
    id: 'kvm-flag-on-mprotect',
    title:
      "KVM honours USE_CHANGE_PTE on a range the seed's rule forbids (mprotect): its writable spte outlives the write-protect",
    fix: "the seed's rule, RFC v2 text <20190219200430.11130-10-jglisse@redhat.com>: the flag only where set_pte_at_notify() updates one pte; batch updates use mmu_notifier_range_update_to_read_only()",
    kernel: 'rfc-2019',
    scenario: 'examples/bugs/kvm-flag-on-mprotect.yaml',
    set: { useChangePteFlagAt: { changeProtection: true } },
    kind: 'invariant',
  },
  {
    id: 'ksm-merges-pinned-page',
    title:
      'write_protect_page without the mapcount + 1 != page_count check: KSM merges a page pinned for DMA and the device write is lost',
    fix: 'the pin check in write_protect_page, in KSM since 31dbd01f3143 ("ksm: Kernel SamePage Merging", v2.6.32)',
    kernel: 'v5.0',
    scenario: 'examples/bugs/ksm-merges-pinned-page.yaml',
    set: { ksmWriteProtectChecksPins: false },
    kind: 'invariant',
  },
  {
    id: 'change-pte-before-clear-flush',
    title:
      "change_pte() issued before the pte's clear-flush (the order Andrea Arcangeli objected to): a guest fault in between maps the old page",
    fix: 'Documentation/vm/mmu_notifier.rst (v4.15+), case B: clear the pte and notify, then set the new pte; Andrea Arcangeli on RFC 2019 <20190201235738.GA12463@redhat.com>',
    kernel: 'rfc-2019',
    scenario: 'examples/bugs/change-pte-before-clear-flush.yaml',
    set: { clearFlushBeforeChangePte: false },
    kind: 'invariant',
  },
  {
    id: 'change-pte-during-other-invalidation',
    title:
      "change_pte acted on while another invalidate_range_start is outstanding (the hazard 6bdb913f0a70 names): KVM maps the page ksmd write-protects while MADV_DONTNEED's range, already started, is about to clear the pte, and that range's end zaps nothing",
    fix: '6bdb913f0a70 ("mm: wrap calls to set_pte_at_notify with invalidate_range_start and invalidate_range_end", Haggai Eran, v3.7): "clients implementing change_pte should not take action on it in case the number of outstanding invalidate_range_start calls is larger than one, otherwise they might miss a later invalidation"',
    kernel: 'rfc-2019',
    scenario: 'examples/bugs/change-pte-during-other-invalidation.yaml',
    base: { kvmChangePteMapsAbsent: true },
    set: { kvmChangePteMapsAbsent: true, kvmChangePteDefersToOtherInvalidations: false },
    kind: 'invariant',
  },
  {
    id: 'gup-cow-vmsplice',
    title:
      "CVE-2020-29374: a read-only gup (vmsplice) in the child, the child unmaps, the parent's write reuses the page by mapcount and the child reads the parent's data",
    fix: 'CVE-2020-29374: 17839856fd58 ("gup: document and work around "COW can break either way" issue", v5.8), then 09854ba94c6a ("mm: do_wp_page() simplification") and a308c71bf1e6 ("mm/gup: Remove enfornced COW mechanism"), v5.9',
    kernel: 'v6.10',
    scenario: 'examples/bugs/gup-cow-vmsplice.yaml',
    set: { wpReuse: 'mapcount' },
    kind: 'invariant',
  },
  {
    id: 'fork-pinned-page',
    title:
      "fork() write-protects a DMA-pinned page: the parent's COW leaves the device on the old page (or the device's write shows in the child)",
    fix: '70e806e4e645 ("mm: Do early cow for pinned pages during fork() for ptes", v5.9)',
    kernel: 'v6.10',
    scenario: 'examples/bugs/fork-pinned-page.yaml',
    set: { forkCopiesPinnedPages: false },
    kind: 'invariant',
  },
  {
    id: 'sva-stuck-write',
    title:
      'IOMMU SVA: wp_page_reuse upgrades the pte to writable with no notification, the IOTLB keeps its read-only entry and the device faults forever (livelock)',
    fix: 'Alistair Popple, "Invalidate secondary IOMMU TLB on permission upgrade" (v6.6): "mmu_notifiers: call invalidate_range() when invalidating TLBs", then "mmu_notifiers: rename invalidate_range notifier" (arch_invalidate_secondary_tlbs)',
    kernel: 'v6.10',
    scenario: 'examples/bugs/sva-stuck-write.yaml',
    set: { secondaryTlbsFollowCpuFlush: false },
    kind: 'livelock',
  },
  {
    id: 'hmm-no-read-retry',
    title:
      'An HMM mirror that skips mmu_interval_read_retry after hmm_range_fault: it keeps a page an invalidation dropped meanwhile',
    fix: 'Jason Gunthorpe, "Consolidate the mmu notifier interval_tree and locking" (v5.5, <20191112202231.3856-1-jgg@ziepe.ca>; e.g. f25a546e6529 "RDMA/odp: Use mmu_interval_notifier_insert()"): the drivers\' open-coded retry "largely seem to have various kinds of races"',
    kernel: 'v6.10',
    scenario: 'examples/bugs/hmm-no-read-retry.yaml',
    set: { hmmMirrorChecksReadRetry: false },
    kind: 'invariant',
  },
  {
    id: 'ksm-exit-race',
    title:
      'CVE-2011-2183: the last registered process exits while ksmd, starting a full scan, sleeps in lru_add_drain_all; ksmd takes the list head for an mm_slot and dereferences its NULL mm',
    fix: 'CVE-2011-2183: 2b472611a32a ("ksm: fix NULL pointer dereference in scan_get_next_rmap_item()", Hugh Dickins, v3.0; <20110604005420.GR23047@sequoia.sous-sol.org>; LTP ksm05)',
    kernel: 'v5.0',
    scenario: 'examples/bugs/ksm-exit-race.yaml',
    set: { ksmScanRevalidatesSlot: false },
    kind: 'invariant',
  },
];

/** The entry with this id, or undefined. */
export function findBug(id: string): BugEntry | undefined {
  return BUGS.find((b) => b.id === id);
}

/** The catalogue as `mmsim list bugs` prints it: one block per bug (id, kernel, switch, title, fix). */
export function formatBugs(): string {
  const lines: string[] = [];
  for (const b of BUGS) {
    lines.push(`${b.id}  (${b.kind}; kernel ${b.kernel}; --set ${profileSettings(b.set).join(' --set ')})`);
    if (b.base !== undefined)
      lines.push(`    clean run under the what-if --set ${profileSettings(b.base).join(' --set ')}`);
    lines.push(`    ${b.title}`, `    fix: ${b.fix}`, `    scenario: ${b.scenario}`);
  }
  return `${lines.join('\n')}\n`;
}
