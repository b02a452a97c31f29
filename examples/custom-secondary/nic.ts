/**
 * A NIC with its own IOTLB, written against mmsim's published API only. Its driver resolves a
 * translation the way a driver using hmm_range_fault or get_user_pages does (handle_mm_fault under
 * mmap_lock, then the pte), caches it in the IOTLB, and subscribes to the mm's mmu_notifier: every
 * ->invalidate_range_start zaps the range before the primary MMU changes it, and ->invalidate_range_end
 * lets fills start again. A fill checks that no invalidation ran while it was resolving (a sequence count,
 * as KVM's mmu_notifier_retry does), so an interleaving cannot leave a stale entry either.
 *
 * `ignoreInvalidate` makes the invalidate callback do nothing: the invariant checker then finds the
 * IOTLB mapping a frame the primary no longer maps there.
 */
import {
  type Agent,
  accessFrame,
  CountedSecondary,
  declareInstanceCounters,
  FAULT_FLAG_WRITE,
  handleMmFault,
  type Kernel,
  lockShared,
  logSecondary,
  type Mm,
  type MmuNotifier,
  type NotifierRange,
  PAGE_SIZE,
  type Path,
  preempt,
  preemptPoint,
  pteAccessible,
  ptePfn,
  pteSpecial,
  pteWrite,
  runToCompletion,
  type SecondaryAccessOutcome,
  type SecondaryMmu,
  type SecondaryTranslation,
  type StoreSource,
  secondaryName,
  type Task,
  unlockShared,
  VM_FAULT_ERROR,
  VM_FAULT_OOM,
  VM_READ,
  VM_WRITE,
  ZERO_PFN,
} from 'mmsim';

/**
 * The counters every NIC keeps, as `nic.NAME.counter` (a scenario may test them; a run lists them).
 * Fill retries are effort, not progress: the model checker's livelock detector ignores them.
 */
export const NIC_COUNTERS = declareInstanceCounters(
  'nic',
  'nic',
  {
    iotlb_fills: 'IOTLB entries installed after the driver resolved a translation',
    iotlb_zaps: 'invalidate_range_start calls that found entries to drop',
    fill_retries: 'fills abandoned because an invalidation ran meanwhile',
  },
  ['fill_retries'],
);
type NicCounter = (typeof NIC_COUNTERS.counters)[number];

/** How many times one page is resolved before the DMA gives up (only an endless invalidation storm gets here). */
const MAX_FILLS = 16;
const P_RESOLVED = preemptPoint('nic: translation resolved, before the IOTLB fill');

export interface NicOptions {
  /** The bug to show: ->invalidate_range_start keeps every entry. */
  ignoreInvalidate?: boolean;
}

export class Nic extends CountedSecondary<NicCounter> implements SecondaryMmu {
  readonly name: string;
  readonly mm: Mm;
  /** The NIC's DMA engine. */
  readonly agent: Agent;
  readonly subscription: MmuNotifier;
  /** The IOTLB: vpn -> pfn * 2 + writable. */
  readonly iotlb = new Map<number, number>();
  /** Invalidations started and not yet ended, and how many have started in all. */
  private active = 0;
  private seq = 0;
  private released = false;

  constructor(
    private readonly kernel: Kernel,
    nicName: string,
    readonly task: Task,
    private readonly options: NicOptions = {},
  ) {
    super(kernel.counters, NIC_COUNTERS, nicName);
    this.name = secondaryName(NIC_COUNTERS, nicName);
    this.mm = task.mm;
    this.agent = kernel.newAgent(`${nicName}.dma`, -1);
    this.subscription = {
      name: this.name,
      ops: {
        invalidateRangeStart: (a, r) => this.invalidateRangeStart(a, r),
        invalidateRangeEnd: (a, r) => this.invalidateRangeEnd(a, r),
        release: () => this.release(),
      },
    };
  }

  /** What a fill's retry check reads: the livelock detector fingerprints it. */
  retryState(): readonly number[] {
    return [this.active, this.seq];
  }

