/**
 * An HMM device mirror, after lib/test_hmm.c's dmirror (v5.7+): an mmu_interval_notifier over the whole
 * address space, a device page table (vpn -> pfn, writable) that holds no page references, faults through
 * mmu_interval_read_begin / hmm_range_fault / mmu_interval_read_retry under the driver mutex, and an
 * invalidate callback that erases the range whatever the event. The device reads and writes memory under
 * the same mutex, so it never uses an entry an invalidation has started to remove.
 */

import { ZERO_PFN } from '../../hw/frames.js';
import { PAGE_SIZE } from '../../hw/page.js';
import { pteAccessible, ptePfn, pteSpecial, pteWrite } from '../../hw/pte.js';
import type { StoreSource } from '../../mm/access.js';
import { FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_OOM } from '../../mm/fault.js';
import type { Kernel, Task } from '../../mm/kernel.js';
import { handleMmFault } from '../../mm/memory.js';
import type { Mm } from '../../mm/mm.js';
import type { NotifierRange } from '../../mm/notifier-port.js';
import { VM_READ, VM_WRITE } from '../../mm/vma.js';
import { MmuIntervalNotifier } from '../../notifier/ops.js';
import { mmuNotifierRangeBlockable } from '../../notifier/range.js';
import {
  mmuIntervalCheckRetry,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../../notifier/register.js';
import type { SecondaryTranslation, TranslationVisitor } from '../../notifier/secondary-view.js';
import { BigMap } from '../../sim/big-map.js';
import {
  type Agent,
  Lock,
  lock,
  lockShared,
  type Path,
  preempt,
  preemptPoint,
  retryPoint,
  runToCompletion,
  tryLock,
  unlock,
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
  logSecondary,
  type SecondaryAccessError,
  type SecondaryAccessOutcome,
  toSource,
} from '../common.js';
import { type SecondaryMmu, secondaryName } from '../secondary-mmu.js';
import { HMM_COUNTERS } from './counters.js';

export type HmmCounter = (typeof HMM_COUNTERS.counters)[number];

/** dmirror_fault handles at most this many pages per dmirror_range_fault (test_hmm.c's 64-page chunks). */
const FAULT_CHUNK_PAGES = 64;
/** dmirror_range_fault gives up with -EBUSY after its timeout; the model counts attempts instead. */
const MAX_RANGE_FAULT_TRIES = 32;
/** Device faults one page may take before the access reports EIO (sequentially: at most two). */
const MAX_DEVICE_FAULTS = 16;
/** The whole user address space (the mirror's interval). */
const USER_END = 2 ** 47;

const P_AFTER_HMM_FAULT = preemptPoint('dmirror_range_fault: hmm_range_fault done, before the mutex');
const P_BETWEEN_PAGES = preemptPoint('dmirror access: between pages');
/** dmirror_range_fault going round again (-EBUSY or read_retry): the head of the retry loop. */
const P_RANGE_FAULT_AGAIN = retryPoint('dmirror_range_fault: again, before mmu_interval_read_begin');

export class HmmMirror extends CountedSecondary<HmmCounter> implements SecondaryMmu {
  /** 'dev:NAME'. */
  readonly name: string;
  readonly mm: Mm;
  /** The device's engine (`NAME.dev`). */
  readonly agent: Agent;
  /** dmirror->mutex. */
  readonly mutex: Lock;
  /** Its interval notifier over the whole address space, inserted when the mirror is attached to a World. */
  readonly notifier: MmuIntervalNotifier;
  /** The device page table (dmirror->pt): vpn -> pfn * 2 + writable. No page references are held. */
  readonly pt: Map<number, number> = new RecordedMap(new BigMap<number, number>());
  destroyed = false;

  constructor(
    private readonly kernel: Kernel,
    readonly deviceName: string,
    readonly task: Task,
  ) {
    super(kernel.counters, HMM_COUNTERS, deviceName);
    this.name = secondaryName(HMM_COUNTERS, deviceName);
    this.mm = task.mm;
    this.agent = kernel.newAgent(`${deviceName}.dev`, -1);
    this.mutex = new Lock(`${this.counters}.mutex`);
    this.notifier = new MmuIntervalNotifier(this.name, this.mm, 0, USER_END, {
      invalidate: (agent, sub, range, curSeq) => this.invalidate(agent, sub, range, curSeq),
    });
    if (kernel.recording) logSecondary(kernel, task.agent, 'dmirror bind', this.mm);
  }

  get subscription(): MmuIntervalNotifier {
    return this.notifier;
  }

  retryState(): readonly number[] {
    return [this.notifier.invalidateSeq];
  }

  /** The device's entry for the page holding `address`. */
  entryFor(address: number): { pfn: number; writable: boolean } | undefined {
    return decodeEntry(this.pt.get(Math.floor(address / PAGE_SIZE)));
  }

  translations(): Iterable<SecondaryTranslation> {
    return entriesAsTranslations(this.pt, PAGE_SIZE);
  }

  translationsIn(start: number, end: number, visit: TranslationVisitor): void {
    entriesAsTranslationsIn(this.pt, PAGE_SIZE, start, end, visit);
  }

  // ---- the interval notifier ----

  /** dmirror_interval_invalidate: under the mutex (trylock if not blockable), set_seq, erase the range. */
  *invalidate(agent: Agent, sub: MmuIntervalNotifier, range: NotifierRange, curSeq: number): Path<boolean> {
    if (mmuNotifierRangeBlockable(range)) yield* lock(agent, this.mutex);
    else if (!tryLock(agent, this.mutex)) return false;
    mmuIntervalSetSeq(sub, curSeq);
    const erased = this.erase(range.start, range.end);
    this.bump('invalidations');
    unlock(agent, this.mutex);
    if (this.kernel.recording) {
      logSecondary(
        this.kernel,
        agent,
        'dmirror invalidate',
        this.mm,
        range.start,
        range.end,
        `${erased} entries (${range.by})`,
      );
    }
    return true;
  }

  /** dmirror_do_update: xa_erase every entry in [start, end). */
  private erase(start: number, end: number): number {
    const from = Math.floor(start / PAGE_SIZE);
    const to = Math.ceil(end / PAGE_SIZE);
    let n = 0;
    if (to - from > this.pt.size) {
      for (const vpn of [...this.pt.keys()]) if (vpn >= from && vpn < to && this.pt.delete(vpn)) n++;
    } else {
      for (let vpn = from; vpn < to; vpn++) if (this.pt.delete(vpn)) n++;
    }
    return n;
  }

  // ---- device accesses ----

  /**
   * A device load (`write` false; bytes when `wantData`) or store of `source` of `len` bytes at `address`
   * (default one page, or the bytes' length): dmirror_read / dmirror_write. Each page is accessed under the
   * mutex through the device table; a missing entry (or a read-only one for a store) drops the mutex and
   * faults (dmirror_fault), then tries again.
   */
  *devAccess(
    address: number,
    write: boolean,
    source?: StoreSource,
    wantData = false,
    len?: number,
  ): Path<SecondaryAccessOutcome> {
    if (this.destroyed) return { ok: false, error: 'EFAULT' };
    const { store, n } = accessRequest(this.kernel, write, source, len);
    const agent = this.agent;
    const out = wantData ? new Uint8Array(n) : undefined;
    let done = 0;
    let pageIndex = 0;
    while (done < n) {
      const at = address + done;
      const vpn = Math.floor(at / PAGE_SIZE);
      const chunk = Math.min(PAGE_SIZE - (at - vpn * PAGE_SIZE), n - done);
      for (let tries = 0; ; tries++) {
        if (tries >= MAX_DEVICE_FAULTS) return { ok: false, error: 'EIO' }; // a livelocking schedule
        yield* lock(agent, this.mutex);
        const e = this.pt.get(vpn);
        if (e !== undefined && (!write || (e & 1) === 1)) {
          accessFrame(
            this.kernel,
            agent,
            this.mm,
            at,
            Math.floor(e / 2),
            store,
            done,
            chunk,
            pageIndex,
            out,
            done,
            this.name,
          );
          unlock(agent, this.mutex);
          break;
        }
        unlock(agent, this.mutex);
        const endPage = Math.min(Math.ceil((address + n) / PAGE_SIZE), vpn + FAULT_CHUNK_PAGES);
        const r = yield* this.rangeFault(vpn * PAGE_SIZE, endPage * PAGE_SIZE, write);
        if (r !== null) return { ok: false, error: r };
      }
      done += chunk;
      pageIndex++;
      if (done < n) yield* preempt(P_BETWEEN_PAGES);
    }
    return out === undefined ? { ok: true } : { ok: true, data: out };
  }

  /**
   * dmirror_range_fault: loop { seq = mmu_interval_read_begin; hmm_range_fault under mmap_sem; take the
   * mutex; if mmu_interval_read_retry, drop it and loop } then store the entries and drop the mutex.
   */
  *rangeFault(start: number, end: number, write: boolean): Path<SecondaryAccessError | null> {
    const agent = this.agent;
    const k = this.kernel;
    this.bump('faults');
    if (k.recording) logSecondary(k, agent, 'dmirror fault', this.mm, start, end, write ? 'write' : 'read');
    for (let tries = 0; ; tries++) {
      if (tries >= MAX_RANGE_FAULT_TRIES) return 'EIO'; // -EBUSY after the driver's timeout
      if (tries > 0) yield* preempt(P_RANGE_FAULT_AGAIN);
      const seq = yield* mmuIntervalReadBegin(k, this.notifier);
      yield* lockShared(agent, this.mm.mmapLock);
      let got: { vpn: number; pfn: number; writable: boolean }[] | SecondaryAccessError | 'EBUSY';
      try {
        got = yield* this.hmmRangeFault(seq, start, end, write);
      } finally {
        unlockShared(this.mm.mmapLock);
      }
      if (got === 'EBUSY') {
        this.bump('retries');
        continue;
      }
      if (typeof got === 'string') return got;
      yield* preempt(P_AFTER_HMM_FAULT);
      yield* lock(agent, this.mutex);
      // the drivers before the v5.5 interval-notifier series trusted hmm_range_fault's pfns here
      if (k.profile.hmmMirrorChecksReadRetry && mmuIntervalReadRetry(this.notifier, seq)) {
        unlock(agent, this.mutex);
        this.bump('retries');
        if (k.recording) logSecondary(k, agent, 'dmirror retry', this.mm, start, end);
        continue;
      }
      // dmirror_do_fault
      for (const g of got) {
        this.pt.set(g.vpn, g.pfn * 2 + (g.writable ? 1 : 0));
        k.secondaryMapped(this.mm, g.vpn * PAGE_SIZE);
      }
      unlock(agent, this.mutex);
      return null;
    }
  }

  /**
   * hmm_range_fault (mm/hmm.c, v5.7+) with HMM_PFN_REQ_FAULT (| REQ_WRITE): walk [start, end), faulting
   * in what is missing (or read-only, for a write) with handle_mm_fault; -EBUSY when the interval's
   * sequence moved. Caller holds mmap_sem for read. No page references are taken.
   */
  private *hmmRangeFault(
    seq: number,
    start: number,
    end: number,
    write: boolean,
  ): Path<{ vpn: number; pfn: number; writable: boolean }[] | SecondaryAccessError | 'EBUSY'> {
    const mm = this.mm;
    const out: { vpn: number; pfn: number; writable: boolean }[] = [];
    for (let addr = start; addr < end; addr += PAGE_SIZE) {
      const vpn = addr / PAGE_SIZE;
      for (let tries = 0; ; tries++) {
        if (mmuIntervalCheckRetry(this.notifier, seq)) return 'EBUSY';
        const vma = mm.findVma(addr);
        if (vma === undefined || mm.exiting || (vma.flags & (write ? VM_WRITE : VM_READ)) === 0)
          return 'EFAULT';
        const pte = mm.pt.get(vpn);
        if (pteAccessible(pte) && (!write || pteWrite(pte))) {
          out.push({ vpn, pfn: pteSpecial(pte) ? ZERO_PFN : ptePfn(pte), writable: pteWrite(pte) });
          break;
        }
        if (tries > 4) return 'EFAULT';
        const r = yield* handleMmFault(this.kernel, this.agent, vma, addr, write ? FAULT_FLAG_WRITE : 0);
        if (r & VM_FAULT_OOM) return 'ENOMEM';
        if (r & VM_FAULT_ERROR) return 'EFAULT';
      }
    }
    return out;
  }

  /** Sequential device load of `len` bytes at `address`. */
  read(address: number, len = PAGE_SIZE): SecondaryAccessOutcome {
    return runToCompletion(this.devAccess(address, false, undefined, true, len));
  }

  /** Sequential device store at `address`: bytes (or a string), or whole pages. */
  write(address: number, data: StoreSource | Uint8Array | string): SecondaryAccessOutcome {
    const { source, len } = toSource(data);
    return runToCompletion(this.devAccess(address, true, source, false, len));
  }

  /** mmu_interval_notifier_remove, and the device table is dropped. */
  destroy(): void {
    if (this.destroyed) return;
    mmuIntervalNotifierRemove(this.kernel, this.task.agent, this.notifier);
    this.pt.clear();
    this.destroyed = true;
  }
}
