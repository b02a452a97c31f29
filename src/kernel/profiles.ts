/**
 * Kernel profiles: the behaviours that differ between the kernels mmsim models, as data. Paths ask the
 * profile; nothing tests a version string. Sources: ../shared/reference/kernel-semantics.md §0, §3.5, §4.
 */

/** Every modelled kernel, in the order lists show them; PROFILES has one profile for each. */
export const KERNEL_NAMES = ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10', 'v6.18'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** What KVM does with a range that carries MMU_NOTIFIER_USE_CHANGE_PTE. */
export type KvmUseChangePtePolicy =
  /** KVM does not know the flag: start zaps, end bumps the sequence (v5.0 and every kernel without the RFC). */
  | 'ignore'
  /** RFC 4/4: return early from both start and end (no count, no zap, no sequence bump). */
  | 'skip-start-and-end'
  /** Andrea Arcangeli's variant (aagit/aa): keep count++ and the end's seq++, skip only the zap. */
  | 'skip-zap';

export interface KernelProfile {
  readonly name: KernelName;
  readonly description: string;
  /** Commit 6bdb913f0a70 (v3.7): set_pte_at_notify callers are bracketed by invalidate_range_start/end. */
  readonly wrapChangePteInRange: boolean;
  /** set_pte_at_notify() and the .change_pte() op exist (removed in v6.10). */
  readonly hasChangePte: boolean;
  /** Before v3.7, a subscriber without .change_pte got .invalidate_page in its place. */
  readonly changePteFallsBackToInvalidatePage: boolean;
  /** Where the seed's RFC sets MMU_NOTIFIER_USE_CHANGE_PTE (none unless an RFC profile). */
  readonly useChangePteFlagAt: {
    readonly writeProtectPage: boolean;
    readonly replacePage: boolean;
    readonly wpPageCopy: boolean;
    /** mprotect's change_protection: never legal (a batch update, not one set_pte_at_notify). A bug switch. */
    readonly changeProtection: boolean;
  };
  /** How KVM treats a flagged range. */
  readonly kvmUseChangePte: KvmUseChangePtePolicy;
  /** v5.0 KVM's change_pte bumps mmu_notifier_seq (removed in 2021). */
  readonly kvmChangePteBumpsSeq: boolean;
  /** The ->invalidate_range op (secondary TLBs sharing the CPU page table) exists (v3.19+). */
  readonly hasInvalidateRange: boolean;
  /**
   * v6.6+: secondary TLBs are invalidated from the architecture's TLB flush (arch_invalidate_secondary_tlbs),
   * including permission upgrades (Alistair Popple, 2023), instead of ptep_clear_flush_notify and range end.
   */
  readonly secondaryTlbsFollowCpuFlush: boolean;
  /**
   * fork() copies a page that may be pinned for DMA into the child instead of sharing it copy-on-write
   * (commit 70e806e4e645, v5.9). Without it, the parent's later COW loses the pinned page (v5.0's bug).
   */
  readonly forkCopiesPinnedPages: boolean;
  /**
   * do_wp_page's reuse test: 'mapcount' (v5.0 reuse_swap_page: the only mapping, pins ignored) or
   * 'anon-exclusive' (v5.19+ PageAnonExclusive, else refcount == 1).
   */
  readonly wpReuse: 'mapcount' | 'anon-exclusive';
  /** pin_user_pages (FOLL_PIN, v5.6+) adds GUP_PIN_COUNTING_BIAS (1024) to the refcount; else +1. */
  readonly pinBias: number;
  /**
   * A read fault on a shared anonymous (shmem) vma maps the page-cache pages around it too
   * (do_fault_around + shmem's ->map_pages = filemap_map_pages, v3.15: 8c6e50b0290c and Ning Qu's
   * "mm: implement ->map_pages for shmem/tmpfs"); found by the oracle's fuzzer (fork, child reads).
   */
  readonly shmemFaultAround: boolean;
  /**
   * vma_merge lets a faulted vma (one with an anon_vma) that mprotect or madvise changed merge with an
   * unfaulted neighbour (879bca0a2c4f, v6.16, "mm/vma: fix incorrectly disallowed anonymous VMA
   * merges"); before, only the neighbour could bring the anon_vma. Fork copies the merged range's ptes.
   */
  readonly vmaMergeFaultedNextToUnfaulted: boolean;
  /**
   * mprotect taking write away from an unfaulted private anonymous vma drops its VM_ACCOUNT ("mm/mprotect:
   * allow unfaulted VMAs to be unaccounted on mprotect()", Lorenzo Stoakes, 2023, before v6.10): it can
   * then merge with a neighbour that was never writable.
   */
  readonly mprotectUnaccountsUnfaulted: boolean;
  /**
   * A read-only pin (FOLL_PIN without FOLL_WRITE) of an anonymous page that may be shared (not
   * PageAnonExclusive: after fork, or a KSM page) unshares it first with FAULT_FLAG_UNSHARE
   * (gup_must_unshare, a7f226604170, v5.19), so the pin and the process keep seeing the same page.
   */
  readonly gupUnsharesReadOnlyPins: boolean;
  /** break_ksm unshares (FAULT_FLAG_UNSHARE, v6.2) instead of faking a write fault: the copy stays read-only. */
  readonly breakKsmUnshares: boolean;
  /**
   * mprotect making a private vma writable maps its exclusive anonymous pages writable at once
   * (can_change_pte_writable, 64fe24a3e05e, v6.0), sparing the write fault that would reuse them.
   */
  readonly mprotectMakesExclusiveWritable: boolean;
  /**
   * use_zero_pages: KSM marks the zero pages it places (dirty pte), MADV_UNMERGEABLE replaces them with
   * fresh pages, and ksm_zero_pages counts them (79271476b336, e2942062e01d, v6.5).
   */
  readonly ksmZeroPages: boolean;
  /** fork adds the child's inherited KSM zero pages to ksm_zero_pages (the 2025 fix, in 6.18). */
  readonly ksmZeroPagesForkAccounting: boolean;
  /**
   * cmp_and_merge_page takes a non-KSM page's item out of its tree and applies the checksum gate before
   * searching the stable tree (2024, v6.11, "mm/ksm: don't waste time searching stable tree for fast
   * changing page"): found by the oracle's fuzzer (max_page_sharing 2, a page merged back after unmerge).
   */
  readonly ksmChecksumBeforeStableSearch: boolean;
  /**
   * ksmd's smart scan, on by default (sysfs smart_scan=1; 5e924ff54d08, v6.7, "mm/ksm: add smart page
   * scanning mode"; should_skip_rmap_item in mm/ksm.c v6.18): a page that is not a KSM page is aged at
   * each visit and, from its fourth, skipped for 1, 2, 4, then 8 visits between looks, leaving its tree.
   */
  readonly ksmSmartScan: boolean;

