/**
 * The kernel instance: the machine, the profile, tasks and their mms, and the small primitives every
 * mm path shares (page references, rmap, pte stores with their log entries, TLB flushes).
 */

import type { ContentStore } from '../hw/content.js';
import { type FrameTable, PG_ANON, PG_KSM, ZERO_PFN } from '../hw/frames.js';
import { Machine } from '../hw/machine.js';
import { vpnAddress, vpnOf } from '../hw/page.js';
import { ptePfn, ptePresent, pteSpecial } from '../hw/pte.js';
import type { KernelProfile } from '../kernel/profiles.js';
import { CounterRef, type Counters } from '../sim/counters.js';
import { type Agent, DONE, type Path } from '../sim/exec.js';
import { Access, FOOTPRINT, FootprintKind, note } from '../sim/footprint.js';
import { type LogEvent, newEvent } from '../sim/log.js';
import { AnonVmaRegistry } from './anon-vma.js';
import { FAULT_COUNTERS } from './counters.js';
import { Mm } from './mm.js';
import { NOTIFIER_COUNTERS } from './notifier-counters.js';
import type { NotifierRange } from './notifier-port.js';
import type { Vma } from './vma.js';

/** How a kernel path stored a pte (what the seed's rule and the validator care about). */
export type PteWriter =
  | 'set_pte_at'
  | 'set_pte_at_notify'
  | 'ptep_clear_flush'
  | 'ptep_get_and_clear'
  | 'ptep_set_wrprotect'
  | 'ptep_set_access_flags'
  | 'change_pte_range';

/** Something that watches the kernel (the invariant checker, the flag validator, tests). */
export interface KernelObserver {
  onPteChange?(agent: Agent, mm: Mm, address: number, oldPte: number, newPte: number, via: PteWriter): void;
  /** A CPU (or a secondary MMU, for the host's view) read or wrote bytes in a frame (the record is reused: copy what you keep). */
  onAccess?(access: AccessRecord): void;
  /** An invalidation range opens or closes (whether or not the mm has subscribers). */
  onRangeStart?(agent: Agent, range: NotifierRange): void;
  onRangeEnd?(agent: Agent, range: NotifierRange): void;
  /** fork copied `parent` into `child` (after the page tables are copied). */
  onFork?(parent: Mm, child: Mm): void;
  /** A whole mm went away (exit). */
  onMmGone?(mm: Mm): void;
  /** A new mm exists (spawn, fork), before anything is mapped in it. */
  onMmCreated?(mm: Mm): void;
  /** A secondary MMU installed or changed a translation of (mm, address) (a spte, IOTLB or TLB entry). */
  onSecondaryMap?(mm: Mm, address: number): void;
  /** A model path detected a bug of the modelled kernel itself (a use-after-free, say). */
  onViolation?(report: ViolationReport): void;
}

export interface AccessRecord {
  agent: Agent;
  /** The mm whose address was used, and the address (bytes). */
  mm: Mm;
  address: number;
  write: boolean;
  /** The frame the access used (through a TLB, a secondary MMU or a page walk). */
  pfn: number;
  /** Content id of the page before and after (equal for reads). */
  before: number;
  after: number;
  /** Who translated the address: 'cpu', 'kvm:vm1', 'dev:gpu', 'iommu:sva0'. */
  via: string;
}

/** Handing out an id that names something in the final state: the order of two such is an outcome. */
function noteIdAlloc(): void {
  if (FOOTPRINT.on) note(FootprintKind.IdAlloc, 0, 0, Access.Write);
}

/** A broken invariant (docs/INVARIANTS.md) as a checker or a model path reports it (see notifier/violations.ts). */
export interface ViolationReport {
  /** 'coherence' | 'stale-write' | 'data' | 'accounting' | 'use-change-pte' | 'use-after-free'. */
  invariant: string;
  message: string;
  agents: string[];
  addresses: string[];
}

export type Errno =
  | 'ENOMEM'
  | 'EEXIST'
  | 'EFAULT'
  | 'EINVAL'
  | 'ENOENT'
  | 'EBUSY'
  | 'EAGAIN'
  | 'EPERM'
  | 'EOPNOTSUPP'
  | 'ESRCH';

