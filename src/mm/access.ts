/**
 * A task's loads and stores: the CPU looks in its TLB, walks the page table on a miss (setting the
 * accessed and dirty bits as x86 hardware does), and takes a page fault when the pte does not allow the
 * access (arch/x86/mm/fault.c do_user_addr_fault, v5.0). Bad accesses deliver SIGSEGV to the task.
 */

import type { ContentId } from '../hw/content.js';
import { ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE, vpnAddress, vpnOf } from '../hw/page.js';
import { PTE_DIRTY, pteAccessible, pteMkdirty, pteMkyoung, ptePfn, pteSpecial, pteWrite } from '../hw/pte.js';
import type { Tlb } from '../hw/tlb.js';
import { type Agent, lockShared, type Path, preempt, preemptPoint, unlockShared } from '../sim/exec.js';
import { newEvent } from '../sim/log.js';
import { FAULT_FLAG_WRITE, VM_FAULT_OOM, VM_FAULT_SIGSEGV, type VmFaultResult } from './fault.js';
import type { Kernel, Task } from './kernel.js';
import { handleMmFault } from './memory.js';
import type { Mm } from './mm.js';
import { VM_EXEC, VM_READ, VM_WRITE, type Vma } from './vma.js';

/** What a store writes: bytes at the address, or whole pages given by content id. */
export type StoreSource = { bytes: Uint8Array } | { pages: (pageIndex: number) => ContentId };

export type AccessOutcome = { ok: true; data?: Uint8Array } | { ok: false; error: 'SIGSEGV' | 'ENOMEM' };

const P_BETWEEN_PAGES = preemptPoint('user access: between pages');

/** do_user_addr_fault: find the vma, check the access against it, handle_mm_fault under mmap_sem. */
export function* doUserAddrFault(
  k: Kernel,
  task: Task,
  address: number,
  write: boolean,
): Path<VmFaultResult> {
  const mm = task.mm;
  yield* lockShared(task.agent, mm.mmapLock);
  try {
    const vma = mm.findVma(address);
    if (vma === undefined || !accessAllowed(vma, write)) return badArea(k, task, address, write);
    if (k.recording) logFault(k, task, address, write);
    return yield* handleMmFault(k, task.agent, vma, address, write ? FAULT_FLAG_WRITE : 0);
  } finally {
    unlockShared(mm.mmapLock);
  }
}

/** access_error's inverse: a write needs VM_WRITE, a read any of read, exec or write. */
function accessAllowed(vma: Vma, write: boolean): boolean {
  return (vma.flags & (write ? VM_WRITE : VM_READ | VM_EXEC | VM_WRITE)) !== 0;
}

/** bad_area: no vma, or one that forbids the access — SIGSEGV to the task (out of the fault's hot path). */
function badArea(k: Kernel, task: Task, address: number, write: boolean): VmFaultResult {
  const agent = task.agent;
  task.signals.push('SIGSEGV');
  k.faultCounters.sigsegv.inc();
  if (k.recording) {
    const e = newEvent(agent.name, agent.cpu, 'fault', 'SIGSEGV', task.mm.id, address);
    e.detail = write ? 'write' : 'read';
    k.log(e);
  }
  return VM_FAULT_SIGSEGV;
}

/** The fault in the event log (only when recording). */
function logFault(k: Kernel, task: Task, address: number, write: boolean): void {
  const agent = task.agent;
  k.log(newEvent(agent.name, agent.cpu, 'fault', write ? 'write fault' : 'read fault', task.mm.id, address));
}

/**
 * The frame a CPU access to `address` uses, after any TLB fill and page walk; -1 if the pte does not
 * allow it (a fault is needed). Hardware sets accessed (and dirty on a write) in the pte it walked.
 */
export function translate(k: Kernel, agent: Agent, mm: Mm, address: number, write: boolean): number {
  const vpn = vpnOf(address);
  const tlb = k.machine.tlbs[agent.cpu];
  const cached = tlb.lookup(mm.id, vpn);
  if (cached !== 0 && (!write || (pteWrite(cached) && (cached & PTE_DIRTY) !== 0))) {
    return pteSpecial(cached) ? ZERO_PFN : ptePfn(cached);
  }
  return pageWalk(tlb, mm, vpn, write);
}

/** The page walk on a TLB miss (its own function, so translate stays small enough to inline). */
function pageWalk(tlb: Tlb, mm: Mm, vpn: number, write: boolean): number {
  const pte = mm.pt.get(vpn);
  if (!pteAccessible(pte) || (write && !pteWrite(pte))) return -1; // none or PROT_NONE: a fault
  let walked = pteMkyoung(pte);
  if (write) walked = pteMkdirty(walked);
  if (walked !== pte) mm.pt.set(vpn, walked);
  tlb.fill(mm.id, vpn, walked);
  return pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
}

/**
 * A load (`source` undefined) or store of `len` bytes at `address` by `task`, page by page.
 * Loads return the bytes when `wantData`.
 */
export function* userAccess(
  k: Kernel,
  task: Task,
  address: number,
  len: number,
  source: StoreSource | undefined,
  wantData = false,
): Path<AccessOutcome> {
  const write = source !== undefined;
  const mm = task.mm;
  const agent = task.agent;
  mm.runsOn(agent.cpu);
  const out = wantData ? new Uint8Array(len) : undefined;
  let done = 0;
  let pageIndex = 0;
  while (done < len) {
    const addr = address + done;
    // one translate() call site, so V8 inlines it (and the TLB and page-table accessors in it) once
    let pfn: number;
    for (let tries = 0; (pfn = translate(k, agent, mm, addr, write)) < 0; tries++) {
      if (tries > 8) throw new Error(`fault loop at 0x${addr.toString(16)}`);
      const r = yield* doUserAddrFault(k, task, addr, write);
      if (r & VM_FAULT_OOM) return { ok: false, error: 'ENOMEM' };
      if (r & VM_FAULT_SIGSEGV) return { ok: false, error: 'SIGSEGV' };
    }
    done += accessPage(k, agent, mm, addr, pfn, source, out, done, len - done, pageIndex);
    pageIndex++;
    if (done < len) yield* preempt(P_BETWEEN_PAGES);
  }
  return out === undefined ? { ok: true } : { ok: true, data: out };
}

/**
 * The bytes an access moves in the page at `addr`, translated to `pfn`: a store's into the frame (its
 * bytes from `source` at `at`, or page number `pageIndex` of its pages), a load's into `out` at `at`;
 * the observers are told. Returns how many: up to the page's end, at most `left`. Out of userAccess,
 * whose generator every access allocates, so that generator keeps few registers.
 */
function accessPage(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  addr: number,
  pfn: number,
  source: StoreSource | undefined,
  out: Uint8Array | undefined,
  at: number,
  left: number,
  pageIndex: number,
): number {
  const off = addr - vpnAddress(vpnOf(addr));
  const chunk = Math.min(PAGE_SIZE - off, left);
  const before = k.frames.contentOf(pfn);
  let after = before;
  if (source !== undefined) {
    if ('bytes' in source) {
      const b = source.bytes;
      after = k.contents.write(before, off, at === 0 && chunk === b.length ? b : b.subarray(at, at + chunk));
    } else after = source.pages(pageIndex);
    if (pfn === ZERO_PFN) throw new Error('store into the zero page');
    k.setContent(pfn, after);
  } else if (out !== undefined) {
    k.contents.readInto(before, off, chunk, out, at);
  }
  k.accessed(agent, mm, addr, source !== undefined, pfn, before, after, 'cpu');
  return chunk;
}
