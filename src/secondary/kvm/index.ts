/**
 * A KVM guest bound to a host process (virt/kvm/kvm_main.c and arch/x86/kvm/mmu.c, v5.0; the RFC's KVM
 * patch and Andrea Arcangeli's variant through the profile's kvmUseChangePte). The guest's memory is the
 * process's virtual memory behind memslots; KVM keeps its own table gfn -> (pfn, writable, accessed)
 * (the sptes) and each vCPU a TLB of them. vCPUs use the sptes without the primary MMU, as hardware does;
 * a missing or read-only spte is an EPT violation that KVM resolves with get_user_pages on the host
 * address under the mmu_notifier_seq / mmu_notifier_count retry protocol. KVM learns of every primary
 * change only through its mmu_notifier.
 */

import { ZERO_PFN } from '../../hw/frames.js';
import { PAGE_SIZE } from '../../hw/page.js';
import { ptePfn, pteSpecial, pteWrite } from '../../hw/pte.js';
import type { StoreSource } from '../../mm/access.js';
import { followPage, getUserPages } from '../../mm/gup.js';
import type { Kernel, Task } from '../../mm/kernel.js';
import type { Mm } from '../../mm/mm.js';
import type { NotifierRange } from '../../mm/notifier-port.js';
import type { MmuNotifier, MmuNotifierOps } from '../../notifier/ops.js';
import { mmuNotifierRangeUseChangePte } from '../../notifier/range.js';
import { mmuNotifierUnregister } from '../../notifier/register.js';
import type { SecondaryTranslation, TranslationVisitor } from '../../notifier/secondary-view.js';
import {
  type Agent,
  Lock,
  lock,
  ModelBug,
  type Path,
  preempt,
  preemptPoint,
  retryPoint,
  runToCompletion,
  unlock,
} from '../../sim/exec.js';
import { Access, FOOTPRINT, FootprintKind, footprintSerial, note } from '../../sim/footprint.js';
import { detailFormat } from '../../sim/log.js';
import {
  accessFrame,
  accessRequest,
  CountedSecondary,
  hex,
  isSetupError,
  logSecondary,
  logSecondaryAs,
  type SecondaryAccessError,
  type SecondaryAccessOutcome,
  type SetupError,
  setupError,
  toSource,
} from '../common.js';
import { type SecondaryMmu, secondaryName } from '../secondary-mmu.js';
import { KVM_COUNTERS } from './counters.js';
import { GuestTlb, Memslot, SPTE_ACCESSED, SPTE_WRITABLE } from './memslot.js';

export { GuestTlb, Memslot } from './memslot.js';

// the details of KVM's frequent events, made only when shown (sim/log.ts DetailFormat)
const EPT_VIOLATION = detailFormat(
  'kvm ept_violation',
  (gfn, write) => `gfn ${hex(gfn)} ${write ? 'write' : 'read'}`,
);
const MAP_SPTE = detailFormat(
  'kvm map spte',
  (gfn, pfn, writable) => `gfn ${hex(gfn)} -> pfn ${hex(pfn)} ${writable ? 'RW' : 'RO'}`,
);
const FAULT_RETRY = detailFormat(
  'kvm fault retry',
  (seq, now, count) => `seq ${seq} -> ${now}, count ${count}`,
);
const ZAPPED_BY = detailFormat('kvm zap sptes', (zapped, _y, _z, by) => `${zapped} (${by})`);
const FLUSH_FOR_RANGE = detailFormat(
  'kvm flush for a range',
  (_x, _y, _z, by) => `invalidate_range_start ${by}`,
);
const TO_PFN = detailFormat('kvm change_pte', (pfn) => `-> pfn ${hex(pfn)}`);

/** A memslot as KVM_SET_USER_MEMORY_REGION gives it: guest frame number, host address, size in bytes. */
export interface MemslotSpec {
  gfn: number;
  addr: number;
  size: number;
}

/**
 * Test-only breakage, to show the invariants catch a broken KVM:
 * - 'skip-retry-check': the fault installs its spte without mmu_notifier_retry (no seq/count check);
 * - 'keep-spte-on-start': invalidate_range_start raises the count but does not zap.
 */
export type KvmFaultInjection = 'skip-retry-check' | 'keep-spte-on-start';

export interface KvmGuestOptions {
  vcpus?: number;
  faultInjection?: KvmFaultInjection;
}

/** One spte as introspection shows it. */
export interface Spte {
  pfn: number;
  writable: boolean;
  accessed: boolean;
}

export type KvmCounter = (typeof KVM_COUNTERS.counters)[number];

