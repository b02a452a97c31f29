/**
 * The base page (arch/x86/include/asm/page_types.h, pgtable_64_types.h): mmsim models x86-64 with
 * 4 KiB pages only. Addresses are bytes; a virtual page number is `Math.floor(address / PAGE_SIZE)`
 * (not `>>`, which would truncate a 47-bit address to 32 bits).
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Entries in one page-table page (every level of the 4-level table). */
export const PTRS_PER_PTE = 512;