  // Bug switches (src/check/bugs.ts): true in every real kernel; false re-introduces a historical bug.
  /** KVM's fault installs its spte only if mmu_notifier_retry says no invalidation ran or runs (since 2008). */
  readonly kvmFaultChecksNotifierRetry: boolean;
  /** KSM's write_protect_page refuses a page whose refcount says someone (O_DIRECT, DMA) holds a pin. */
  readonly ksmWriteProtectChecksPins: boolean;
  /** The pte is cleared and flushed before ->change_pte announces its successor (Andrea Arcangeli's order). */
  readonly clearFlushBeforeChangePte: boolean;
  /** The HMM mirror re-checks mmu_interval_read_retry under its lock before using hmm_range_fault's pfns. */
  readonly hmmMirrorChecksReadRetry: boolean;
  /** ksmd re-checks, after lru_add_drain_all, that the mm_slot list did not empty meanwhile (CVE-2011-2183). */
  readonly ksmScanRevalidatesSlot: boolean;
  /**
   * KVM's change_pte takes no action (maps nothing new) while an invalidate_range_start other than its
   * own is outstanding: the rule commit 6bdb913f0a70 (v3.7) states for change_pte clients ("should not
   * take action on it in case the number of outstanding invalidate_range_start calls is larger than one,
   * otherwise they might miss a later invalidation"). Only matters where change_pte maps (below).
   */
  readonly kvmChangePteDefersToOtherInvalidations: boolean;

