/**
 * A page fault's context and outcome, as the kernel's (include/linux/mm.h v5.0): `struct vm_fault`
 * travels from handle_mm_fault down to the handler that resolves it, and every handler answers with a
 * vm_fault_t — 0 when the fault was handled, else VM_FAULT_* bits.
 */
import type { Lock } from '../sim/exec.js';
import type { Mm } from './mm.js';
import type { Vma } from './vma.js';

/** fault flags (FAULT_FLAG_*): the fault is a write. */
export const FAULT_FLAG_WRITE = 0x01;
/**
 * FAULT_FLAG_UNSHARE (v5.19, c89357e27f20): break COW sharing of a read-only anonymous page without
 * writing to it, leaving the pte read-only: GUP before a read-only pin (gup_must_unshare), break_ksm.
 */
export const FAULT_FLAG_UNSHARE = 0x400;

/** vm_fault_t: 0, or VM_FAULT_* bits. */
export type VmFaultResult = number;
/** The fault was handled (the access may be retried; it may still need another fault). */
export const VM_FAULT_DONE = 0;
export const VM_FAULT_OOM = 0x0001;
export const VM_FAULT_SIGBUS = 0x0002;
export const VM_FAULT_SIGSEGV = 0x0040;
/** VM_FAULT_ERROR: any bit that means the fault could not be resolved. */
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV;

/** struct vm_fault: one fault's context. */
export interface VmFault {
  readonly vma: Vma;
  readonly mm: Mm;
  /** The faulting address, page aligned (bytes). */
  readonly address: number;
  /** FAULT_FLAG_*. */
  readonly flags: number;
  /** The pte read before the ptl was taken (vmf->orig_pte; 0 when none). */
  origPte: number;
  /** The page-table lock the handlers take (vmf->ptl). */
  readonly ptl: Lock;
}

/** Is this fault a write? */
export function isWriteFault(vmf: VmFault): boolean {
  return (vmf.flags & FAULT_FLAG_WRITE) !== 0;
}

export function isUnshareFault(vmf: VmFault): boolean {
  return (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
}
