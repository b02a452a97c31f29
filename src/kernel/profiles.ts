/**
 * Kernel profiles: the behaviours that differ between the kernels mmsim models, as data. Paths ask the
 * profile; nothing tests a version string. Sources: ../shared/reference/kernel-semantics.md §0, §3.5, §4.
 */

export type KernelName = 'v3.2' | 'v5.0' | 'rfc-2019' | 'rfc-2019-aa' | 'v6.10';

export const KERNEL_NAMES: readonly KernelName[] = ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'];

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
}

const NO_FLAG = { writeProtectPage: false, replacePage: false, wpPageCopy: false } as const;
const SEED_FLAG = { writeProtectPage: true, replacePage: true, wpPageCopy: true } as const;

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
};

export const PROFILES: Readonly<Record<KernelName, KernelProfile>> = {
  'v3.2': {
    ...v50,
    name: 'v3.2',
    description: 'before commit 6bdb913f0a70 (v3.7): change_pte() runs alone and updates the spte in place',
    wrapChangePteInRange: false,
    changePteFallsBackToInvalidatePage: true,
    hasInvalidateRange: false,
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
  'v6.10': {
    ...v50,
    name: 'v6.10',
    description: 'change_pte() and set_pte_at_notify() removed; secondary TLBs follow CPU TLB flushes',
    hasChangePte: false,
    kvmChangePteBumpsSeq: false,
    secondaryTlbsFollowCpuFlush: true,
    forkCopiesPinnedPages: true,
    wpReuse: 'anon-exclusive',
    pinBias: 1024,
  },
};

export function isKernelName(s: string): s is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(s);
}

export function profile(name: KernelName): KernelProfile {
  return PROFILES[name];
}
