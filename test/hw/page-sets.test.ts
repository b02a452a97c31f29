/** PageMap and PfnSet (the per-page structures of the invariant checker) beyond 2^24 pages, sparsely. */
import { describe, expect, it } from 'vitest';
import { PageMap } from '../../src/hw/page-map.js';
import { PfnSet } from '../../src/hw/pfn-set.js';
import { Rng } from '../../src/sim/rng.js';

describe('PageMap', () => {
  it('keeps values for vpns far beyond 2^24 and forgets zeroes', () => {
    const m = new PageMap();
    const vpns = [0, 511, 512, 2 ** 24 + 3, 2 ** 30, 2 ** 36 - 1];
    for (const [i, v] of vpns.entries()) m.set(v, i + 1);
    for (const [i, v] of vpns.entries()) expect(m.get(v)).toBe(i + 1);
    expect(m.get(2 ** 24 + 4)).toBe(0);
    m.set(2 ** 30, 0);
    const seen: number[] = [];
    m.forEach((v) => {
      seen.push(v);
    });
    expect(seen.sort((a, b) => a - b)).toEqual([0, 511, 512, 2 ** 24 + 3, 2 ** 36 - 1]);
    const some: number[] = [];
    m.forEach(
      (v) => {
        some.push(v);
      },
      512,
      2 ** 25,
    );
    expect(some.sort((a, b) => a - b)).toEqual([512, 2 ** 24 + 3]);
  });
});

describe('PfnSet', () => {
  it('holds frames beyond 2^24 once each and drains them in order', () => {
    const s = new PfnSet(2 ** 26);
    for (const pfn of [2 ** 26 - 1, 5, 2 ** 24 + 1, 5, 70, 2 ** 26 - 1]) s.add(pfn);
    expect(s.size).toBe(4);
    expect(s.has(2 ** 24 + 1)).toBe(true);
    expect([...s.drainSorted()]).toEqual([5, 70, 2 ** 24 + 1, 2 ** 26 - 1]);
    expect(s.size).toBe(0);
    expect(s.has(5)).toBe(false);
  });

  it('grows its list past 2^16 members', () => {
    const s = new PfnSet(1 << 20);
    for (let i = (1 << 20) - 1; i >= 0; i -= 3) s.add(i);
    const out = s.drainSorted();
    expect(out.length).toBe(Math.ceil((1 << 20) / 3));
    for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThan(out[i - 1]);
  });

  it('drains few members (sorted list) and many (read off the bitset) alike, and empties either way', () => {
    const rng = new Rng(7);
    const s = new PfnSet(100_000);
    for (const count of [3, 40, 200, 5_000, 60_000]) {
      const added = new Set<number>();
      for (let i = 0; i < count; i++) {
        const pfn = rng.below(100_000);
        s.add(pfn);
        added.add(pfn);
      }
      expect([...s.drainSorted()]).toEqual([...added].sort((a, b) => a - b));
      expect(s.size).toBe(0);
      expect([...added].some((pfn) => s.has(pfn))).toBe(false);
    }
  });
});
