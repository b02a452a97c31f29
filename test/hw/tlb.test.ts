import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/hw/machine.js';
import { mkPte, PTE_PRESENT, PTE_RW } from '../../src/hw/pte.js';
import { Tlb } from '../../src/hw/tlb.js';

const pte = (pfn: number, rw = false): number => mkPte(pfn, PTE_PRESENT | (rw ? PTE_RW : 0));

describe('Tlb', () => {
  it('keeps a stale entry after the pte changes, until it is flushed', () => {
    const t = new Tlb();
    expect(t.lookup(1, 100)).toBe(0);
    t.fill(1, 100, pte(7, true));
    expect(t.lookup(1, 100)).toBe(pte(7, true));
    // the page table changes (not modelled here): the TLB still says pfn 7 writable
    expect(t.lookup(1, 100)).toBe(pte(7, true));
    expect(t.lookup(2, 100)).toBe(0); // another mm
    expect(t.lookup(1, 101)).toBe(0);
    t.flushPage(1, 101); // flushing another page changes nothing
    expect(t.lookup(1, 100)).toBe(pte(7, true));
    t.flushPage(1, 100);
    expect(t.lookup(1, 100)).toBe(0);
  });

  it('is direct mapped: a conflicting fill evicts, flushMm drops only that mm', () => {
    const t = new Tlb();
    t.fill(1, 5, pte(1));
    t.fill(1, 5 + 256, pte(2)); // same set
    expect(t.lookup(1, 5)).toBe(0);
    expect(t.lookup(1, 5 + 256)).toBe(pte(2));
    t.fill(1, 6, pte(3));
    t.fill(2, 7, pte(4));
    const seen: [number, number][] = [];
    t.forEach(1, (vpn, p) => seen.push([vpn, p]));
    expect(seen.sort((a, b) => a[0] - b[0])).toEqual([
      [6, pte(3)],
      [5 + 256, pte(2)],
    ]);
    t.flushMm(1);
    expect(t.lookup(1, 6)).toBe(0);
    expect(t.lookup(1, 5 + 256)).toBe(0);
    expect(t.lookup(2, 7)).toBe(pte(4));
  });

  it('Machine.flushTlb flushes every CPU of the mask and counts local and remote flushes', () => {
    const m = new Machine({ frames: 16, cpus: 3, recording: false });
    m.tlbs[0].fill(1, 10, pte(1));
    m.tlbs[1].fill(1, 10, pte(1));
    m.tlbs[2].fill(1, 10, pte(1));
    m.flushTlb(0, 1, new Set([0]), 10, 11);
    expect(m.tlbs[0].lookup(1, 10)).toBe(0);
    expect(m.tlbs[1].lookup(1, 10)).toBe(pte(1)); // not in the mask: still there
    expect(m.counters.get('tlb.flush_local')).toBe(1);
    expect(m.counters.get('tlb.flush_remote')).toBe(0);
    m.flushTlb(0, 1, new Set([0, 1]), 10, 11);
    expect(m.tlbs[1].lookup(1, 10)).toBe(0);
    expect(m.tlbs[2].lookup(1, 10)).toBe(pte(1));
    expect(m.counters.get('tlb.flush_local')).toBe(2);
    expect(m.counters.get('tlb.flush_remote')).toBe(1);
    // a large range flushes the whole mm
    m.tlbs[2].fill(1, 1000, pte(5));
    m.flushTlb(1, 1, new Set([2]), 0, 1 << 20);
    expect(m.tlbs[2].lookup(1, 10)).toBe(0);
    expect(m.tlbs[2].lookup(1, 1000)).toBe(0);
    expect(m.counters.get('tlb.flush_remote')).toBe(2);
  });
});
