import { describe, expect, it } from 'vitest';
import { PageTable } from '../../src/hw/pagetable.js';
import {
  formatPte,
  mkPte,
  PTE_ACCESSED,
  PTE_DIRTY,
  PTE_NONE,
  PTE_NX,
  PTE_PRESENT,
  PTE_RW,
  PTE_SOFT_DIRTY,
  PTE_SPECIAL,
  PTE_USER,
  pteBits,
  pteDirty,
  pteMkclean,
  pteMkdirty,
  pteMkold,
  pteMkwrite,
  pteMkyoung,
  ptePfn,
  ptePresent,
  pteSpecial,
  pteWrite,
  pteWrprotect,
  toX86,
} from '../../src/hw/pte.js';

const P = PTE_PRESENT | PTE_USER;

describe('pte values', () => {
  it('pack pfn and bits, exactly for large pfns', () => {
    const big = 2 ** 40 + 12345;
    const pte = mkPte(big, P | PTE_RW);
    expect(ptePfn(pte)).toBe(big);
    expect(pteBits(pte)).toBe(P | PTE_RW);
    expect(ptePresent(pte)).toBe(true);
    expect(pteWrite(pte)).toBe(true);
  });

  it('the helpers set and clear one bit each, idempotently', () => {
    const pte = mkPte(5, P);
    expect(pteWrite(pteMkwrite(pte))).toBe(true);
    expect(pteMkwrite(pteMkwrite(pte))).toBe(pteMkwrite(pte));
    expect(pteWrprotect(pteMkwrite(pte))).toBe(pte);
    expect(pteWrprotect(pte)).toBe(pte);
    const dirty = pteMkdirty(pte);
    expect(pteDirty(dirty)).toBe(true);
    expect(dirty & PTE_SOFT_DIRTY).toBe(PTE_SOFT_DIRTY); // x86 pte_mkdirty sets soft-dirty too
    expect(pteMkdirty(dirty)).toBe(dirty);
    expect(pteDirty(pteMkclean(dirty))).toBe(false);
    expect(pteMkclean(dirty) & PTE_SOFT_DIRTY).toBe(PTE_SOFT_DIRTY); // cleaning keeps soft-dirty
    expect(pteMkold(pteMkyoung(pte))).toBe(pte);
    expect(pteSpecial(mkPte(0, P | PTE_SPECIAL))).toBe(true);
    expect(ptePfn(pteMkyoung(pteMkdirty(pteMkwrite(pte))))).toBe(5);
  });

  it('toX86 exports the real layout: P0 RW1 US2 A5 D6 SPECIAL9 SOFT_DIRTY11 pfn12 NX63', () => {
    expect(toX86(PTE_NONE)).toBe(0n);
    const bit = (b: number, n: bigint): void => {
      expect(toX86(mkPte(0, b))).toBe(1n << n);
    };
    bit(PTE_PRESENT, 0n);
    bit(PTE_RW, 1n);
    bit(PTE_USER, 2n);
    bit(PTE_ACCESSED, 5n);
    bit(PTE_DIRTY, 6n);
    bit(PTE_SPECIAL, 9n);
    bit(PTE_SOFT_DIRTY, 11n);
    bit(PTE_NX, 63n);
    const pfn = 0xf_ffff_ffff; // 36-bit pfn: 48-bit physical addresses
    const all = mkPte(pfn, 255);
    expect(toX86(all)).toBe(
      (BigInt(pfn) << 12n) | 1n | 2n | 4n | (1n << 5n) | (1n << 6n) | (1n << 9n) | (1n << 11n) | (1n << 63n),
    );
    expect(toX86(mkPte(0x1a3, P | PTE_RW))).toBe(0x1a3007n);
  });

  it('formats for people', () => {
    expect(formatPte(PTE_NONE)).toBe('none');
    expect(formatPte(mkPte(0x1a3, P | PTE_RW | PTE_ACCESSED | PTE_DIRTY))).toBe('pfn 0x1a3 P RW U A D');
    expect(formatPte(mkPte(0, P | PTE_SPECIAL | PTE_NX))).toBe('pfn 0x0 P RO U S NX');
  });
});