/** What tdp_page_fault tells the vCPU: re-enter the guest (the access is tried again), or give up. */
type FaultResult = 'done' | 'retry' | SecondaryAccessError;

const P_SEQ_READ = preemptPoint('kvm tdp_page_fault: mmu_notifier_seq read, before gfn_to_pfn');
const P_PFN = preemptPoint('kvm tdp_page_fault: pfn from gfn_to_pfn, before mmu_lock');
const P_BETWEEN_PAGES = preemptPoint('kvm guest access: between pages');
/** Re-entering the guest after a fault that did not map the page: the head of the retry loop. */
const P_FAULT_AGAIN = retryPoint('kvm vcpu: EPT violation again, before tdp_page_fault');

/**
 * A vCPU gives up on an access after this many EPT violations for one page and reports EIO. Run
 * sequentially a fault settles in two or three; only a schedule that keeps invalidating the page (a
 * livelock the kernel would also suffer) gets here.
 */
const MAX_FAULTS_PER_ACCESS = 64;

/** KVM's retry-protocol counts, by their index in `protocol` (also their footprint key). */
const SEQ = 0;
const COUNT = 1;
const ACTIVE = 2;

export class KvmGuest extends CountedSecondary<KvmCounter> implements SecondaryMmu {
  /** 'kvm:NAME': the view's name in violation reports. */
  readonly name: string;
  readonly mm: Mm;
  readonly slots: Memslot[];
  readonly vcpus: Agent[];
  readonly tlbs: GuestTlb[];
  /** kvm->mmu_lock. */
  readonly mmuLock: Lock;
  /** kvm->mmu_notifier_seq, mmu_notifier_count and mn_active_invalidate_count (see the accessors). */
  private readonly protocol = [0, 0, 0];
  /** The retry protocol's counts in footprints (check/dpor.ts): one key each. */
  private readonly protocolSerial = footprintSerial();

  private noteProtocol(field: number, mode: Access): void {
    if (FOOTPRINT.on) note(FootprintKind.SecondaryState, this.protocolSerial, field, mode);
  }

  /**
   * seq++, count++/--, active++/--, as the notifier callbacks do them. Additions commute with each other
   * (any order gives the same sum), so in a footprint they are marks: two threads' brackets do not order
   * each other through the counts, while a reader of a count (the fault's retry check) orders against
   * every change of it.
   */
  private addToProtocol(field: number, n: number): void {
    this.noteProtocol(field, Access.Mark);
    this.protocol[field] += n;
  }

  /** kvm->mmu_notifier_seq: bumped by every invalidate_range_end (and, v5.0, change_pte). */
  get mmuNotifierSeq(): number {
    this.noteProtocol(SEQ, Access.Read);
    return this.protocol[SEQ];
  }
  /** kvm->mmu_notifier_count: invalidations between start and end. */
  get mmuNotifierCount(): number {
    this.noteProtocol(COUNT, Access.Read);
    return this.protocol[COUNT];
  }
  /**
   * Every invalidate_range_start not yet ended, the RFC's early-returning flagged ones included: what
   * kvm->mn_active_invalidate_count counts from v5.13 (52ac8b358b0c). Here it only lets change_pte
   * obey 6bdb913f0a70's rule (kvmChangePteDefersToOtherInvalidations).
   */
  get mnActiveInvalidateCount(): number {
    this.noteProtocol(ACTIVE, Access.Read);
    return this.protocol[ACTIVE];
  }
  readonly faultInjection: KvmFaultInjection | undefined;
  /** The notifier's release ran (exit_mmap or unregister): the guest's memory is gone. */
  released = false;
  destroyed = false;
  /** Its mmu_notifier (kvm->mmu_notifier), registered when the guest is attached to a World. */
  readonly subscription: MmuNotifier;
  /** Pages gfn_to_pfn holds a reference on until kvm_release_pfn_clean (one per fault in flight). */
  private readonly inflight: number[] = [];

