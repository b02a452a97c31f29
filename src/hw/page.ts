/**
 * The base page (arch/x86/include/asm/page_types.h, pgtable_64_types.h): mmsim models x86-64 with
 * 4 KiB pages only. Addresses are bytes; a virtual page number is `vpnOf(address)`, i.e.
 * `Math.floor(address / PAGE_SIZE)` (not `>>`, which would truncate a 47-bit address to 32 bits).
 */

// Module-private, because V8 folds these into the arithmetic of the functions below; an exported binding
// is a module cell that every use in another module loads and checks, and a division by it is a real
// division (the conversions are on every fault's and every KSM page's path).
const SHIFT = 12;
const SIZE = 1 << SHIFT;
const PTRS = 512;

export const PAGE_SHIFT = SHIFT;
export const PAGE_SIZE = SIZE;
/** Entries in one page-table page (every level of the 4-level table). */
export const PTRS_PER_PTE = PTRS;

/** The virtual page number of a byte address (the page holding it). */
export function vpnOf(address: number): number {
  return Math.floor(address / SIZE);
}

/** The byte address where virtual page `vpn` begins. */
export function vpnAddress(vpn: number): number {
  return vpn * SIZE;
}

/** The first vpn of the PTE page covering `vpn` (`vpn & 511` is exact for any vpn: 2^32 is a multiple of 512). */
export function ptePageBase(vpn: number): number {
  return vpn - (vpn & (PTRS - 1));
}