export class Task {
  alive = true;
  constructor(
    readonly pid: number,
    readonly name: string,
    public mm: Mm,
    readonly agent: Agent,
    /** Signals delivered; threads of one process share the list. */
    readonly signals: string[] = [],
  ) {}

  /** Another thread of this process: the same mm and signals, its own agent (and CPU). */
  thread(agent: Agent): Task {
    return new Task(this.pid, this.name, this.mm, agent, this.signals);
  }
}

export interface KernelConfig {
  profile: KernelProfile;
  /** RAM in frames (including the zero page). */
  frames: number;
  cpus: number;
  recording: boolean;
}

export class Kernel {
  readonly machine: Machine;
  /** The machine's frames, contents and counters (every mm path's). */
  readonly frames: FrameTable;
  readonly contents: ContentStore;
  readonly counters: Counters;
  readonly profile: KernelProfile;
  readonly tasks = new Map<string, Task>();
  readonly mms = new Map<number, Mm>();
  readonly anonVmas = new AnonVmaRegistry();
  readonly observers: KernelObserver[] = [];
  readonly agents: Agent[] = [];
  /**
   * "What if the kernel set MMU_NOTIFIER_USE_CHANGE_PTE here too": kernel functions (range `by` names,
   * e.g. 'change_protection') whose ranges get the flag. Empty in every real profile; experiments use it.
   */
  readonly forceUseChangePteAt = new Set<string>();
  /** The fault counters (SCENARIO.md names), pre-resolved for the fault paths. */
  readonly faultCounters: {
    readonly anonReadZero: CounterRef;
    readonly anonWrite: CounterRef;
    readonly cowCopy: CounterRef;
    readonly cowReuse: CounterRef;
    readonly ksmCow: CounterRef;
    readonly shmemRead: CounterRef;
    readonly shmemWrite: CounterRef;
    readonly sigsegv: CounterRef;
  };
  /** The notifier counters SCENARIO.md names, bumped on every notifier call. */
  readonly notifierCounters: {
    readonly invalidateRangeStart: CounterRef;
    readonly invalidateRangeEnd: CounterRef;
    readonly changePte: CounterRef;
    readonly clearYoung: CounterRef;
    readonly release: CounterRef;
    readonly useChangePte: CounterRef;
    readonly useChangePteMisuse: CounterRef;
  };
  private nextMm = 1;
  private nextVma = 1;
  private nextPid = 1;
  nextShmem = 1;

  constructor(config: KernelConfig) {
    this.profile = config.profile;
    this.machine = new Machine({ frames: config.frames, cpus: config.cpus, recording: config.recording });
    this.frames = this.machine.frames;
    this.contents = this.machine.contents;
    this.counters = this.machine.counters;
    const c = this.machine.counters;
    this.faultCounters = {
      anonReadZero: new CounterRef(c, FAULT_COUNTERS.name('anon_read_zero')),
      anonWrite: new CounterRef(c, FAULT_COUNTERS.name('anon_write')),
      cowCopy: new CounterRef(c, FAULT_COUNTERS.name('cow_copy')),
      cowReuse: new CounterRef(c, FAULT_COUNTERS.name('cow_reuse')),
      ksmCow: new CounterRef(c, FAULT_COUNTERS.name('ksm_cow')),
      shmemRead: new CounterRef(c, FAULT_COUNTERS.name('shmem_read')),
      shmemWrite: new CounterRef(c, FAULT_COUNTERS.name('shmem_write')),
      sigsegv: new CounterRef(c, FAULT_COUNTERS.name('sigsegv')),
    };
    this.notifierCounters = {
      invalidateRangeStart: new CounterRef(c, NOTIFIER_COUNTERS.name('invalidate_range_start')),
      invalidateRangeEnd: new CounterRef(c, NOTIFIER_COUNTERS.name('invalidate_range_end')),
      changePte: new CounterRef(c, NOTIFIER_COUNTERS.name('change_pte')),
      clearYoung: new CounterRef(c, NOTIFIER_COUNTERS.name('clear_young')),
      release: new CounterRef(c, NOTIFIER_COUNTERS.name('release')),
      useChangePte: new CounterRef(c, NOTIFIER_COUNTERS.name('use_change_pte')),
      useChangePteMisuse: new CounterRef(c, NOTIFIER_COUNTERS.name('use_change_pte_misuse')),
    };
  }