  translations(): Iterable<SecondaryTranslation> {
    return [...this.iotlb].map(([vpn, e]) => ({
      address: vpn * PAGE_SIZE,
      pfn: Math.floor(e / 2),
      writable: (e & 1) === 1,
    }));
  }

  // ---- the mmu_notifier

  *invalidateRangeStart(agent: Agent, range: NotifierRange): Path<number> {
    if (this.options.ignoreInvalidate) return 0;
    this.active++;
    this.seq++;
    let zapped = 0;
    for (const vpn of [...this.iotlb.keys()])
      if (vpn * PAGE_SIZE >= range.start && vpn * PAGE_SIZE < range.end && this.iotlb.delete(vpn)) zapped++;
    if (zapped > 0) this.bump('iotlb_zaps');
    logSecondary(this.kernel, agent, 'nic zap', this.mm, range.start, range.end, `${zapped} entries`);
    return 0;
  }

  *invalidateRangeEnd(_agent: Agent, _range: NotifierRange): Path {
    if (this.options.ignoreInvalidate) return;
    this.active--;
  }

  *release(): Path {
    this.iotlb.clear();
    this.released = true;
  }

  // ---- DMA

  /** One DMA access of the page at `address` (a store writes `source`, or 0xff pages). */
  *dma(address: number, write: boolean, source?: StoreSource): Path<SecondaryAccessOutcome> {
    const vpn = Math.floor(address / PAGE_SIZE);
    for (let fills = 0; ; fills++) {
      if (this.released) return { ok: false, error: 'EIO' };
      const e = this.iotlb.get(vpn);
      if (e !== undefined && (!write || (e & 1) === 1)) {
        const pfn = Math.floor(e / 2);
        const store = write ? (source ?? { pages: () => this.kernel.contents.fill(0xff) }) : undefined;
        accessFrame(
          this.kernel,
          this.agent,
          this.mm,
          address,
          pfn,
          store,
          0,
          PAGE_SIZE,
          0,
          undefined,
          0,
          this.name,
        );
        return { ok: true };
      }
      if (fills >= MAX_FILLS) return { ok: false, error: 'EIO' };
      const error = yield* this.fill(vpn, write);
      if (error !== null) return { ok: false, error };
    }
  }

  /** Resolve page `vpn` through the primary MMU and cache it, unless an invalidation ran meanwhile. */
  private *fill(vpn: number, write: boolean): Path<'EFAULT' | 'ENOMEM' | null> {
    const k = this.kernel;
    const mm = this.mm;
    const address = vpn * PAGE_SIZE;
    const seq = this.seq;
    yield* lockShared(this.agent, mm.mmapLock);
    try {
      const vma = mm.findVma(address);
      if (vma === undefined || mm.exiting || (vma.flags & (write ? VM_WRITE : VM_READ)) === 0)
        return 'EFAULT';
      const r = yield* handleMmFault(k, this.agent, vma, address, write ? FAULT_FLAG_WRITE : 0);
      if (r & VM_FAULT_OOM) return 'ENOMEM';
      if (r & VM_FAULT_ERROR) return 'EFAULT';
    } finally {
      unlockShared(mm.mmapLock);
    }
    yield* preempt(P_RESOLVED);
    const pte = mm.pt.get(vpn);
    if (this.active > 0 || this.seq !== seq || !pteAccessible(pte) || (write && !pteWrite(pte))) {
      this.bump('fill_retries');
      return null; // the DMA tries again
    }
    this.iotlb.set(vpn, (pteSpecial(pte) ? ZERO_PFN : ptePfn(pte)) * 2 + (pteWrite(pte) ? 1 : 0));
    this.bump('iotlb_fills');
    k.secondaryMapped(mm, address); // so an incremental invariant check looks at the new entry
    return null;
  }

  /** Sequential DMA of one page. */
  read(address: number): SecondaryAccessOutcome {
    return runToCompletion(this.dma(address, false));
  }

  write(address: number, source?: StoreSource): SecondaryAccessOutcome {
    return runToCompletion(this.dma(address, true, source));
  }
}
