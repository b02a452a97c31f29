/** The counters of the primary MMU's fault paths (mm/memory.c), declared once; see CounterGroup. */
import { declareCounters } from '../sim/counters.js';

export const FAULT_COUNTERS = declareCounters('faults', {
  anon_read_zero: 'read faults on untouched anonymous memory that mapped the shared zero page',
  anon_write: 'write faults that allocated a fresh zeroed anonymous page (also over the zero page)',
  cow_copy: 'write faults that copied a shared anonymous page (wp_page_copy)',
  cow_reuse: 'write faults that made the page writable in place (wp_page_reuse)',
  ksm_cow: 'write faults that copied a KSM page (wp_page_copy of a PageKsm page)',
  sigsegv: 'accesses refused with SIGSEGV (no vma, or the vma does not allow the access)',
  shmem_read: 'read faults on shared anonymous memory (shmem_fault)',
  shmem_write: 'write faults on shared anonymous memory (shmem_fault)',
});