  constructor(
    private readonly kernel: Kernel,
    readonly guestName: string,
    readonly task: Task,
    memslots: MemslotSpec[],
    opts: KvmGuestOptions = {},
  ) {
    super(kernel.counters, KVM_COUNTERS, guestName);
    this.name = secondaryName(KVM_COUNTERS, guestName);
    this.mm = task.mm;
    this.faultInjection = opts.faultInjection;
    const slots = makeSlots(memslots);
    const n = opts.vcpus ?? 1;
    const refused = isSetupError(slots) ? slots : checkVcpus(n);
    if (refused !== null)
      throw new ModelBug(`KvmGuest: ${refused.errno}: ${refused.detail} (use KvmGuest.create)`);
    this.slots = slots as Memslot[];
    this.vcpus = Array.from({ length: n }, (_, i) => kernel.newAgent(`${guestName}.vcpu${i}`));
    this.tlbs = this.vcpus.map(() => new GuestTlb());
    this.mmuLock = new Lock(`${this.counters}.mmu_lock`);
    const ops: MmuNotifierOps = {
      invalidateRangeStart: (a, r) => this.invalidateRangeStart(a, r),
      invalidateRangeEnd: (a, r) => this.invalidateRangeEnd(a, r),
      clearFlushYoung: (a, _mm, s, e) => this.clearFlushYoung(a, s, e),
      clearYoung: (a, _mm, s, e) => this.clearYoung(a, s, e),
      testYoung: (a, _mm, addr) => this.testYoung(a, addr),
      release: (a) => this.release(a),
    };
    // v6.10 removed .change_pte from KVM together with set_pte_at_notify
    if (kernel.profile.hasChangePte) ops.changePte = (a, _mm, addr, pte) => this.changePte(a, addr, pte);
    this.subscription = { name: this.name, ops }; // kvm_init_mmu_notifier registers it (World.attach)
    if (kernel.recording) {
      logSecondary(kernel, task.agent, 'kvm_create_vm', this.mm, undefined, undefined, this.describeSlots());
    }
  }
  /**
   * KVM_CREATE_VM + KVM_SET_USER_MEMORY_REGION + KVM_CREATE_VCPU: the guest, or the errno KVM answers
   * (EINVAL for an unaligned memslot or no vCPU, EEXIST for overlapping gfn ranges).
   */
  static create(
    kernel: Kernel,
    name: string,
    task: Task,
    memslots: MemslotSpec[],
    opts: KvmGuestOptions = {},
  ): KvmGuest | SetupError {
    const slots = makeSlots(memslots);
    if (isSetupError(slots)) return slots;
    return checkVcpus(opts.vcpus ?? 1) ?? new KvmGuest(kernel, name, task, memslots, opts);
  }

  retryState(): readonly number[] {
    return [this.mmuNotifierSeq, this.mmuNotifierCount];
  }

  // ---- introspection ----

