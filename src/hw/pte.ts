/**
 * A pte in mmsim is one JS number: pfn * 256 + bits (exact for every pfn below 2^45). The 8 bits are
 * the x86-64 ones the model needs; `toX86` exports the real 64-bit layout.
 */

export const PTE_PRESENT = 1;
export const PTE_RW = 2;
export const PTE_USER = 4;
export const PTE_ACCESSED = 8;
export const PTE_DIRTY = 16;
export const PTE_SOFT_DIRTY = 32;
export const PTE_NX = 64;
/** pte_special: no struct page behind it (the zero page). */
export const PTE_SPECIAL = 128;

export const PTE_NONE = 0;

export function mkPte(pfn: number, bits: number): number {
  return pfn * 256 + (bits & 255);
}

export function ptePfn(pte: number): number {
  return Math.floor(pte / 256);
}

export function pteBits(pte: number): number {
  return pte & 255;
}

export function ptePresent(pte: number): boolean {
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

/** The real x86-64 pte value: P(0) RW(1) US(2) A(5) D(6) SPECIAL(9) SOFT_DIRTY(11) pfn(12..51) NX(63). */
export function toX86(pte: number): bigint {
  if (pte === PTE_NONE) return 0n;
  const b = pteBits(pte);
  let v = BigInt(ptePfn(pte)) << 12n;
  if (b & PTE_PRESENT) v |= 1n;
  if (b & PTE_RW) v |= 2n;
  if (b & PTE_USER) v |= 4n;
  if (b & PTE_ACCESSED) v |= 1n << 5n;
  if (b & PTE_DIRTY) v |= 1n << 6n;
  if (b & PTE_SPECIAL) v |= 1n << 9n;
  if (b & PTE_SOFT_DIRTY) v |= 1n << 11n;
  if (b & PTE_NX) v |= 1n << 63n;
  return v;
}

/** Human-readable pte: `pfn 0x1a3 P RW U A D` or `none`. */
export function formatPte(pte: number): string {
  if (pte === PTE_NONE) return 'none';
  const b = pteBits(pte);
  const bits: string[] = [];
  if (b & PTE_PRESENT) bits.push('P');
  bits.push(b & PTE_RW ? 'RW' : 'RO');
  if (b & PTE_USER) bits.push('U');
  if (b & PTE_ACCESSED) bits.push('A');
  if (b & PTE_DIRTY) bits.push('D');
  if (b & PTE_SOFT_DIRTY) bits.push('SD');
  if (b & PTE_SPECIAL) bits.push('S');
  if (b & PTE_NX) bits.push('NX');
  return `pfn 0x${ptePfn(pte).toString(16)} ${bits.join(' ')}`;
}
