/**
 * An IOMMU SVA binding (Intel/AMD/ARM SVA drivers, v5.0 era; the 2023 change through the profile): the
 * device walks the process's own page table through its PASID and caches what it walked in an IOTLB —
 * permissions included, as ARM's SMMU without broadcast TLB maintenance does. The binding implements only
 * ->invalidate_range and ->release. ->invalidate_range is called where the kernel calls it: under the ptl
 * from ptep_clear_flush_notify, from the mmu_gather flush, and at a full invalidate_range_end (never at
 * _only_end); on v6.6+ profiles from every CPU TLB flush instead (arch_invalidate_secondary_tlbs),
 * including wp_page_reuse's permission upgrade. Before that fix nothing flushes the IOTLB when
 * wp_page_reuse makes a pte writable, so a device store through an entry cached read-only faults, the
 * fault handler finds nothing to do, and the device faults again: the model bounds the retries and
 * counts the transaction as a stuck write.
 */

import { ZERO_PFN } from '../../hw/frames.js';
import { PAGE_SIZE } from '../../hw/page.js';
import { pteAccessible, pteMkdirty, pteMkyoung, ptePfn, pteSpecial, pteWrite } from '../../hw/pte.js';
import type { StoreSource } from '../../mm/access.js';
import { FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_OOM } from '../../mm/fault.js';
import type { Errno, Kernel, Task } from '../../mm/kernel.js';
import { handleMmFault } from '../../mm/memory.js';
import type { Mm } from '../../mm/mm.js';
import { VM_READ, VM_WRITE } from '../../mm/vma.js';
import type { MmuNotifier } from '../../notifier/ops.js';
import { mmuNotifierUnregister } from '../../notifier/register.js';
import type { SecondaryTranslation, TranslationVisitor } from '../../notifier/secondary-view.js';
import {
  type Agent,
  lockShared,
  type Path,
  preempt,
  preemptPoint,
  retryPoint,
  runToCompletion,
  unlockShared,
} from '../../sim/exec.js';
import { RecordedMap } from '../../sim/recorded-map.js';
import {
  accessFrame,
  accessRequest,
  CountedSecondary,
  decodeEntry,
  entriesAsTranslations,
  entriesAsTranslationsIn,
  hex,
  logSecondary,
  type SecondaryAccessError,
  type SecondaryAccessOutcome,
  type SetupError,
  setupError,
  toSource,
} from '../common.js';
import { type SecondaryMmu, secondaryName } from '../secondary-mmu.js';
import { IOMMU_COUNTERS } from './counters.js';

export type IommuCounter = (typeof IOMMU_COUNTERS.counters)[number];

/** IOTLB capacity (entries); the oldest entry is evicted first. */
const IOTLB_ENTRIES = 512;
/** How many page requests a device issues for one transaction before it aborts it. */
const MAX_PAGE_REQUESTS = 4;

const P_BETWEEN_PAGES = preemptPoint('sva dma: between pages');
const P_PAGE_REQUEST = retryPoint('sva dma: page request queued, before the fault handler');

export class IommuSva extends CountedSecondary<IommuCounter> implements SecondaryMmu {
  /** 'iommu:NAME'. */
  readonly name: string;
  readonly mm: Mm;
  /** The device issuing DMA (`NAME.dma`). */
  readonly agent: Agent;
  /** The IOTLB (with the ATC): vpn -> pfn * 2 + writable, oldest first. */
  readonly iotlb: Map<number, number> = new RecordedMap(new Map<number, number>());
  /** Why binding failed (EOPNOTSUPP on kernels without ->invalidate_range), or null when bound. */
  readonly bindError: Errno | null;
  /** The PASID was torn down (->release, or unbind). */
  released = false;
  /** Its mmu_notifier (null when binding failed), registered when the binding is attached to a World. */
  readonly subscription: MmuNotifier | null;