  // What-ifs no kernel shipped (false in every profile), set with --set to explore a design.
  /**
   * KVM's change_pte maps a read-only successor pte even where the guest has no spte (the in-place
   * secondary update change_pte was meant to give; v5.0's kvm_set_pte_rmapp only edits existing sptes).
   */
  readonly kvmChangePteMapsAbsent: boolean;
}

const NO_FLAG = {
  writeProtectPage: false,
  replacePage: false,
  wpPageCopy: false,
  changeProtection: false,
} as const;
const SEED_FLAG = {
  writeProtectPage: true,
  replacePage: true,
  wpPageCopy: true,
  changeProtection: false,
} as const;

const v50: KernelProfile = {
  name: 'v5.0',
  description: 'mainline v5.0, the RFC base: start() zaps the spte, so change_pte() finds nothing to update',
  wrapChangePteInRange: true,
  hasChangePte: true,
  changePteFallsBackToInvalidatePage: false,
  useChangePteFlagAt: NO_FLAG,
  kvmUseChangePte: 'ignore',
  kvmChangePteBumpsSeq: true,
  hasInvalidateRange: true,
  secondaryTlbsFollowCpuFlush: false,
  forkCopiesPinnedPages: false,
  wpReuse: 'mapcount',
  pinBias: 1,
  shmemFaultAround: true,
  vmaMergeFaultedNextToUnfaulted: false,
  mprotectUnaccountsUnfaulted: false,
  gupUnsharesReadOnlyPins: false,
  breakKsmUnshares: false,
  mprotectMakesExclusiveWritable: false,
  ksmZeroPages: false,
  ksmZeroPagesForkAccounting: false,
  ksmChecksumBeforeStableSearch: false,
  ksmSmartScan: false,
  kvmFaultChecksNotifierRetry: true,
  ksmWriteProtectChecksPins: true,
  clearFlushBeforeChangePte: true,
  hmmMirrorChecksReadRetry: true,
  ksmScanRevalidatesSlot: true,
  kvmChangePteDefersToOtherInvalidations: true,
  kvmChangePteMapsAbsent: false,
};

const v610: KernelProfile = {
  ...v50,
  name: 'v6.10',
  description: 'change_pte() and set_pte_at_notify() removed; secondary TLBs follow CPU TLB flushes',
  hasChangePte: false,
  kvmChangePteBumpsSeq: false,
  secondaryTlbsFollowCpuFlush: true,
  forkCopiesPinnedPages: true,
  wpReuse: 'anon-exclusive',
  pinBias: 1024,
  mprotectUnaccountsUnfaulted: true,
  gupUnsharesReadOnlyPins: true,
  breakKsmUnshares: true,
  mprotectMakesExclusiveWritable: true,
  ksmZeroPages: true,
  ksmSmartScan: true,
};

export const PROFILES: Readonly<Record<KernelName, KernelProfile>> = {
  'v3.2': {
    ...v50,
    name: 'v3.2',
    description: 'before commit 6bdb913f0a70 (v3.7): change_pte() runs alone and updates the spte in place',
    wrapChangePteInRange: false,
    changePteFallsBackToInvalidatePage: true,
    hasInvalidateRange: false,
    shmemFaultAround: false,
  },
  'v5.0': v50,
  'rfc-2019': {
    ...v50,
    name: 'rfc-2019',
    description:
      "the seed's series: USE_CHANGE_PTE on the 3 call sites, KVM returns early from start and end",
    useChangePteFlagAt: SEED_FLAG,
    kvmUseChangePte: 'skip-start-and-end',
  },
  'rfc-2019-aa': {
    ...v50,
    name: 'rfc-2019-aa',
    description:
      "Andrea Arcangeli's variant: the flag skips only KVM's zap; count and sequence still guard faults",
    useChangePteFlagAt: SEED_FLAG,
    kvmUseChangePte: 'skip-zap',
  },
  'v6.10': v610,
  'v6.18': {
    ...v610,
    name: 'v6.18',
    description: 'the kernel the development machines run (v6.10 plus what changed since that mmsim models)',
    vmaMergeFaultedNextToUnfaulted: true,
    ksmZeroPagesForkAccounting: true,
    ksmChecksumBeforeStableSearch: true,
  },
};

