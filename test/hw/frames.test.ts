import { describe, expect, it } from 'vitest';
import { FrameTable, PG_ANON, PG_ZERO, ZERO_PFN } from '../../src/hw/frames.js';

describe('FrameTable', () => {
  it('per-frame arrays: zeroed, registered, and a snapshot of them covers the frames handed out', () => {
    const f = new FrameTable(1000);
    const marks = f.perFrame(Int32Array);
    const bits = f.perFrame(Uint32Array, 32);
    expect(marks.length).toBe(1000);
    expect(bits.length).toBe(32);
    const used = f.usedBytes();
    expect(used.get(marks.buffer)!()).toBe(4); // the zero page only
    for (let i = 0; i < 40; i++) f.alloc();
    expect(f.everUsedBelow).toBe(41);
    expect(used.get(marks.buffer)!()).toBe(41 * 4);
    expect(used.get(bits.buffer)!()).toBe(2 * 4);
    expect(used.size).toBe(8); // the table's own six arrays and these two
  });

  it('frame 0 is the reserved zero page', () => {
    const f = new FrameTable(8);
    expect(f.raw.flags[ZERO_PFN] & PG_ZERO).toBe(PG_ZERO);
    expect(f.raw.refcount[ZERO_PFN]).toBe(1);
    expect(f.isFree(ZERO_PFN)).toBe(false);
    expect(f.free).toBe(7);
    expect(f.used).toBe(0);
    expect(() => new FrameTable(1)).toThrow(RangeError);
  });

  it('allocates every frame but 0 once, then reports exhaustion as -1 (no exception)', () => {
    const f = new FrameTable(6);
    const got = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const pfn = f.alloc();
      expect(pfn).toBeGreaterThan(0);
      expect(f.raw.refcount[pfn]).toBe(1);
      got.add(pfn);
    }
    expect(got.size).toBe(5);
    expect(f.alloc()).toBe(-1);
    expect(f.alloc()).toBe(-1);
    expect(f.free).toBe(0);
    expect(f.used).toBe(5);
  });

  it('hands out low frames first and reuses a released frame at once', () => {
    const f = new FrameTable(100);
    expect([f.alloc(), f.alloc(), f.alloc()]).toEqual([1, 2, 3]);
    f.raw.refcount[2] = 0;
    f.release(2);
    expect(f.isFree(2)).toBe(true);
    expect(f.free).toBe(97);
    expect(f.alloc()).toBe(2);
    expect(f.alloc()).toBe(4);
  });

  it('a reallocated frame starts clean', () => {
    const f = new FrameTable(4);
    const pfn = f.alloc();
    f.raw.flags[pfn] = PG_ANON;
    f.raw.content[pfn] = 77;
    f.raw.anonVma[pfn] = 3;
    f.raw.index[pfn] = 9;
    f.incMapcount(pfn);
    f.raw.refcount[pfn] = 0;
    f.release(pfn);
    expect(f.alloc()).toBe(pfn);
    expect(f.raw.flags[pfn]).toBe(0);
    expect(f.raw.content[pfn]).toBe(0);
    expect(f.raw.anonVma[pfn]).toBe(0);
    expect(f.raw.index[pfn]).toBe(0);
    expect(f.mapcount(pfn)).toBe(0);
    expect(f.raw.refcount[pfn]).toBe(1);
  });

  it('alloc and release are O(1): a million of each is quick', () => {
    const n = 1 << 20;
    const f = new FrameTable(n + 1);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f.alloc();
    for (let pfn = 1; pfn <= n; pfn++) {
      f.raw.refcount[pfn] = 0;
      f.release(pfn);
    }
    for (let i = 0; i < n; i++) f.alloc();
    expect(f.free).toBe(0);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('mapcount counts past 255 and 65535 and back down exactly', () => {
    const f = new FrameTable(3);
    const pfn = f.alloc();
    const other = f.alloc();
    const top = 70_000;
    for (let i = 1; i <= top; i++) {
      f.incMapcount(pfn);
      if (i === 254 || i === 255 || i === 256 || i === 65534 || i === 65535 || i === 65536 || i === top)
        expect(f.mapcount(pfn)).toBe(i);
    }
    f.incMapcount(other);
    expect(f.mapcount(other)).toBe(1);
    for (let i = top - 1; i >= 0; i--) {
      f.decMapcount(pfn);
      if (i % 997 === 0 || (i > 250 && i < 260) || (i > 65530 && i < 65540)) expect(f.mapcount(pfn)).toBe(i);
    }
    expect(f.mapcount(pfn)).toBe(0);
    // up and down around the boundaries, one step at a time
    for (const edge of [255, 65535]) {
      while (f.mapcount(pfn) < edge - 2) f.incMapcount(pfn);
      for (let k = 0; k < 5; k++) {
        f.incMapcount(pfn);
        f.incMapcount(pfn);
        f.decMapcount(pfn);
      }
      expect(f.mapcount(pfn)).toBe(edge + 3);
      for (let k = 0; k < 5; k++) f.decMapcount(pfn);
      expect(f.mapcount(pfn)).toBe(edge - 2);
    }
    expect(f.mapcount(other)).toBe(1);
  });

  it('release forgets an overflowed mapcount', () => {
    const f = new FrameTable(2);
    const pfn = f.alloc();
    for (let i = 0; i < 70_000; i++) f.incMapcount(pfn);
    f.raw.refcount[pfn] = 0;
    f.release(pfn);
    expect(f.alloc()).toBe(pfn);
    expect(f.mapcount(pfn)).toBe(0);
    f.incMapcount(pfn);
    expect(f.mapcount(pfn)).toBe(1);
  });
});