  constructor(
    private readonly kernel: Kernel,
    readonly deviceName: string,
    readonly task: Task,
  ) {
    super(kernel.counters, IOMMU_COUNTERS, deviceName);
    this.name = secondaryName(IOMMU_COUNTERS, deviceName);
    this.mm = task.mm;
    this.agent = kernel.newAgent(`${deviceName}.dma`, -1);
    if (!kernel.profile.hasInvalidateRange) {
      // no ->invalidate_range before v3.19: nothing could keep a shared-page-table TLB coherent
      this.bindError = 'EOPNOTSUPP';
      this.subscription = null;
      if (kernel.recording)
        logSecondary(kernel, task.agent, 'sva bind failed', this.mm, undefined, undefined, 'EOPNOTSUPP');
      return;
    }
    this.bindError = null;
    this.subscription = {
      name: this.name,
      ops: {
        invalidateRange: (a, _mm, s, e) => this.invalidateRange(a, s, e),
        release: (a) => this.release(a),
      },
    };
    if (kernel.recording) logSecondary(kernel, task.agent, 'sva bind', this.mm);
  }

  /** iommu_sva_bind_device: the binding, or the errno that kept it from existing. */
  static bindDevice(kernel: Kernel, name: string, task: Task): IommuSva | SetupError {
    const sva = new IommuSva(kernel, name, task);
    return sva.bindError === null ? sva : setupError(sva.bindError, 'no ->invalidate_range on this kernel');
  }

  /** The IOTLB entry for the page holding `address`. */
  iotlbEntry(address: number): { pfn: number; writable: boolean } | undefined {
    return decodeEntry(this.iotlb.get(Math.floor(address / PAGE_SIZE)));
  }

  translations(): Iterable<SecondaryTranslation> {
    return entriesAsTranslations(this.iotlb, PAGE_SIZE);
  }

  translationsIn(start: number, end: number, visit: TranslationVisitor): void {
    entriesAsTranslationsIn(this.iotlb, PAGE_SIZE, start, end, visit);
  }

  // ---- notifier ops ----

  /**
   * ->invalidate_range (intel_invalidate_range / arm_smmu_mm_invalidate_range): invalidate the IOTLB and
   * ATC for [start, end). Runs under the ptl; takes no lock.
   */
  *invalidateRange(agent: Agent, start: number, end: number): Path {
    const from = Math.floor(start / PAGE_SIZE);
    const to = Math.ceil(end / PAGE_SIZE);
    let n = 0;
    if (to - from > this.iotlb.size) {
      for (const vpn of [...this.iotlb.keys()]) if (vpn >= from && vpn < to && this.iotlb.delete(vpn)) n++;
    } else {
      for (let vpn = from; vpn < to; vpn++) if (this.iotlb.delete(vpn)) n++;
    }
    this.bump('iotlb_flushes');
    if (this.kernel.recording)
      logSecondary(this.kernel, agent, 'iotlb invalidate', this.mm, start, end, `${n} entries`);
  }

  /** ->release: tear down the PASID entry and flush everything; later DMA is aborted. */
  *release(agent: Agent): Path {
    this.iotlb.clear();
    this.released = true;
    this.bump('iotlb_flushes');
    if (this.kernel.recording) logSecondary(this.kernel, agent, 'sva release', this.mm);
  }

  // ---- DMA ----

  /**
   * A DMA load (`write` false; bytes when `wantData`) or store of `len` bytes at `address` (default one
   * page, or the bytes' length). Per page: the IOTLB, else a walk of the CPU page table (setting accessed
   * and dirty like the CPU); a translation or permission fault becomes a page request that the IOMMU
   * driver resolves with handle_mm_fault, after which the device retries the transaction.
   */
  *dma(
    address: number,
    write: boolean,
    source?: StoreSource,
    wantData = false,
    len?: number,
  ): Path<SecondaryAccessOutcome> {
    if (this.bindError !== null) return { ok: false, error: 'EOPNOTSUPP' };
    const { store, n } = accessRequest(this.kernel, write, source, len);
    const agent = this.agent;
    const out = wantData ? new Uint8Array(n) : undefined;
    let done = 0;
    let pageIndex = 0;
    while (done < n) {
      if (this.released) return { ok: false, error: 'EIO' };
      const at = address + done;
      const vpn = Math.floor(at / PAGE_SIZE);
      const chunk = Math.min(PAGE_SIZE - (at - vpn * PAGE_SIZE), n - done);
      let pfn = this.translate(vpn, write);
      for (let requests = 0; pfn < 0; requests++) {
        const stale = this.iotlb.has(vpn); // a permission fault on a cached entry
        if (requests >= MAX_PAGE_REQUESTS) {
          if (stale) {
            this.bump('stuck_writes');
            if (this.kernel.recording) {
              logSecondary(
                this.kernel,
                agent,
                'stuck write',
                this.mm,
                vpn * PAGE_SIZE,
                vpn * PAGE_SIZE + PAGE_SIZE,
                `the IOTLB keeps a read-only entry the primary made writable; ${requests} page requests did not help`,
              );
            }
          }
          return { ok: false, error: 'EIO' };
        }
        const r = yield* this.pageRequest(at, write, stale);
        if (r !== null) return { ok: false, error: r };
        if (this.released) return { ok: false, error: 'EIO' };
        pfn = this.translate(vpn, write);
      }
      accessFrame(this.kernel, agent, this.mm, at, pfn, store, done, chunk, pageIndex, out, done, this.name);
      done += chunk;
      pageIndex++;
      if (done < n) yield* preempt(P_BETWEEN_PAGES);
    }
    return out === undefined ? { ok: true } : { ok: true, data: out };
  }