export function isKernelName(s: string): s is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(s);
}

export function profile(name: KernelName): KernelProfile {
  return PROFILES[name];
}

/** A profile field a user may change for a what-if run: `kvmChangePteBumpsSeq=false`, `useChangePteFlagAt.wpPageCopy=false`. */
export type ProfileOverrides = Partial<Omit<KernelProfile, 'name' | 'description' | 'useChangePteFlagAt'>> & {
  useChangePteFlagAt?: Partial<KernelProfile['useChangePteFlagAt']>;
};

const ENUM_FIELDS: Record<string, readonly string[]> = {
  kvmUseChangePte: ['ignore', 'skip-start-and-end', 'skip-zap'],
  wpReuse: ['mapcount', 'anon-exclusive'],
};

/**
 * Parse `field=value` (dotted for useChangePteFlagAt) into overrides; an error message says what was
 * expected. Types follow the field's type in the profile.
 */
export function parseProfileSetting(text: string, into: ProfileOverrides): string | null {
  const m = /^([A-Za-z.]+)=(.*)$/.exec(text.trim());
  if (!m) return `expected FIELD=VALUE, got '${text}'`;
  const [, field, raw] = m;
  const base = PROFILES['v5.0'] as unknown as Record<string, unknown>;
  const settable = Object.keys(base).filter((k) => k !== 'name' && k !== 'description');
  const [head, sub] = field.split('.');
  if (!settable.includes(head))
    return `unknown profile field '${head}'; expected one of ${settable.join(', ')}`;
  if (head === 'useChangePteFlagAt') {
    const sites = Object.keys(base.useChangePteFlagAt as object);
    if (sub === undefined || !sites.includes(sub))
      return `expected useChangePteFlagAt.SITE with SITE one of ${sites.join(', ')}`;
    if (raw !== 'true' && raw !== 'false') return `${field}: expected true or false, got '${raw}'`;
    into.useChangePteFlagAt = { ...into.useChangePteFlagAt, [sub]: raw === 'true' };
    return null;
  }
  if (sub !== undefined) return `'${head}' has no fields`;
  const target = into as Record<string, unknown>;
  const kind = typeof base[head];
  if (kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') return `${head}: expected true or false, got '${raw}'`;
    target[head] = raw === 'true';
  } else if (kind === 'number') {
    if (!/^\d+$/.test(raw)) return `${head}: expected a non-negative integer, got '${raw}'`;
    target[head] = Number(raw);
  } else {
    const allowed = ENUM_FIELDS[head] ?? [];
    if (!allowed.includes(raw)) return `${head}: expected one of ${allowed.join(', ')}, got '${raw}'`;
    target[head] = raw;
  }
  return null;
}

/** A profile with what-if overrides applied; its description says what was changed. */
export function withOverrides(p: KernelProfile, o: ProfileOverrides | undefined): KernelProfile {
  if (o === undefined || Object.keys(o).length === 0) return p;
  const changes = Object.entries(o).map(
    ([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
  );
  return {
    ...p,
    ...o,
    useChangePteFlagAt: { ...p.useChangePteFlagAt, ...o.useChangePteFlagAt },
    description: `${p.description} [what-if: ${changes.join(', ')}]`,
  } as KernelProfile;
}

/** The `--set FIELD=VALUE` arguments that reproduce these overrides (the inverse of parseProfileSetting). */
export function profileSettings(o: ProfileOverrides | undefined): string[] {
  return Object.entries(o ?? {}).flatMap(([key, v]) =>
    typeof v === 'object' && v !== null
      ? Object.entries(v).map(([site, b]) => `${key}.${site}=${b}`)
      : [`${key}=${v}`],
  );
}
