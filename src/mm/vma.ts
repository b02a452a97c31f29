/** struct vm_area_struct and its flags (include/linux/mm.h). Addresses are bytes, page aligned. */
import { PAGE_SIZE } from '../hw/page.js';
import { PTE_NX, PTE_PRESENT, PTE_PROTNONE, PTE_RW, PTE_USER } from '../hw/pte.js';
import type { AnonVma } from './anon-vma.js';
import type { Mm } from './mm.js';
import type { ShmemObject } from './shmem.js';

export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_DONTFORK = 0x2_0000;
/** The vma's memory is charged to the commit limit (private writable, mm/mmap.c accountable_mapping). */
export const VM_ACCOUNT = 0x10_0000;
export const VM_NOHUGEPAGE = 0x4000_0000;
/** VM_MERGEABLE: KSM may merge pages of this vma (kernel bit 31; bit 28 here keeps JS bit operations positive). */
export const VM_MERGEABLE = 0x1000_0000;

export class Vma {
  /** Stable identity for logs and the rmap. */
  constructor(
    readonly id: number,
    readonly mm: Mm,
    public start: number,
    public end: number,
    public flags: number,
    public anonVma: AnonVma | null,
    /** The shmem object behind a shared anonymous mapping, with this vma's page offset into it. */
    public shmem: ShmemObject | null,
    public shmemPgoff: number,
  ) {}

  /**
   * Which anon_vma the kernel would give this vma (0: none), for vma merging only: the model's rmap keeps
   * one AnonVma per fork family, while the kernel's fork gives every child vma an anon_vma of its own.
   */
  anonId = 0;
  /** The vma's anon_vma_chain holds more than its own anon_vma: forked from a vma that had one (vma_is_fork_child). */
  forkChild = false;

  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }

  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  /**
   * vm_page_prot: private writable mappings start read-only (write faults COW or mkwrite); PROT_NONE is
   * x86's PAGE_NONE, a pte that maps its page with the hardware present bit clear (_PAGE_PROTNONE).
   */
  pageProt(): number {
    if ((this.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) return PTE_PROTNONE;
    let bits = PTE_PRESENT | PTE_USER;
    if ((this.flags & VM_EXEC) === 0) bits |= PTE_NX;
    if ((this.flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE)) bits |= PTE_RW;
    return bits;
  }

  /** is_cow_mapping(): private and may become writable. */
  isCowMapping(): boolean {
    return (this.flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
  }
}

/** mmap's PROT_* and MAP_SHARED to vm_flags (calc_vm_prot_bits + the VM_MAY* an anonymous map gets). */
export function vmFlagsFor(prot: { read: boolean; write: boolean; exec: boolean }, shared: boolean): number {
  let f = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (prot.read) f |= VM_READ;
  if (prot.write) f |= VM_WRITE;
  if (prot.exec) f |= VM_EXEC;
  if (shared) f |= VM_SHARED | VM_MAYSHARE;
  else if (prot.write) f |= VM_ACCOUNT; // accountable_mapping: only vma merging sees it
  return f;
}

export function formatVmFlags(f: number): string {
  const parts: string[] = [];
  parts.push(
    f & VM_READ ? 'r' : '-',
    f & VM_WRITE ? 'w' : '-',
    f & VM_EXEC ? 'x' : '-',
    f & VM_SHARED ? 's' : 'p',
  );
  if (f & VM_MERGEABLE) parts.push(' mergeable');
  return parts.join('');
}