  /** The memslot holding `gfn` and the index in it, or undefined (__gfn_to_memslot). */
  slotOf(gfn: number): { slot: Memslot; index: number } | undefined {
    const slots = this.slots;
    let lo = 0;
    let hi = slots.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = slots[mid];
      if (gfn < s.baseGfn) hi = mid - 1;
      else if (gfn >= s.endGfn) lo = mid + 1;
      else return { slot: s, index: gfn - s.baseGfn };
    }
    return undefined;
  }

  /** The host virtual address behind `gfn`, or undefined outside every memslot. */
  gfnToHva(gfn: number): number | undefined {
    const s = this.slotOf(gfn);
    return s === undefined ? undefined : s.slot.hvaOf(s.index);
  }

  /** The spte of `gfn`, if there is one. */
  spteFor(gfn: number): Spte | undefined {
    const s = this.slotOf(gfn);
    if (s === undefined) return undefined;
    const pfn = s.slot.pfnAt(s.index);
    if (pfn < 0) return undefined;
    const bits = s.slot.bitsAt(s.index);
    return { pfn, writable: (bits & SPTE_WRITABLE) !== 0, accessed: (bits & SPTE_ACCESSED) !== 0 };
  }

  /** Every present spte, by gfn. */
  *sptes(): IterableIterator<Spte & { gfn: number; hva: number }> {
    for (const s of this.slots) {
      s.noteWalk();
      if (s.present === 0) continue;
      for (let i = 0; i < s.npages; i++) {
        const pfn = s.pfn[i];
        if (pfn < 0) continue;
        const bits = s.bits[i];
        yield {
          gfn: s.baseGfn + i,
          hva: s.hvaOf(i),
          pfn,
          writable: (bits & SPTE_WRITABLE) !== 0,
          accessed: (bits & SPTE_ACCESSED) !== 0,
        };
      }
    }
  }

  /** How many sptes are present. */
  get presentSptes(): number {
    let n = 0;
    for (const s of this.slots) n += s.present;
    return n;
  }

  *translations(): Iterable<SecondaryTranslation> {
    for (const s of this.slots) {
      if (s.present === 0) continue;
      for (let i = 0; i < s.npages; i++) {
        const pfn = s.pfn[i];
        if (pfn >= 0) yield { address: s.hvaOf(i), pfn, writable: (s.bits[i] & SPTE_WRITABLE) !== 0 };
      }
    }
    const cached: SecondaryTranslation[] = [];
    for (const tlb of this.tlbs) {
      tlb.forEach((gfn, pfn, writable) => {
        const hva = this.gfnToHva(gfn);
        if (hva !== undefined) cached.push({ address: hva, pfn, writable });
      });
    }
    yield* cached;
  }

  /** The translations of host addresses in [start, end): sptes, then what each vCPU's TLB caches. */
  translationsIn(start: number, end: number, visit: TranslationVisitor): void {
    const few = end - start <= 64 * PAGE_SIZE; // then look the few gfns up in each TLB, else filter the TLBs
    const gfns: number[] = [];
    for (const s of this.slots) {
      if (s.present === 0 && !few) continue;
      const [lo, hi] = s.indicesOfHvaRange(start, end);
      for (let i = lo; i < hi; i++) {
        const pfn = s.pfn[i];
        if (pfn >= 0) visit(s.hvaOf(i), pfn, (s.bits[i] & SPTE_WRITABLE) !== 0);
        if (few) gfns.push(s.baseGfn + i);
      }
    }
    for (const tlb of this.tlbs) {
      if (few) {
        for (const gfn of gfns) {
          const e = tlb.peek(gfn);
          if (e >= 0) visit(this.gfnToHva(gfn)!, Math.floor(e / 2), (e & 1) === 1);
        }
      } else {
        tlb.forEach((gfn, pfn, writable) => {
          const hva = this.gfnToHva(gfn);
          if (hva !== undefined && hva >= start && hva < end) visit(hva, pfn, writable);
        });
      }
    }
  }

  heldRefs(): Map<number, number> {
    const out = new Map<number, number>();
    for (const pfn of this.inflight) if (pfn !== ZERO_PFN) out.set(pfn, (out.get(pfn) ?? 0) + 1);
    return out;
  }

  // ---- vCPU accesses ----

  /**
   * A vCPU access to guest frame `gfn`: a load (`write` false; the bytes when `wantData`) or a store of
   * `source` (bytes at the start of the page, or a whole page). `len` defaults to the bytes' length or
   * one page.
   */
  *guestAccess(
    vcpu: number,
    gfn: number,
    write: boolean,
    source?: StoreSource,
    wantData = false,
    len?: number,
  ): Path<SecondaryAccessOutcome> {
    const { store, n } = accessRequest(this.kernel, write, source, len);
    return yield* this.gpaAccess(vcpu, gfn * PAGE_SIZE, n, store, wantData);
  }

  /**
   * A vCPU access of `len` bytes at guest-physical `gpa`, page by page (page i of a pages source goes to
   * the i-th page). Each page is translated through the vCPU's TLB and the sptes; an EPT violation runs
   * tdp_page_fault and the access is retried.
   */
  *gpaAccess(
    vcpu: number,
    gpa: number,
    len: number,
    source: StoreSource | undefined,
    wantData = false,
  ): Path<SecondaryAccessOutcome> {
    if (this.destroyed) return { ok: false, error: 'EFAULT' };
    const agent = this.vcpus[vcpu];
    if (agent === undefined) throw new Error(`${this.name} has no vCPU ${vcpu}`);
    const write = source !== undefined;
    const out = wantData ? new Uint8Array(len) : undefined;
    let done = 0;
    let pageIndex = 0;
    while (done < len) {
      const at = gpa + done;
      const gfn = Math.floor(at / PAGE_SIZE);
      const chunk = Math.min(PAGE_SIZE - (at - gfn * PAGE_SIZE), len - done);
      const s = this.slotOf(gfn);
      if (s === undefined) return { ok: false, error: 'EFAULT' }; // no memslot: an MMIO exit to userspace
      let pfn = this.translate(vcpu, s.slot, s.index, gfn, write);
      for (let tries = 0; pfn < 0; tries++) {
        if (tries >= MAX_FAULTS_PER_ACCESS) {
          if (this.kernel.recording) {
            logSecondary(
              this.kernel,
              agent,
              'gave up',
              this.mm,
              undefined,
              undefined,
              `gfn ${hex(gfn)}: ${tries} EPT violations`,
            );
          }
          return { ok: false, error: 'EIO' };
        }
        if (tries > 0) yield* preempt(P_FAULT_AGAIN);
        const r = yield* this.tdpPageFault(vcpu, gfn, write);
        if (r !== 'done' && r !== 'retry') return { ok: false, error: r };
        pfn = this.translate(vcpu, s.slot, s.index, gfn, write);
      }
      const hva = s.slot.hvaOf(s.index) + (at - gfn * PAGE_SIZE);
      accessFrame(
        this.kernel,
        agent,
        this.mm,
        hva,
        pfn,
        source,
        done,
        chunk,
        pageIndex,
        out,
        done,
        this.name,
      );
      done += chunk;
      pageIndex++;
      if (done < len) yield* preempt(P_BETWEEN_PAGES);
    }
    return out === undefined ? { ok: true } : { ok: true, data: out };
  }

  /**
   * The hardware's translation: the vCPU's TLB, else a walk of the sptes (setting the accessed bit and
   * filling the TLB). -1 means an EPT violation.
   */
  private translate(vcpu: number, slot: Memslot, index: number, gfn: number, write: boolean): number {
    const tlb = this.tlbs[vcpu];
    const cached = tlb.lookup(gfn, write);
    if (cached >= 0) return cached;
    const pfn = slot.pfnAt(index);
    if (pfn < 0) return -1;
    const bits = slot.bitsAt(index);
    if (write && (bits & SPTE_WRITABLE) === 0) return -1;
    slot.setBits(index, bits | SPTE_ACCESSED);
    tlb.fill(gfn, pfn, (bits & SPTE_WRITABLE) !== 0);
    this.kernel.secondaryMapped(this.mm, slot.hvaOf(index));
    return pfn;
  }

  /** Sequential guest load of `len` bytes at the start of `gfn` (vCPU 0 unless given). */
  read(gfn: number, len = PAGE_SIZE, vcpu = 0): SecondaryAccessOutcome {
    return runToCompletion(this.gpaAccess(vcpu, gfn * PAGE_SIZE, len, undefined, true));
  }

  /** Sequential guest store into `gfn`: bytes (or a string) at the start of the page, or a whole page. */
  write(gfn: number, data: StoreSource | Uint8Array | string, vcpu = 0): SecondaryAccessOutcome {
    const { source, len } = toSource(data);
    return runToCompletion(this.gpaAccess(vcpu, gfn * PAGE_SIZE, len, source, false));
  }

  /** Sequential guest load at a guest-physical address. */
  readGpa(gpa: number, len: number, vcpu = 0): SecondaryAccessOutcome {
    return runToCompletion(this.gpaAccess(vcpu, gpa, len, undefined, true));
  }

  /** Sequential guest store at a guest-physical address. */
  writeGpa(gpa: number, data: StoreSource | Uint8Array | string, vcpu = 0): SecondaryAccessOutcome {
    const { source, len } = toSource(data);
    return runToCompletion(this.gpaAccess(vcpu, gpa, len, source, false));
  }

  // ---- the fault path ----

  /**
   * tdp_page_fault (arch/x86/kvm/mmu.c v5.0): read mmu_notifier_seq, translate the host address with
   * gfn_to_pfn (GUP, which may fault the primary and COW), take mmu_lock, give up if mmu_notifier_retry
   * says an invalidation ran or is running, else install the spte (writable only if the host pte was).
   */
  *tdpPageFault(vcpu: number, gfn: number, write: boolean): Path<FaultResult> {
    const agent = this.vcpus[vcpu];
    const s = this.slotOf(gfn);
    if (s === undefined) return 'EFAULT';
    const hva = s.slot.hvaOf(s.index);
    const k = this.kernel;
    this.bump('faults');
    logSecondaryAs(
      k,
      agent,
      'ept_violation',
      this.mm,
      hva,
      hva + PAGE_SIZE,
      EPT_VIOLATION,
      gfn,
      write ? 1 : 0,
    );
    this.tlbs[vcpu].flushGfn(gfn); // the faulting translation is not kept
    const mmuSeq = this.mmuNotifierSeq;
    yield* preempt(P_SEQ_READ);
    const got = yield* this.hvaToPfn(agent, hva, write);
    if (typeof got === 'string') return got;
    this.inflight.push(got.pfn);
    yield* preempt(P_PFN);
    yield* lock(agent, this.mmuLock);
    const checksRetry = k.profile.kvmFaultChecksNotifierRetry && this.faultInjection !== 'skip-retry-check';
    if (this.released || (checksRetry && this.mmuNotifierRetry(mmuSeq))) {
      unlock(agent, this.mmuLock);
      this.releasePfn(got.pfn);
      if (this.released) return 'EFAULT';
      this.bump('retries');
      logSecondaryAs(
        k,
        agent,
        'fault retry',
        this.mm,
        hva,
        hva + PAGE_SIZE,
        FAULT_RETRY,
        mmuSeq,
        this.protocol[SEQ], // for the log only: the retry check above read them
        this.protocol[COUNT],
      );
      return 'retry';
    }
    const slot = s.slot;
    const old = slot.pfnAt(s.index);
    slot.set(s.index, got.pfn, (got.writable ? SPTE_WRITABLE : 0) | SPTE_ACCESSED);
    k.secondaryMapped(this.mm, hva);
    logSecondaryAs(
      k,
      agent,
      'map spte',
      this.mm,
      hva,
      hva + PAGE_SIZE,
      MAP_SPTE,
      gfn,
      got.pfn,
      got.writable ? 1 : 0,
    );
    if (old >= 0 && old !== got.pfn) this.flushRemoteTlbs(agent, 'spte replaced');
    unlock(agent, this.mmuLock);
    this.releasePfn(got.pfn); // kvm_release_pfn_clean: KVM keeps no reference while mapped
    return 'done';
  }

  /** mmu_notifier_retry (include/linux/kvm_host.h v5.0). Caller holds mmu_lock. */
  mmuNotifierRetry(mmuSeq: number): boolean {
    return this.mmuNotifierCount > 0 || this.mmuNotifierSeq !== mmuSeq;
  }

  /**
   * hva_to_pfn (virt/kvm/kvm_main.c v5.0): hva_to_pfn_fast takes a writable page without faulting if the
   * host pte allows it (also for read faults: map_writable); else get_user_pages (FOLL_WRITE for a write
   * fault), then for a read fault one more try for a writable page. The caller owns the reference until
   * kvm_release_pfn_clean.
   */
  private *hvaToPfn(
    agent: Agent,
    hva: number,
    writeFault: boolean,
  ): Path<{ pfn: number; writable: boolean } | SecondaryAccessError> {
    const k = this.kernel;
    const mm = this.mm;
    const fast = followPage(mm, hva, true);
    if (fast >= 0 && fast !== ZERO_PFN) {
      k.getPage(fast);
      return { pfn: fast, writable: true };
    }
    const r = yield* getUserPages(k, agent, mm, hva, 1, { write: writeFault, pin: false });
    if (typeof r === 'string') return r === 'ENOMEM' ? 'ENOMEM' : 'EFAULT';
    let pfn = r.pfns[0];
    let writable = writeFault;
    if (!writeFault) {
      const w = followPage(mm, hva, true);
      if (w >= 0 && w !== ZERO_PFN) {
        k.getPage(w);
        k.putPage(pfn);
        pfn = w;
        writable = true;
      }
    }
    return { pfn, writable };
  }

  /** kvm_release_pfn_clean: drop the reference a fault took in gfn_to_pfn. */
  private releasePfn(pfn: number): void {
    const list = this.inflight;
    const i = list.lastIndexOf(pfn);
    if (i < 0) throw new ModelBug(`${this.name} releases pfn ${hex(pfn)} it does not hold`);
    list[i] = list[list.length - 1];
    list.pop();
    this.kernel.putPage(pfn);
  }

  // ---- secondary TLB and spte range operations (mmu_lock held) ----

  /** kvm_flush_remote_tlbs: every vCPU drops its cached translations; why: the caller, or the range starting. */
  private flushRemoteTlbs(agent: Agent, why: string | NotifierRange): void {
    for (const t of this.tlbs) t.flushAll();
    this.bump('remote_tlb_flushes');
    const k = this.kernel;
    const what = 'kvm_flush_remote_tlbs';
    if (typeof why === 'string') {
      if (k.recording) logSecondary(k, agent, what, this.mm, undefined, undefined, why);
    } else logSecondaryAs(k, agent, what, this.mm, undefined, undefined, FLUSH_FOR_RANGE, 0, 0, 0, why.by);
  }

  /** kvm_unmap_hva_range: zap every spte whose host page lies in [start, end); returns how many. */
  private unmapHvaRange(start: number, end: number): number {
    let zapped = 0;
    for (const s of this.slots) {
      if (s.present === 0) continue;
      const [lo, hi] = s.indicesOfHvaRange(start, end);
      for (let i = lo; i < hi; i++) if (s.drop(i)) zapped++;
    }
    if (zapped > 0) this.bump('sptes_zapped', zapped);
    return zapped;
  }

  // ---- mmu_notifier callbacks (virt/kvm/kvm_main.c v5.0) ----

  /**
   * kvm_mmu_notifier_invalidate_range_start: count++, zap the range, flush the vCPUs' TLBs.
   * RFC 4/4 returns at once on a USE_CHANGE_PTE range; Andrea's variant counts but does not zap.
   */
  *invalidateRangeStart(agent: Agent, range: NotifierRange): Path<number> {
    const policy = this.kernel.profile.kvmUseChangePte;
    const flagged = mmuNotifierRangeUseChangePte(range);
    this.addToProtocol(ACTIVE, 1);
    if (flagged && policy === 'skip-start-and-end') return 0;
    yield* lock(agent, this.mmuLock);
    this.addToProtocol(COUNT, 1);
    const skipZap = (flagged && policy === 'skip-zap') || this.faultInjection === 'keep-spte-on-start';
    if (!skipZap) {
      const zapped = this.unmapHvaRange(range.start, range.end);
      if (zapped > 0) {
        logSecondaryAs(
          this.kernel,
          agent,
          'zap sptes',
          this.mm,
          range.start,
          range.end,
          ZAPPED_BY,
          zapped,
          0,
          0,
          range.by,
        );
        this.flushRemoteTlbs(agent, range);
      }
    }
    unlock(agent, this.mmuLock);
    return 0;
  }

  /** kvm_mmu_notifier_invalidate_range_end: seq++ then count-- (RFC 4/4: nothing on a flagged range). */
  *invalidateRangeEnd(agent: Agent, range: NotifierRange): Path {
    this.addToProtocol(ACTIVE, -1);
    if (mmuNotifierRangeUseChangePte(range) && this.kernel.profile.kvmUseChangePte === 'skip-start-and-end')
      return;
    yield* lock(agent, this.mmuLock);
    this.addToProtocol(SEQ, 1);
    this.addToProtocol(COUNT, -1);
    unlock(agent, this.mmuLock);
    // a sanity check of the model, not a read the kernel makes
    if (this.protocol[COUNT] < 0) throw new ModelBug(`${this.name}: mmu_notifier_count went negative`);
  }

  /**
   * kvm_mmu_notifier_change_pte → kvm_set_spte_hva → kvm_set_pte_rmapp (v5.0): seq++ (removed in 2021);
   * a writable new pte drops the spte, a read-only one re-points it at the new pfn, read-only. A call
   * that finds no live spte for an address inside a memslot is a miss (every one, under v5.0).
   * What-if kvmChangePteMapsAbsent: where there is no spte, a read-only new pte is mapped — unless an
   * invalidation other than the one around this call is outstanding (6bdb913f0a70's rule, switch
   * kvmChangePteDefersToOtherInvalidations): that one's start has zapped already and its end does not
   * zap, so a mapping made now would outlive the pte it is about to clear.
   */
  *changePte(agent: Agent, address: number, pte: number): Path {
    const k = this.kernel;
    yield* lock(agent, this.mmuLock);
    if (k.profile.kvmChangePteBumpsSeq) this.addToProtocol(SEQ, 1);
    const newPfn = pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
    const others = this.mnActiveInvalidateCount - (k.profile.wrapChangePteInRange ? 1 : 0);
    const mayMap =
      k.profile.kvmChangePteMapsAbsent &&
      !pteWrite(pte) &&
      (others <= 0 || !k.profile.kvmChangePteDefersToOtherInvalidations);
    let covered = false;
    let live = 0;
    for (const s of this.slots) {
      const i = s.indexOfHva(address);
      if (i < 0) continue;
      covered = true;
      if (s.pfnAt(i) < 0 && mayMap) {
        s.set(i, newPfn, 0);
        k.secondaryMapped(this.mm, address);
        live++;
        if (k.recording) {
          logSecondary(
            k,
            agent,
            'change_pte: map spte',
            this.mm,
            address,
            address + PAGE_SIZE,
            `-> pfn ${hex(newPfn)} RO (${others} other invalidation(s) outstanding)`,
          );
        }
        continue;
      }
      if (s.pfnAt(i) < 0) continue;
      live++;
      if (pteWrite(pte)) {
        s.drop(i);
        this.bump('sptes_zapped');
      } else {
        s.set(i, newPfn, s.bitsAt(i) & ~SPTE_WRITABLE);
        k.secondaryMapped(this.mm, address);
      }
    }
    if (live > 0) {
      this.bump('change_pte_updates');
      logSecondaryAs(
        k,
        agent,
        pteWrite(pte) ? 'change_pte: drop spte' : 'change_pte: remap spte',
        this.mm,
        address,
        address + PAGE_SIZE,
        TO_PFN,
        newPfn,
      );
      this.flushRemoteTlbs(agent, 'change_pte');
    } else if (covered) {
      this.bump('change_pte_misses');
      if (k.recording) logSecondary(k, agent, 'change_pte: no spte', this.mm, address, address + PAGE_SIZE);
    }
    unlock(agent, this.mmuLock);
  }

  /** kvm_age_hva / kvm_test_age_hva over [start, end): visit each present spte. */
  private age(start: number, end: number, clear: boolean): boolean {
    let young = false;
    for (const s of this.slots) {
      if (s.present === 0) continue;
      const [lo, hi] = s.indicesOfHvaRange(start, end);
      for (let i = lo; i < hi; i++) {
        if (s.pfnAt(i) < 0 || (s.bitsAt(i) & SPTE_ACCESSED) === 0) continue;
        young = true;
        if (clear) s.setBits(i, s.bitsAt(i) & ~SPTE_ACCESSED);
      }
    }
    return young;
  }

  /** kvm_mmu_notifier_clear_flush_young: age the sptes, flush if any was young. */
  *clearFlushYoung(agent: Agent, start: number, end: number): Path<boolean> {
    yield* lock(agent, this.mmuLock);
    const young = this.age(start, end, true);
    if (young) this.flushRemoteTlbs(agent, 'clear_flush_young');
    unlock(agent, this.mmuLock);
    return young;
  }

  /** kvm_mmu_notifier_clear_young: age without flushing ("we never issue secondary TLB flushes"). */
  *clearYoung(agent: Agent, start: number, end: number): Path<boolean> {
    yield* lock(agent, this.mmuLock);
    const young = this.age(start, end, true);
    unlock(agent, this.mmuLock);
    return young;
  }

  /** kvm_mmu_notifier_test_young. */
  *testYoung(agent: Agent, address: number): Path<boolean> {
    yield* lock(agent, this.mmuLock);
    const young = this.age(address, address + PAGE_SIZE, false);
    unlock(agent, this.mmuLock);
    return young;
  }

  /** kvm_mmu_notifier_release → kvm_arch_flush_shadow_all: every spte goes, the guest is frozen. */
  *release(agent: Agent): Path {
    yield* lock(agent, this.mmuLock);
    let zapped = 0;
    for (const s of this.slots) {
      if (s.present === 0) continue;
      for (let i = 0; i < s.npages; i++) if (s.drop(i)) zapped++;
    }
    if (zapped > 0) this.bump('sptes_zapped', zapped);
    this.flushRemoteTlbs(agent, 'release');
    this.released = true;
    unlock(agent, this.mmuLock);
    if (this.kernel.recording)
      logSecondary(this.kernel, agent, 'kvm release', this.mm, undefined, undefined, `${zapped} sptes`);
  }

  /** kvm_destroy_vm: unregister the notifier (which runs release unless exit already did). */
  destroy(): void {
    if (this.destroyed) return;
    if (!this.mm.dead)
      runToCompletion(mmuNotifierUnregister(this.kernel, this.task.agent, this.mm, this.subscription));
    this.destroyed = true;
  }

  private describeSlots(): string {
    return this.slots.map((s) => `gfn ${hex(s.baseGfn)}+${s.npages} -> ${hex(s.userspaceAddr)}`).join(', ');
  }
}

