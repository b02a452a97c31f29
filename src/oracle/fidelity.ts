/**
 * What the model knows to differ between its profiles and the real kernel (docs/FIDELITY.md is the prose
 * form of this table). A difference between a profile and the running kernel is *expected* when setting
 * the profile fields in which that profile differs from the running kernel's profile makes it vanish;
 * behaviours mmsim does not model are kept out of the comparison on the real side (a knob) instead.
 */
import { type KernelName, type KernelProfile, PROFILES, type ProfileOverrides } from '../kernel/profiles.js';

export interface ModelledDifference {
  field: keyof KernelProfile;
  /** The kernel commit and release that changed the behaviour. */
  commit: string;
  what: string;
  /** How the oracle sees it, or why it cannot. */
  observable: string;
}

/** Primary-MMU profile fields (the oracle compares the primary MMU only). */
export const MODELLED_DIFFERENCES: readonly ModelledDifference[] = [
  {
    field: 'forkCopiesPinnedPages',
    commit: '70e806e4e645 (v5.9)',
    what: 'fork copies a possibly DMA-pinned anonymous page into the child instead of sharing it COW',
    observable: 'partition: after fork with an io_uring fixed buffer, parent and child map distinct frames',
  },
  {
    field: 'wpReuse',
    commit: '09854ba94c6a (v5.9, do_wp_page by page_count), 6c287605fd56 (v5.19, PageAnonExclusive)',
    what: 'do_wp_page reuses a page by mapcount (v5.0) or only when exclusive / refcount 1 (v5.19+)',
    observable: 'partition: a write fault on a pinned, otherwise unshared page copies it in v5.19+',
  },
  {
    field: 'vmaMergeFaultedNextToUnfaulted',
    commit: '879bca0a2c4f (v6.16, mm/vma: fix incorrectly disallowed anonymous VMA merges)',
    what: 'a faulted vma that mprotect/madvise makes compatible with an unfaulted neighbour merges with it',
    observable: "partition: fork copies the neighbour's zero-page ptes (the merged vma has an anon_vma)",
  },
  {
    field: 'mprotectUnaccountsUnfaulted',
    commit: '2023, before v6.10 (mm/mprotect: allow unfaulted VMAs to be unaccounted on mprotect())',
    what: 'mprotect taking write away from an unfaulted private vma drops VM_ACCOUNT',
    observable:
      'partition: such a vma no longer merges into a faulted one, so fork does not copy its zero-page ptes',
  },
  {
    field: 'shmemFaultAround',
    commit: '8c6e50b0290c (v3.15, do_fault_around; shmem ->map_pages)',
    what: 'a read fault on a shared anonymous vma also maps the cached pages of its 16-page window',
    observable: 'partition: a child reading one page of a shared mapping maps its cached neighbours too',
  },
  {
    field: 'gupUnsharesReadOnlyPins',
    commit: 'a7f226604170 (v5.19, gup_must_unshare)',
    what: 'a read-only pin of an anonymous page still shared (after fork, KSM) unshares it first',
    observable:
      'partition: after a gup pin without write (an O_DIRECT write from the pages) the pinner has its own copy',
  },
  {
    field: 'ksmZeroPages',
    commit: '79271476b336, e2942062e01d (v6.5)',
    what: 'KSM marks the zero pages it places; MADV_UNMERGEABLE replaces them; ksm_zero_pages counts them',
    observable:
      'partition after MADV_UNMERGEABLE (own page, not the zero page) and the ksm_zero_pages counter',
  },
  {
    field: 'ksmZeroPagesForkAccounting',
    commit: '"mm/ksm: fix incorrect KSM counter handling in mm_struct during fork" (2025, in 6.18)',
    what: "fork adds the child's inherited KSM zero pages to ksm_zero_pages",
    observable: 'the ksm_zero_pages counter after fork',
  },
  {
    field: 'ksmChecksumBeforeStableSearch',
    commit: '"mm/ksm: don\'t waste time searching stable tree for fast changing page" (2024, v6.11)',
    what: "cmp_and_merge_page drops a non-KSM page's item from its tree and checks its checksum before the stable tree",
    observable:
      'partition and counters: a page unmerged and made mergeable again merges back under max_page_sharing',
  },
  {
    field: 'breakKsmUnshares',
    commit: '"mm/ksm: fix KSM COW breaking with userfaultfd-wp via FAULT_FLAG_UNSHARE" (v6.2)',
    what: 'break_ksm unshares instead of faking a write fault: the copy stays read-only and clean',
    observable: 'not by the oracle (it compares frames, not pte permissions)',
  },
  {
    field: 'mprotectMakesExclusiveWritable',
    commit: '64fe24a3e05e (v6.0, can_change_pte_writable)',
    what: 'mprotect making a private vma writable maps its exclusive anonymous pages writable at once',
    observable: 'not by the oracle: the write fault it spares would only reuse the page (same partition)',
  },
  {
    field: 'pinBias',
    commit: '3faa52c03f44 (v5.7, mm/gup: track FOLL_PIN pages)',
    what: 'FOLL_PIN adds 1024 to the refcount instead of 1',
    observable: 'not by itself: only through the refcount tests above',
  },
];