  /**
   * The device's translation: an IOTLB hit allowing the access, else (on a miss only) a walk of the CPU
   * page table that fills the IOTLB. A hit that does not allow a store is a permission fault: the cached
   * permission is used, the table is not re-walked. -1 = fault.
   */
  private translate(vpn: number, write: boolean): number {
    const e = this.iotlb.get(vpn);
    if (e !== undefined) return !write || (e & 1) === 1 ? Math.floor(e / 2) : -1;
    const mm = this.mm;
    const pte = mm.pt.get(vpn);
    if (!pteAccessible(pte) || (write && !pteWrite(pte))) return -1; // none or PROT_NONE: a fault
    let walked = pteMkyoung(pte);
    if (write) walked = pteMkdirty(walked);
    if (walked !== pte) mm.pt.set(vpn, walked); // hardware A/D update, as the CPU's walk does
    const pfn = pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
    if (this.iotlb.size >= IOTLB_ENTRIES) {
      const oldest = this.iotlb.keys().next().value;
      if (oldest !== undefined) this.iotlb.delete(oldest);
    }
    this.iotlb.set(vpn, pfn * 2 + (pteWrite(pte) ? 1 : 0));
    this.kernel.secondaryMapped(mm, vpn * PAGE_SIZE);
    return pfn;
  }

  /**
   * A page request (PRI / IOPF) and its handler (intel-svm prq_event_thread, iommu_sva_handle_iopf):
   * under mmap_sem, check the vma allows the access and run handle_mm_fault. The handler touches only
   * the page table; the IOTLB is whatever the kernel's notifications left it.
   */
  private *pageRequest(address: number, write: boolean, stale: boolean): Path<SecondaryAccessError | null> {
    const k = this.kernel;
    const agent = this.agent;
    const mm = this.mm;
    this.bump('faults');
    if (k.recording) {
      logSecondary(
        k,
        agent,
        'iopf',
        mm,
        address,
        address + 1,
        `${write ? 'write' : 'read'}${stale ? ' (permission, cached entry)' : ''} at ${hex(address)}`,
      );
    }
    yield* preempt(P_PAGE_REQUEST);
    yield* lockShared(agent, mm.mmapLock);
    try {
      const vma = mm.findVma(address);
      if (vma === undefined || mm.exiting || (vma.flags & (write ? VM_WRITE : VM_READ)) === 0)
        return 'EFAULT';
      const r = yield* handleMmFault(k, agent, vma, address, write ? FAULT_FLAG_WRITE : 0);
      if (r & VM_FAULT_OOM) return 'ENOMEM';
      if (r & VM_FAULT_ERROR) return 'EFAULT';
      return null;
    } finally {
      unlockShared(mm.mmapLock);
    }
  }

  /** Sequential DMA load of `len` bytes at `address`. */
  read(address: number, len = PAGE_SIZE): SecondaryAccessOutcome {
    return runToCompletion(this.dma(address, false, undefined, true, len));
  }

  /** Sequential DMA store at `address`: bytes (or a string), or whole pages. */
  write(address: number, data: StoreSource | Uint8Array | string): SecondaryAccessOutcome {
    const { source, len } = toSource(data);
    return runToCompletion(this.dma(address, true, source, false, len));
  }

  /** iommu_sva_unbind_device: unregister (->release runs unless exit already did). */
  destroy(): void {
    if (this.subscription !== null && !this.mm.dead && !this.released) {
      runToCompletion(mmuNotifierUnregister(this.kernel, this.task.agent, this.mm, this.subscription));
    }
    this.iotlb.clear();
    this.released = true;
  }
}