  get recording(): boolean {
    return this.machine.log.recording;
  }

  /** A new agent (a task's thread, ksmd, a vCPU, a device engine). CPUs are handed out round robin. */
  newAgent(name: string, cpu?: number): Agent {
    noteIdAlloc();
    const agent: Agent = {
      id: this.agents.length + 1,
      name,
      cpu: cpu ?? this.agents.length % this.machine.config.cpus,
    };
    this.agents.push(agent);
    return agent;
  }

  newMm(owner: string): Mm {
    noteIdAlloc();
    const mm = new Mm(this.nextMm++, owner);
    this.mms.set(mm.id, mm);
    for (const o of this.observers) o.onMmCreated?.(mm);
    return mm;
  }

  newVmaId(): number {
    noteIdAlloc();
    return this.nextVma++;
  }

  /** A new process with an empty mm. */
  spawn(name: string): Task {
    if (this.tasks.has(name)) throw new Error(`process ${name} exists`);
    const mm = this.newMm(name);
    const task = new Task(this.nextPid++, name, mm, this.newAgent(name));
    mm.runsOn(task.agent.cpu);
    this.tasks.set(name, task);
    return task;
  }

  /** Record an event (made by sim/log.ts newEvent). */
  log(e: LogEvent): void {
    this.machine.log.record(e);
  }

  // ---- page references (include/linux/mm.h get_page/put_page, mm/rmap.c) ----

  getPage(pfn: number): void {
    if (pfn !== ZERO_PFN) this.frames.addRef(pfn, 1);
  }

  /** put_page: drop a reference; the frame returns to the free pool at zero. */
  putPage(pfn: number): void {
    if (pfn === ZERO_PFN) return;
    const count = this.frames.addRef(pfn, -1);
    if (count <= 0) this.freePage(pfn, count);
  }

  /** The last reference went (__put_page): the frame and its content's reference are freed. */
  private freePage(pfn: number, count: number): void {
    const f = this.frames;
    if (count < 0) throw new Error(`refcount underflow on pfn ${pfn}`);
    this.contents.unref(f.contentOf(pfn));
    f.release(pfn);
  }

  /** A freshly allocated frame holding `content`, refcount 1; -1 if RAM is exhausted. */
  allocPage(content: number): number {
    const pfn = this.frames.alloc();
    if (pfn < 0) return -1;
    this.frames.setContent(pfn, content);
    this.contents.ref(content);
    return pfn;
  }

  /** Replace a frame's bytes (a store landed in it). */
  setContent(pfn: number, content: number): void {
    const f = this.frames;
    const old = f.contentOf(pfn);
    if (old === content) return;
    this.contents.ref(content);
    f.setContent(pfn, content);
    f.touchContent(pfn);
    this.contents.unref(old);
  }

  /** page_add_new_anon_rmap: first mapping of a new anonymous page. */
  pageAddNewAnonRmap(pfn: number, vma: Vma, address: number): void {
    const f = this.frames;
    f.setFlags(pfn, PG_ANON);
    f.incMapcount(pfn);
    const av = vma.anonVma!;
    f.setAnonRmap(pfn, av.id, vpnOf(address) - av.baseVpn);
    vma.mm.anonRss++;
  }

  /** page_add_anon_rmap / page_dup_rmap: one more pte maps an existing page. */
  pageDupRmap(pfn: number, mm: Mm): void {
    if (pfn === ZERO_PFN) return;
    this.frames.incMapcount(pfn);
    if (this.frames.flagsOf(pfn) & (PG_ANON | PG_KSM)) mm.anonRss++;
    else mm.shmemRss++;
  }

  /** page_remove_rmap: a pte stops mapping the page. */
  pageRemoveRmap(pfn: number, mm: Mm): void {
    if (pfn === ZERO_PFN) return;
    this.frames.decMapcount(pfn);
    if (this.frames.flagsOf(pfn) & (PG_ANON | PG_KSM)) mm.anonRss--;
    else mm.shmemRss--;
  }