/**
 * Profile fields that stand for a sysfs knob's default: the oracle sets the real knob to the compared
 * profile's value (restored afterwards), so both sides behave alike and the field never shows as a
 * difference (`--kernel v5.0` runs the real ksmd without smart scan).
 */
export interface KnobField {
  field: keyof KernelProfile;
  /** The file in /sys/kernel/mm/ksm. */
  knob: string;
  commit: string;
  what: string;
}

export const KNOB_FIELDS: readonly KnobField[] = [
  {
    field: 'ksmSmartScan',
    knob: 'smart_scan',
    commit: '5e924ff54d08 (v6.7), on by default',
    what: 'ksmd skips a page that did not merge for 1, 2, 4, then 8 scans between looks (should_skip_rmap_item)',
  },
];

/**
 * Profile fields the oracle cannot see: the notifier chain and the secondary MMUs (it compares the
 * primary MMU), the RFC's flag, and the bug switches and what-ifs (the same in every real kernel).
 */
export const OUTSIDE_THE_ORACLE: readonly (keyof KernelProfile)[] = [
  'wrapChangePteInRange',
  'hasChangePte',
  'changePteFallsBackToInvalidatePage',
  'useChangePteFlagAt',
  'kvmUseChangePte',
  'kvmChangePteBumpsSeq',
  'hasInvalidateRange',
  'secondaryTlbsFollowCpuFlush',
  'kvmFaultChecksNotifierRetry',
  'ksmWriteProtectChecksPins',
  'clearFlushBeforeChangePte',
  'hmmMirrorChecksReadRetry',
  'ksmScanRevalidatesSlot',
  'kvmChangePteDefersToOtherInvalidations',
  'kvmChangePteMapsAbsent',
];

/** Real-kernel behaviours mmsim does not model; the oracle keeps them out of the comparison. */
export interface UnmodelledBehaviour {
  what: string;
  commit: string;
  handling: string;
}

export const UNMODELLED: readonly UnmodelledBehaviour[] = [
  {
    what: 'KSM advisor: pages_to_scan tuned from the scan time',
    commit: '66790e9a735b (v6.8), default off (advisor_mode none)',
    handling: 'left off; the oracle sets pages_to_scan itself',
  },
  {
    what: "ksmd's timing: batches of pages_to_scan every sleep_millisecs",
    commit: '—',
    handling:
      'the oracle sets pages_to_scan above its pages (one batch = one full scan) and wakes ksmd once per full scan',
  },
  {
    what: "gup_must_unshare's rule for pages that are not anonymous (read-only FOLL_LONGTERM pins of the zero page or of page cache in a COW mapping)",
    commit: '—',
    handling:
      "not modelled: the oracle's read-only pins are short-term (an O_DIRECT write), where it does not apply",
  },
  {
    what: 'private file-backed vmas (mprotect write upgrades of their pages, page cache COW)',
    commit: '—',
    handling: 'mmsim maps anonymous memory only; scenarios cannot name a file',
  },
  {
    what: 'transparent huge pages',
    commit: '—',
    handling: 'every real mapping gets MADV_NOHUGEPAGE',
  },
];

/** The profile closest to a running kernel version: the newest mainline profile not newer than it. */
export function nearestProfile([major, minor]: readonly [number, number]): KernelName {
  const mainline: [KernelName, number][] = [
    ['v3.2', 3.02],
    ['v5.0', 5.0],
    ['v6.10', 6.1],
    ['v6.18', 6.18],
  ];
  const v = major + minor / 100;
  let best: KernelName = 'v3.2';
  for (const [name, at] of mainline) if (at <= v + 1e-9) best = name;
  return best;
}

/** The modelled fields in which `kernel` differs from `reference` (the running kernel's profile). */
export function differingFields(kernel: KernelName, reference: KernelName): ModelledDifference[] {
  const a = PROFILES[kernel] as unknown as Record<string, unknown>;
  const b = PROFILES[reference] as unknown as Record<string, unknown>;
  return MODELLED_DIFFERENCES.filter((d) => a[d.field] !== b[d.field]);
}

/** The what-if overrides that give `kernel` the reference's behaviour in these fields. */
export function overridesFor(fields: readonly ModelledDifference[], reference: KernelName): ProfileOverrides {
  const b = PROFILES[reference] as unknown as Record<string, unknown>;
  const o: Record<string, unknown> = {};
  for (const d of fields) o[d.field] = b[d.field];
  return o as ProfileOverrides;
}
