/**
 * Vma splitting and merging (vma_merge, mprotect_fixup, madvise_update_vma) and the shmem read fault's
 * fault-around: what the oracle's fuzzer found the model to get wrong against Linux 6.18.
 */
import { describe, expect, it } from 'vitest';
import { ZERO_PFN } from '../../src/hw/frames.js';
import { VM_ACCOUNT } from '../../src/mm/vma.js';
import { addr, harness, PAGE } from './helpers.js';

const spans = (h: ReturnType<typeof harness>, proc: string): number[] =>
  h.sys.task(proc).mm.vmas.map((v) => v.pages);

describe('vma merging', () => {
  it('an mmap next to a vma with the same flags grows it; fork then copies the merged range', () => {
    const h = harness('v6.18');
    h.sys.spawn('p');
    const a = addr(h.sys.mmap('p', PAGE, 'rw'));
    h.sys.write('p', a, 'x');
    const b = addr(h.sys.mmap('p', PAGE, 'rw'));
    expect(b).toBe(a - PAGE);
    expect(spans(h, 'p')).toEqual([2]);
    h.str('p', b, 1); // a zero-page pte in the vma that has an anon_vma
    h.sys.fork('p', 'c');
    expect(h.pfn('c', b)).toBe(ZERO_PFN);
    h.clean();
  });

  it('mprotect and madvise that change no flag split nothing; a change back merges the pieces again', () => {
    const h = harness('v6.18');
    h.sys.spawn('p');
    const a = addr(h.sys.mmap('p', 4 * PAGE, 'rw'));
    expect(h.sys.mprotect('p', a + PAGE, PAGE, 'rw')).toBeNull();
    expect(h.sys.madvise('p', a + PAGE, PAGE, 'unmergeable')).toBeNull();
    expect(spans(h, 'p')).toEqual([4]);
    h.sys.mprotect('p', a + PAGE, 2 * PAGE, 'r');
    expect(spans(h, 'p')).toEqual([1, 2, 1]);
    h.sys.mprotect('p', a + PAGE, 2 * PAGE, 'rw');
    expect(spans(h, 'p')).toEqual([4]);
    h.clean();
  });

  it('a faulted vma made compatible with an unfaulted neighbour merges since v6.16 (879bca0a2c4f), not in v6.10', () => {
    for (const [kernel, merged] of [
      ['v6.10', false],
      ['v6.18', true],
    ] as const) {
      const h = harness(kernel);
      h.sys.spawn('p');
      const hi = addr(h.sys.mmap('p', PAGE, 'rw'));
      h.str('p', hi, 1);
      h.sys.madvise('p', hi, PAGE, 'mergeable');
      const lo = addr(h.sys.mmap('p', PAGE, 'rw'));
      h.sys.write('p', lo, 'x');
      h.sys.madvise('p', lo, PAGE, 'mergeable');
      expect(spans(h, 'p')).toEqual(merged ? [2] : [1, 1]);
      h.sys.fork('p', 'c');
      expect(h.pfn('c', hi)).toBe(merged ? ZERO_PFN : -1);
      h.clean();
    }
  });

  it("a fork child's vma does not lend its anon_vma to a new neighbour", () => {
    const h = harness('v6.18');
    h.sys.spawn('p');
    const a = addr(h.sys.mmap('p', PAGE, 'rw'));
    h.sys.write('p', a, 'x');
    h.sys.fork('p', 'c');
    h.sys.mmap('c', PAGE, 'rw');
    expect(spans(h, 'c')).toEqual([1, 1]);
    h.sys.mmap('p', PAGE, 'rw');
    expect(spans(h, 'p')).toEqual([2]);
    h.clean();
  });

  it('VM_ACCOUNT: kept by a faulted vma losing write; dropped by an unfaulted one since v6.10 profiles', () => {
    for (const [kernel, dropped] of [
      ['v5.0', false],
      ['v6.10', true],
    ] as const) {
      const h = harness(kernel);
      h.sys.spawn('p');
      const f = addr(h.sys.mmap('p', PAGE, 'rw'));
      h.sys.write('p', f, 'x');
      h.sys.mprotect('p', f, PAGE, 'r');
      const u = addr(h.sys.mmap('p', PAGE, 'r'));
      expect(h.sys.task('p').mm.findVma(f)!.flags & VM_ACCOUNT).toBe(VM_ACCOUNT);
      expect(h.sys.task('p').mm.findVma(u)!.flags & VM_ACCOUNT).toBe(0);
      expect(spans(h, 'p')).toEqual([1, 1]);
      const w = addr(h.sys.mmap('p', PAGE, 'rw'));
      h.sys.mprotect('p', w, PAGE, 'r');
      expect((h.sys.task('p').mm.findVma(w)!.flags & VM_ACCOUNT) === 0).toBe(dropped);
      h.clean();
    }
  });
});

describe('shmem fault-around', () => {
  it('a read fault maps the cached pages of its 16-page window, not the holes', () => {
    const h = harness('v6.18');
    h.sys.spawn('p');
    const s = addr(h.sys.mmap('p', 20 * PAGE, 'rw', { shared: true }));
    for (const i of [0, 2, 17]) h.sys.write('p', s + i * PAGE, 'x');
    h.sys.fork('p', 'c');
    h.str('c', s + PAGE, 1);
    // the window is aligned to 16 pages of the address: pages 0 and 2 share page 1's here, 17 does not
    for (const i of [0, 2, 17]) {
      const inWindow = Math.floor((s / PAGE + i) / 16) * 16 === Math.floor((s / PAGE + 1) / 16) * 16;
      expect(h.pfn('c', s + i * PAGE)).toBe(inWindow ? h.pfn('p', s + i * PAGE) : -1);
    }
    expect(h.pfn('c', s + 3 * PAGE)).toBe(-1); // never in the cache: not mapped
    h.clean();
  });

  it('v3.2 has no fault-around', () => {
    const h = harness('v3.2');
    h.sys.spawn('p');
    const s = addr(h.sys.mmap('p', 2 * PAGE, 'rw', { shared: true }));
    h.sys.write('p', s, 'x');
    h.sys.fork('p', 'c');
    h.str('c', s + PAGE, 1);
    expect(h.pfn('c', s)).toBe(-1);
    h.clean();
  });
});