  /** Every (mm, address) whose pte maps `pfn` — by walking the anon_vma, or every mm for KSM pages. */
  rmapWalk(pfn: number): { mm: Mm; address: number }[] {
    const out: { mm: Mm; address: number }[] = [];
    if (FOOTPRINT.on) note(FootprintKind.AnonRmap, 0, 0, Access.Read);
    const f = this.frames;
    if (f.flagsOf(pfn) & PG_KSM || f.anonVmaOf(pfn) === 0) {
      // KSM pages are reached through their stable node in the kernel; here a page-table scan stands in.
      for (const mm of this.mms.values()) {
        for (const vma of mm.vmas) {
          mm.pt.forEachMapped(vpnOf(vma.start), vpnOf(vma.end), (vpn, pte) => {
            if (!pteSpecial(pte) && ptePfn(pte) === pfn) out.push({ mm, address: vpnAddress(vpn) });
          });
        }
      }
      return out;
    }
    const av = this.anonVmas.get(f.anonVmaOf(pfn));
    if (av === undefined) return out;
    // signed: a vma merged below its anon_vma's first vma has pages before index 0 (vmaMerge)
    const vpn = av.baseVpn + (f.pageIndexOf(pfn) | 0);
    for (const vma of av.members) {
      if (vpnAddress(vpn) < vma.start || vpnAddress(vpn) >= vma.end) continue;
      const pte = vma.mm.pt.get(vpn);
      if (ptePresent(pte) && !pteSpecial(pte) && ptePfn(pte) === pfn)
        out.push({ mm: vma.mm, address: vpnAddress(vpn) });
    }
    return out;
  }

  // ---- pte stores ----

  /** Store the pte at `address` (page aligned) and tell the observers (and the log) how it was done. */
  writePte(agent: Agent, mm: Mm, address: number, pte: number, via: PteWriter): void {
    const vpn = vpnOf(address);
    const watched = this.observers.length > 0 || this.machine.log.recording;
    const old = watched ? mm.pt.get(vpn) : 0; // only observers and the log need the old value
    mm.pt.set(vpn, pte);
    if (!watched) return;
    if (this.observers.length > 0) {
      for (const o of this.observers) o.onPteChange?.(agent, mm, address, old, pte, via);
    }
    if (this.machine.log.recording) {
      const e = newEvent(agent.name, agent.cpu, 'pte', via, mm.id, address);
      e.oldPte = old;
      e.newPte = pte;
      this.log(e);
    }
  }

  /** What observers see of an access: one record, refilled for each (an observer must not keep it). */
  private accessRecord: AccessRecord | null = null;

  /** A CPU, a device or a secondary MMU read or wrote frame `pfn` through (mm, address): the observers are told. */
  accessed(
    agent: Agent,
    mm: Mm,
    address: number,
    write: boolean,
    pfn: number,
    before: number,
    after: number,
    via: string,
  ): void {
    if (this.observers.length === 0) return;
    let r = this.accessRecord;
    if (r === null) r = this.accessRecord = { agent, mm, address, write, pfn, before, after, via };
    else {
      r.agent = agent;
      r.mm = mm;
      r.address = address;
      r.write = write;
      r.pfn = pfn;
      r.before = before;
      r.after = after;
      r.via = via;
    }
    for (const o of this.observers) o.onAccess?.(r);
  }

  /** A secondary MMU installed or changed its translation of (mm, address): the observers are told. */
  secondaryMapped(mm: Mm, address: number): void {
    for (const o of this.observers) o.onSecondaryMap?.(mm, address);
  }

  /** flush_tlb_page / flush_tlb_range on the mm's CPUs (and, on v6.6+ profiles, its secondary TLBs). */
  flushTlbRange(agent: Agent, mm: Mm, start: number, end: number): Path {
    this.machine.flushTlb(agent.cpu, mm.id, mm.activeCpus(), vpnOf(start), vpnOf(end));
    if (this.machine.log.recording) {
      this.log(newEvent(agent.name, agent.cpu, 'tlb', 'flush_tlb_range', mm.id, start, end));
    }
    if (this.profile.secondaryTlbsFollowCpuFlush && mm.notifiers !== null) {
      return mm.notifiers.cpuTlbFlushed(agent, mm, start, end);
    }
    return DONE;
  }
}