describe('PageTable (x86-64 four levels)', () => {
  it('stores and finds ptes anywhere in the 47-bit user space, one PTE page per 2 MiB', () => {
    const pt = new PageTable();
    const vpns = [0, 1, 511, 512, 2 ** 18 + 5, 2 ** 27 + 7, 2 ** 35 - 1]; // all four levels vary
    for (const [i, vpn] of vpns.entries()) pt.set(vpn, mkPte(i + 1, P));
    for (const [i, vpn] of vpns.entries()) expect(pt.get(vpn)).toBe(mkPte(i + 1, P));
    expect(pt.get(2)).toBe(0);
    expect(pt.get(2 ** 27 + 8)).toBe(0);
    expect(pt.get(2 ** 26)).toBe(0);
    expect(pt.lookupPage(2 ** 26)).toBeUndefined();
    expect(pt.ptePages).toBe(5); // {0,1,511}, {512}, {2^18+5}, {2^27+7}, {2^35-1}
    expect(pt.lookupPage(1)?.used).toBe(3);
    expect(pt.lookupPage(1)?.baseVpn).toBe(0);
    expect(pt.lookupPage(2 ** 27 + 7)?.baseVpn).toBe(2 ** 27);
  });

  it('clearing a pte keeps the present count; freeEmpty frees only empty PTE pages', () => {
    const pt = new PageTable();
    pt.set(10, mkPte(1, P));
    pt.set(11, mkPte(2, P));
    pt.set(600, mkPte(3, P));
    pt.set(10, mkPte(4, P)); // overwrite: still one entry
    expect(pt.lookupPage(10)?.used).toBe(2);
    pt.set(10, 0);
    pt.set(11, 0);
    pt.set(12, 0); // clearing a none pte changes nothing
    expect(pt.lookupPage(10)?.used).toBe(0);
    expect(pt.ptePages).toBe(2);
    pt.freeEmpty(0, 1024);
    expect(pt.ptePages).toBe(1);
    expect(pt.lookupPage(10)).toBeUndefined();
    expect(pt.get(600)).toBe(mkPte(3, P));
    pt.set(10, mkPte(5, P)); // allocated again after the free
    expect(pt.get(10)).toBe(mkPte(5, P));
    expect(pt.ptePages).toBe(2);
    pt.set(0, 0); // clearing where no page exists allocates nothing
    pt.set(2 ** 30, 0);
    expect(pt.ptePages).toBe(2);
  });

  it('freeEmpty after a cached lookup does not leave a stale cache', () => {
    const pt = new PageTable();
    pt.set(5, mkPte(1, P));
    expect(pt.get(5)).not.toBe(0); // caches the page
    pt.set(5, 0);
    pt.freeEmpty(0, 512);
    expect(pt.lookupPage(5)).toBeUndefined();
    pt.set(6, mkPte(2, P));
    expect(pt.get(6)).toBe(mkPte(2, P));
    expect(pt.lookupPage(5)?.used).toBe(1);
  });

  it('forEachMapped visits every non-none pte in order, present or not', () => {
    const pt = new PageTable();
    const protNone = mkPte(9, PTE_ACCESSED); // a PROT_NONE pte: not present, still maps pfn 9
    pt.set(1000, mkPte(1, P));
    pt.set(3, mkPte(2, P));
    pt.set(700, protNone);
    pt.set(5000, mkPte(4, P));
    const seen: [number, number][] = [];
    pt.forEachMapped(0, 2000, (vpn, pte) => seen.push([vpn, pte]));
    expect(seen).toEqual([
      [3, mkPte(2, P)],
      [700, protNone],
      [1000, mkPte(1, P)],
    ]);
    const part: number[] = [];
    pt.forEachMapped(4, 1000, (vpn) => part.push(vpn));
    expect(part).toEqual([700]);
  });
});
