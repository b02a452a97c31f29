/**
 * A pte in mmsim is one JS number: pfn * PTE_PFN_SCALE + bits (exact for every pfn below 2^44). The 9
 * bits are the x86-64 ones the model needs; `toX86` exports the real 64-bit layout.
 */

// Module-private for the encoding below, which V8 then folds (see hw/page.ts): every pte load and store
// goes through it.
const SCALE = 512;

/** The pfn's place in a pte number: 9 flag bits below it. */
export const PTE_PFN_SCALE = SCALE;

export const PTE_PRESENT = 1;
export const PTE_RW = 2;
export const PTE_USER = 4;
export const PTE_ACCESSED = 8;
export const PTE_DIRTY = 16;
export const PTE_SOFT_DIRTY = 32;
export const PTE_NX = 64;
/** pte_special: no struct page behind it (the zero page). */
export const PTE_SPECIAL = 128;
/**
 * _PAGE_PROTNONE (arch/x86/include/asm/pgtable_types.h, bit 8 = _PAGE_BIT_GLOBAL): a PROT_NONE pte
 * keeps its page mapped with the hardware present bit clear — pte_present() is true, the CPU faults.
 */
export const PTE_PROTNONE = 256;

export const PTE_NONE = 0;

export function mkPte(pfn: number, bits: number): number {
  return pfn * SCALE + (bits & (SCALE - 1));
}

export function ptePfn(pte: number): number {
  return Math.floor(pte / SCALE);
}

/** The flag bits (`& 511` is exact for any pte: 2^32 is a multiple of 512, so ToInt32 keeps them). */
export function pteBits(pte: number): number {
  return pte & (SCALE - 1);
}

/** pte_present (x86): the page is mapped — the hardware present bit or PROT_NONE (_PAGE_PROTNONE). */
export function ptePresent(pte: number): boolean {
  return (pte & (PTE_PRESENT | PTE_PROTNONE)) !== 0;
}

/** pte_protnone: mapped but inaccessible (PROT_NONE): every CPU or device access faults. */
export function pteProtnone(pte: number): boolean {
  return (pte & (PTE_PRESENT | PTE_PROTNONE)) === PTE_PROTNONE;
}

/** The hardware present bit: an MMU (the CPU's, or a device's walking the same table) may use the pte. */
export function pteAccessible(pte: number): boolean {
  return (pte & PTE_PRESENT) !== 0;
}

export function pteWrite(pte: number): boolean {
  return (pte & PTE_RW) !== 0;
}

export function pteDirty(pte: number): boolean {
  return (pte & PTE_DIRTY) !== 0;
}

export function pteSpecial(pte: number): boolean {
  return (pte & PTE_SPECIAL) !== 0;
}

export function pteWrprotect(pte: number): number {
  return pte & PTE_RW ? pte - PTE_RW : pte;
}

export function pteMkwrite(pte: number): number {
  return pte & PTE_RW ? pte : pte + PTE_RW;
}

export function pteMkclean(pte: number): number {
  return pte & PTE_DIRTY ? pte - PTE_DIRTY : pte;
}

export function pteMkdirty(pte: number): number {
  return pte & PTE_DIRTY ? pte : pte + PTE_DIRTY + (pte & PTE_SOFT_DIRTY ? 0 : PTE_SOFT_DIRTY);
}

export function pteMkyoung(pte: number): number {
  return pte & PTE_ACCESSED ? pte : pte + PTE_ACCESSED;
}

export function pteMkold(pte: number): number {
  return pte & PTE_ACCESSED ? pte - PTE_ACCESSED : pte;
}

/**
 * The real x86-64 pte value: P(0) RW(1) US(2) A(5) D(6) PROTNONE(8) SPECIAL(9) SOFT_DIRTY(11)
 * pfn(12..51) NX(63).
 */
export function toX86(pte: number): bigint {
  if (pte === PTE_NONE) return 0n;
  const b = pteBits(pte);
  let v = BigInt(ptePfn(pte)) << 12n;
  if (b & PTE_PRESENT) v |= 1n;
  if (b & PTE_RW) v |= 2n;
  if (b & PTE_USER) v |= 4n;
  if (b & PTE_ACCESSED) v |= 1n << 5n;
  if (b & PTE_DIRTY) v |= 1n << 6n;
  if (b & PTE_PROTNONE) v |= 1n << 8n;
  if (b & PTE_SPECIAL) v |= 1n << 9n;
  if (b & PTE_SOFT_DIRTY) v |= 1n << 11n;
  if (b & PTE_NX) v |= 1n << 63n;
  return v;
}

/** The flag words of formatPte, by flag bits (made once per combination: every pte event formats). */
const flagTexts = new Map<number, string>();

/** Human-readable pte: `pfn 0x1a3 P RW U A D` or `none`. */
export function formatPte(pte: number): string {
  if (pte === PTE_NONE) return 'none';
  const b = pteBits(pte);
  let flags = flagTexts.get(b);
  if (flags === undefined) {
    flags = flagWords(b);
    flagTexts.set(b, flags);
  }
  return `pfn 0x${ptePfn(pte).toString(16)} ${flags}`;
}

function flagWords(b: number): string {
  const bits: string[] = [];
  if (b & PTE_PRESENT) bits.push('P');
  if (b & PTE_PROTNONE) bits.push('PROTNONE');
  bits.push(b & PTE_RW ? 'RW' : 'RO');
  if (b & PTE_USER) bits.push('U');
  if (b & PTE_ACCESSED) bits.push('A');
  if (b & PTE_DIRTY) bits.push('D');
  if (b & PTE_SOFT_DIRTY) bits.push('SD');
  if (b & PTE_SPECIAL) bits.push('S');
  if (b & PTE_NX) bits.push('NX');
  return bits.join(' ');
}