function checkVcpus(n: number): SetupError | null {
  return Number.isInteger(n) && n >= 1
    ? null
    : setupError('EINVAL', `a guest needs at least one vCPU, not ${n}`);
}

/** The memslots, checked as KVM_SET_USER_MEMORY_REGION would (page aligned, no overlapping gfns), by gfn. */
function makeSlots(specs: MemslotSpec[]): Memslot[] | SetupError {
  const slots: Memslot[] = [];
  for (const m of specs) {
    if (!Number.isInteger(m.gfn) || m.gfn < 0) return setupError('EINVAL', `memslot gfn ${m.gfn}`);
    if (m.addr % PAGE_SIZE !== 0 || m.size % PAGE_SIZE !== 0 || m.size <= 0) {
      return setupError('EINVAL', `memslot at ${hex(m.addr)} of ${m.size} bytes is not page aligned`);
    }
    slots.push(new Memslot(m.gfn, m.addr, m.size / PAGE_SIZE));
  }
  slots.sort((a, b) => a.baseGfn - b.baseGfn);
  for (let i = 1; i < slots.length; i++) {
    if (slots[i].baseGfn < slots[i - 1].endGfn) {
      return setupError('EEXIST', `memslots overlap at gfn ${hex(slots[i].baseGfn)}`);
    }
  }
  return slots;
}
