/**
 * Scenario-style tests of the primary MMU (issue 2): what a process sees, which frames back it, and what
 * the invariant checker says, for the classic anonymous-memory stories.
 */
import { describe, expect, it } from 'vitest';
import { ZERO_PFN } from '../../src/hw/frames.js';
import { addr, data, dmaWrite, framesUsed, type Harness, harness, PAGE } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('zero page on read', () => {
  it('a read of untouched anonymous memory maps the shared zero page read-only and allocates nothing', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('a');
    sys.spawn('b');
    const pa = addr(sys.mmap('a', 4 * PAGE, 'rw'));
    const pb = addr(sys.mmap('b', 4 * PAGE, 'rw'));
    expect(h.bytes('a', pa + 100, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(h.bytes('b', pb + 3 * PAGE, 4)).toEqual([0, 0, 0, 0]);
    expect(h.pfn('a', pa)).toBe(ZERO_PFN);
    expect(h.pfn('b', pb + 3 * PAGE)).toBe(ZERO_PFN);
    expect(h.writable('a', pa)).toBe(false);
    expect(framesUsed(h)).toBe(0);
    expect(sys.kernel.counters.get('faults.anon_read_zero')).toBe(2);
    expect(sys.kernel.frames.mapcount(ZERO_PFN)).toBe(0); // pte_special: not counted
    h.clean();
  });

  it('a write after the zero-page read gets a fresh zeroed page (wp_page_copy from the zero pfn)', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('a');
    const p = addr(sys.mmap('a', PAGE, 'rw'));
    h.bytes('a', p, 1);
    expect(sys.write('a', p + 10, 'hi')).toEqual({ ok: true });
    const pfn = h.pfn('a', p);
    expect(pfn).not.toBe(ZERO_PFN);
    expect(h.writable('a', p)).toBe(true);
    expect(h.bytes('a', p + 8, 6)).toEqual([0, 0, 104, 105, 0, 0]);
    expect(sys.kernel.frames.mapcount(pfn)).toBe(1);
    expect(sys.kernel.frames.raw.refcount[pfn]).toBe(1);
    expect(framesUsed(h)).toBe(1);
    h.clean();
  });

  it('a first write allocates directly (do_anonymous_page), without a zero-page step', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('a');
    const p = addr(sys.mmap('a', PAGE, 'rw'));
    sys.write('a', p, 'x');
    expect(sys.kernel.counters.get('faults.anon_write')).toBe(1);
    expect(sys.kernel.counters.get('faults.anon_read_zero')).toBe(0);
    expect(h.writable('a', p)).toBe(true);
    h.clean();
  });
});

describe('copy-on-write after fork', () => {
  function forked(kernel: 'v5.0' | 'v6.10' = 'v5.0'): { h: Harness; p: number } {
    const h = harness(kernel);
    const { sys } = h;
    sys.spawn('parent');
    const p = addr(sys.mmap('parent', 2 * PAGE, 'rw'));
    sys.write('parent', p, 'original');
    sys.fork('parent', 'child');
    return { h, p };
  }

  for (const kernel of ['v5.0', 'v6.10'] as const) {
    it(`${kernel}: after fork both map one read-only frame; the child's write copies, the parent's then reuses`, () => {
      const { h, p } = forked(kernel);
      const { sys } = h;
      const shared = h.pfn('parent', p);
      expect(h.pfn('child', p)).toBe(shared);
      expect(h.writable('parent', p)).toBe(false);
      expect(h.writable('child', p)).toBe(false);
      expect(sys.kernel.frames.mapcount(shared)).toBe(2);
      expect(sys.kernel.frames.raw.refcount[shared]).toBe(2);
      h.clean();

      sys.write('child', p, 'CHILD');
      expect(h.pfn('child', p)).not.toBe(shared);
      expect(h.pfn('parent', p)).toBe(shared);
      expect(h.str('child', p, 8)).toBe('CHILDnal');
      expect(h.str('parent', p, 8)).toBe('original');
      expect(sys.kernel.counters.get('faults.cow_copy')).toBe(1);
      expect(sys.kernel.frames.mapcount(shared)).toBe(1);
      h.clean();

      sys.write('parent', p, 'PARENT');
      expect(h.pfn('parent', p)).toBe(shared); // the last user reuses the page in place
      expect(sys.kernel.counters.get('faults.cow_reuse')).toBe(1);
      expect(sys.kernel.counters.get('faults.cow_copy')).toBe(1);
      expect(h.str('parent', p, 8)).toBe('PARENTal');
      expect(h.str('child', p, 8)).toBe('CHILDnal');
      h.clean();
    });

    it(`${kernel}: the other direction — the parent's write copies, the child's then reuses`, () => {
      const { h, p } = forked(kernel);
      const { sys } = h;
      const shared = h.pfn('parent', p);
      sys.write('parent', p, 'P');
      expect(h.pfn('parent', p)).not.toBe(shared);
      expect(h.str('child', p, 8)).toBe('original');
      sys.write('child', p, 'C');
      expect(h.pfn('child', p)).toBe(shared);
      expect(h.str('parent', p, 8)).toBe('Priginal');
      expect(h.str('child', p, 8)).toBe('Criginal');
      expect(sys.kernel.counters.get('faults.cow_copy')).toBe(1);
      expect(sys.kernel.counters.get('faults.cow_reuse')).toBe(1);
      h.clean();
    });
  }

  it('fork skips a vma with only zero-page ptes (no anon_vma): the child faults afresh; a write gets its own page', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('parent');
    const p = addr(sys.mmap('parent', PAGE, 'rw'));
    h.bytes('parent', p, 1);
    sys.fork('parent', 'child');
    expect(h.pte('child', p)).toBe(0); // copy_page_range / vma_needs_copy: nothing to copy
    expect(h.bytes('child', p, 1)).toEqual([0]);
    expect(h.pfn('child', p)).toBe(ZERO_PFN);
    sys.write('child', p, 'c');
    expect(h.bytes('parent', p, 1)).toEqual([0]);
    expect(h.bytes('child', p, 1)).toEqual([99]);
    expect(h.pfn('parent', p)).toBe(ZERO_PFN);
    h.clean();
  });

  it('writes never cross between a parent and its children and grandchildren', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    for (let i = 0; i < 3; i++) sys.write('p', a + i * PAGE, `p${i}`);
    sys.fork('p', 'c');
    sys.fork('c', 'g');
    sys.write('c', a + PAGE, 'c1');
    sys.write('g', a + 2 * PAGE, 'g2');
    sys.write('p', a, 'P0');
    expect([0, 1, 2].map((i) => h.str('p', a + i * PAGE, 2))).toEqual(['P0', 'p1', 'p2']);
    expect([0, 1, 2].map((i) => h.str('c', a + i * PAGE, 2))).toEqual(['p0', 'c1', 'p2']);
    expect([0, 1, 2].map((i) => h.str('g', a + i * PAGE, 2))).toEqual(['p0', 'p1', 'g2']);
    // page 0 is still shared by c and g, page 2 by p and c
    expect(h.pfn('c', a)).toBe(h.pfn('g', a));
    expect(h.pfn('p', a + 2 * PAGE)).toBe(h.pfn('c', a + 2 * PAGE));
    h.clean();
    for (const t of ['g', 'c', 'p']) sys.exit(t);
    h.clean();
    expect(framesUsed(h)).toBe(0);
  });

  it('a shared mapping stays shared across fork: writes show in both', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw', { shared: true }));
    sys.write('p', a, 'before');
    sys.fork('p', 'c');
    sys.write('c', a, 'CHILD');
    sys.write('p', a + PAGE, 'PARENT');
    expect(h.str('p', a, 6)).toBe('CHILDe');
    expect(h.str('c', a + PAGE, 6)).toBe('PARENT');
    expect(h.pfn('p', a)).toBe(h.pfn('c', a));
    expect(sys.kernel.counters.get('faults.cow_copy')).toBe(0);
    h.clean();
    sys.exit('p');
    expect(h.str('c', a, 5)).toBe('CHILD');
    sys.exit('c');
    h.clean();
    expect(framesUsed(h)).toBe(0);
  });
});

describe('reuse when exclusive', () => {
  for (const kernel of ['v5.0', 'v6.10'] as const) {
    it(`${kernel}: a write to a read-only pte of a page only this mm maps reuses it (no copy)`, () => {
      const h = harness(kernel);
      const { sys } = h;
      sys.spawn('p');
      const a = addr(sys.mmap('p', PAGE, 'rw'));
      sys.write('p', a, 'one');
      const pfn = h.pfn('p', a);
      sys.mprotect('p', a, PAGE, 'r');
      sys.mprotect('p', a, PAGE, 'rw');
      // private: vm_page_prot is read-only until the write fault; since v6.0 (64fe24a3e05e) mprotect
      // maps an exclusive anonymous page writable at once, and no write fault comes
      const atOnce = kernel !== 'v5.0';
      expect(h.writable('p', a)).toBe(atOnce);
      sys.write('p', a, 'two');
      expect(h.pfn('p', a)).toBe(pfn);
      expect(h.writable('p', a)).toBe(true);
      expect(sys.kernel.counters.get('faults.cow_reuse')).toBe(atOnce ? 0 : 1);
      expect(sys.kernel.counters.get('faults.cow_copy')).toBe(0);
      h.clean();
    });

    it(`${kernel}: after the child exits, the parent reuses the page it shared`, () => {
      const h = harness(kernel);
      const { sys } = h;
      sys.spawn('p');
      const a = addr(sys.mmap('p', PAGE, 'rw'));
      sys.write('p', a, 'one');
      const pfn = h.pfn('p', a);
      sys.fork('p', 'c');
      sys.exit('c');
      sys.write('p', a, 'two');
      expect(h.pfn('p', a)).toBe(pfn);
      expect(sys.kernel.counters.get('faults.cow_copy')).toBe(0);
      h.clean();
    });
  }

  it('v6.10 anon-exclusive: a page this mm alone owns is reused even with an extra reference; v5.0 reuses by mapcount', () => {
    for (const kernel of ['v5.0', 'v6.10'] as const) {
      const h = harness(kernel);
      const { sys } = h;
      sys.spawn('p');
      const a = addr(sys.mmap('p', PAGE, 'rw'));
      sys.write('p', a, 'one');
      const pfn = h.pfn('p', a);
      expect(sys.gup('p', a, 1, { write: false, pin: false, name: 'ref' })).toBeNull();
      expect(sys.kernel.frames.raw.refcount[pfn]).toBe(2);
      sys.mprotect('p', a, PAGE, 'r');
      sys.mprotect('p', a, PAGE, 'rw');
      sys.write('p', a, 'two');
      expect(h.pfn('p', a)).toBe(pfn); // both: v5.0 mapcount 1, v6.10 PageAnonExclusive
      h.clean();
    }
  });

  it('v6.10 anon-exclusive: a page no longer exclusive (it was shared by fork) is copied while a reference remains', () => {
    const run = (kernel: 'v5.0' | 'v6.10'): { copied: boolean; h: Harness } => {
      const h = harness(kernel);
      const { sys } = h;
      sys.spawn('p');
      const a = addr(sys.mmap('p', PAGE, 'rw'));
      sys.write('p', a, 'one');
      const pfn = h.pfn('p', a);
      sys.fork('p', 'c');
      expect(sys.gup('p', a, 1, { write: false, pin: false, name: 'ref' })).toBeNull(); // a get_user_pages reference
      sys.exit('c');
      sys.write('p', a, 'two');
      return { copied: h.pfn('p', a) !== pfn, h };
    };
    const v50 = run('v5.0');
    const v610 = run('v6.10');
    expect(v50.copied).toBe(false); // reuse_swap_page: mapcount 1, the reference is ignored
    expect(v610.copied).toBe(true); // not exclusive and refcount 2: copy
    expect(v610.h.sys.kernel.counters.get('faults.cow_copy')).toBe(1);
    v50.h.clean();
    v610.h.clean();
    // the copy is exclusive: the next write-protect + write reuses it
    const { h } = v610;
    const a = h.sys.task('p').mm.vmas[0].start;
    const mine = h.pfn('p', a);
    h.sys.mprotect('p', a, PAGE, 'r');
    h.sys.mprotect('p', a, PAGE, 'rw');
    h.sys.write('p', a, 'three');
    expect(h.pfn('p', a)).toBe(mine);
    h.clean();
  });
});

describe('MADV_DONTNEED', () => {
  it('drops private pages (frames freed) and the range re-faults as zeroes', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 4 * PAGE, 'rw'));
    for (let i = 0; i < 4; i++) sys.write('p', a + i * PAGE, `page${i}`);
    expect(framesUsed(h)).toBe(4);
    expect(sys.madvise('p', a + PAGE, 2 * PAGE, 'dontneed')).toBeNull();
    expect(h.pte('p', a + PAGE)).toBe(0);
    expect(h.pte('p', a + 2 * PAGE)).toBe(0);
    expect(framesUsed(h)).toBe(2);
    h.clean();
    expect(h.bytes('p', a + PAGE, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(h.pfn('p', a + PAGE)).toBe(ZERO_PFN);
    expect(h.str('p', a, 5)).toBe('page0');
    expect(h.str('p', a + 3 * PAGE, 5)).toBe('page3');
    sys.write('p', a + 2 * PAGE + 1, 'x');
    expect(h.bytes('p', a + 2 * PAGE, 3)).toEqual([0, 120, 0]);
    h.clean();
  });

  it('in a child after fork, drops only the child’s view; the parent keeps its data', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw'));
    sys.write('p', a, 'keep');
    sys.fork('p', 'c');
    sys.madvise('c', a, PAGE, 'dontneed');
    expect(h.bytes('c', a, 4)).toEqual([0, 0, 0, 0]);
    expect(h.str('p', a, 4)).toBe('keep');
    expect(sys.kernel.frames.mapcount(h.pfn('p', a))).toBe(1);
    h.clean();
  });

  it('on a shared mapping keeps the data (the page stays in the shmem object)', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw', { shared: true }));
    sys.write('p', a, 'shm');
    sys.madvise('p', a, PAGE, 'dontneed');
    expect(h.pte('p', a)).toBe(0);
    expect(h.str('p', a, 3)).toBe('shm');
    h.clean();
  });
});

describe('mprotect and munmap', () => {
  it('mprotect(PROT_READ) makes writes SIGSEGV — even with a writable entry in the TLB before', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    sys.write('p', a, 'data'); // the TLB now caches a writable, dirty entry
    expect(sys.mprotect('p', a, PAGE, 'r')).toBeNull();
    expect(h.writable('p', a)).toBe(false);
    expect(sys.write('p', a, 'evil')).toEqual({ ok: false, error: 'SIGSEGV' });
    expect(sys.task('p').signals).toEqual(['SIGSEGV']);
    expect(sys.kernel.counters.get('faults.sigsegv')).toBe(1);
    expect(h.str('p', a, 4)).toBe('data'); // reads still work, the data is unchanged
    expect(sys.write('p', a + PAGE, 'ok')).toEqual({ ok: true }); // the other page is still writable
    h.clean();
    expect(sys.mprotect('p', a, PAGE, 'none')).toBeNull();
    expect(sys.read('p', a, 1)).toEqual({ ok: false, error: 'SIGSEGV' });
    h.clean();
    expect(sys.mprotect('p', a, PAGE, 'rw')).toBeNull();
    expect(sys.write('p', a, 'back')).toEqual({ ok: true });
    expect(h.str('p', a, 4)).toBe('back');
    expect(sys.kernel.counters.get('faults.cow_copy')).toBe(0);
    h.clean();
  });

  it('a write spanning into a read-only page stores the writable part and then SIGSEGVs', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    sys.mprotect('p', a + PAGE, PAGE, 'r');
    expect(sys.write('p', a + PAGE - 2, 'abcd')).toEqual({ ok: false, error: 'SIGSEGV' });
    expect(h.str('p', a + PAGE - 2, 2)).toBe('ab');
    expect(h.bytes('p', a + PAGE, 2)).toEqual([0, 0]);
    h.clean();
  });

  it('mprotect over a hole is ENOMEM after changing the vmas before it (do_mprotect_pkey); bad arguments are EINVAL', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    sys.munmap('p', a + PAGE, PAGE);
    expect(sys.mprotect('p', a, 3 * PAGE, 'r')).toBe('ENOMEM');
    expect(sys.write('p', a, 'x')).toEqual({ ok: false, error: 'SIGSEGV' }); // before the hole: changed
    expect(sys.write('p', a + 2 * PAGE, 'still writable')).toEqual({ ok: true }); // after it: not
    expect(sys.mprotect('p', a + PAGE, 2 * PAGE, 'r')).toBe('ENOMEM'); // starts in the hole: nothing changes
    expect(sys.write('p', a + 2 * PAGE, 'still writable')).toEqual({ ok: true });
    expect(sys.mprotect('p', a, 0, 'none')).toBeNull(); // zero length: nothing to do
    expect(sys.read('p', a, 1).ok).toBe(true);
    expect(sys.mprotect('p', a + 1, PAGE, 'r')).toBe('EINVAL');
    expect(sys.mprotect('p', a, PAGE, 'q')).toBe('EINVAL');
    h.clean();
  });

  it('madvise over a hole applies to the mapped parts and returns ENOMEM; zero length does nothing', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    sys.write('p', a, 'zero me');
    sys.write('p', a + 2 * PAGE, 'me too');
    sys.munmap('p', a + PAGE, PAGE);
    expect(sys.madvise('p', a, 0, 'dontneed')).toBeNull();
    expect(h.str('p', a, 7)).toBe('zero me');
    expect(sys.madvise('p', a, 4 * PAGE, 'dontneed')).toBe('ENOMEM');
    expect(h.bytes('p', a, 2)).toEqual([0, 0]);
    expect(h.bytes('p', a + 2 * PAGE, 2)).toEqual([0, 0]);
    expect(sys.madvise('p', a + PAGE, PAGE, 'dontneed')).toBe('ENOMEM');
    expect(sys.madvise('p', a + 1, PAGE, 'dontneed')).toBe('EINVAL');
    h.clean();
  });

  it('munmap then access is SIGSEGV; the frames go back; neighbours are untouched', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    for (let i = 0; i < 3; i++) sys.write('p', a + i * PAGE, `n${i}`);
    expect(sys.munmap('p', a + PAGE, PAGE)).toBeNull();
    expect(framesUsed(h)).toBe(2);
    expect(sys.read('p', a + PAGE, 1)).toEqual({ ok: false, error: 'SIGSEGV' });
    expect(sys.write('p', a + PAGE, 'x')).toEqual({ ok: false, error: 'SIGSEGV' });
    expect(h.str('p', a, 2)).toBe('n0');
    expect(h.str('p', a + 2 * PAGE, 2)).toBe('n2');
    expect(sys.task('p').mm.vmas.length).toBe(2);
    expect(sys.task('p').signals).toEqual(['SIGSEGV', 'SIGSEGV']);
    h.clean();
    // the hole can be mapped again, and reads zeroes
    expect(sys.mmap('p', PAGE, 'rw', { at: a + PAGE })).toBe(a + PAGE);
    expect(h.bytes('p', a + PAGE, 2)).toEqual([0, 0]);
    sys.munmap('p', a, 3 * PAGE);
    expect(framesUsed(h)).toBe(0);
    expect(sys.task('p').mm.pt.ptePages).toBe(0);
    h.clean();
  });

  it('an address never mapped is SIGSEGV for reads and writes, with no exception', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    expect(sys.read('p', 0x1000, 4)).toEqual({ ok: false, error: 'SIGSEGV' });
    expect(sys.write('p', 0x7f00_0000_0000, 'x')).toEqual({ ok: false, error: 'SIGSEGV' });
    h.clean();
  });
});

/**
 * fork() of a page pinned for DMA writes (pin_user_pages, as RDMA or O_DIRECT read do).
 * - v5.0 (forkCopiesPinnedPages false): the child shares the pinned page copy-on-write; the parent's next
 *   write copies the parent away from its own pinned page, so the device's later writes land in a page
 *   only the child maps. The checker sees a write to a frame the parent no longer maps (invariant 2) and
 *   data appearing in the child (invariant 3).
 * - v6.10 (forkCopiesPinnedPages true, pin bias 1024, commit 70e806e4e645 of v5.9 and the v5.19
 *   PageAnonExclusive rework): the child gets a copy at fork and the parent keeps its pinned page writable.
 */
describe('fork of a pinned page', () => {
  function pinnedFork(kernel: 'v5.0' | 'v6.10'): { h: Harness; a: number; pinned: number } {
    const h = harness(kernel);
    const { sys } = h;
    sys.spawn('parent');
    const a = addr(sys.mmap('parent', PAGE, 'rw'));
    sys.write('parent', a, 'before fork');
    expect(sys.gup('parent', a, 1, { write: true, pin: true, name: 'rdma' })).toBeNull();
    const pinned = h.pfn('parent', a);
    expect(sys.kernel.frames.raw.refcount[pinned]).toBe(1 + sys.kernel.profile.pinBias);
    expect(sys.fork('parent', 'child')).not.toBeTypeOf('string');
    sys.write('parent', a, 'parent after');
    // the device writes through its pin (DMA: no page table involved)
    dmaWrite(sys.kernel, 'rdma0', sys.task('parent').mm, a + 100, pinned, enc('from the device'));
    return { h, a, pinned };
  }

  it('v5.0: the child shares the pinned page COW and the parent COWs away from its own pin (the bug)', () => {
    const { h, a, pinned } = pinnedFork('v5.0');
    expect(h.pfn('parent', a)).not.toBe(pinned);
    expect(h.pfn('child', a)).toBe(pinned);
    expect(h.sys.kernel.counters.get('faults.cow_copy')).toBe(1);
    expect(h.str('parent', a + 100, 15)).not.toBe('from the device'); // the parent never sees its DMA
    expect(h.str('child', a + 100, 15)).toBe('from the device'); // ... and the child does
    expect(h.str('child', a, 11)).toBe('before fork');
    h.checker.checkNow();
    const kinds = new Set(h.violations.list.map((v) => v.invariant));
    expect(kinds.has('stale-write')).toBe(true);
    expect(kinds.has('data')).toBe(true);
  });

  it('v6.10: the child gets its own copy at fork; the parent keeps the pinned page and sees the DMA', () => {
    const { h, a, pinned } = pinnedFork('v6.10');
    expect(h.pfn('parent', a)).toBe(pinned);
    expect(h.pfn('child', a)).not.toBe(pinned);
    expect(h.sys.kernel.counters.get('faults.cow_copy')).toBe(0);
    expect(h.str('parent', a, 12)).toBe('parent after');
    expect(h.str('parent', a + 100, 15)).toBe('from the device');
    expect(h.str('child', a, 11)).toBe('before fork');
    expect(h.bytes('child', a + 100, 2)).toEqual([0, 0]);
    h.clean();
    h.sys.unpin('rdma');
    h.sys.exit('child');
    h.sys.exit('parent');
    h.clean();
    expect(framesUsed(h)).toBe(0);
  });

  it('v6.10: an unpinned page (or a plain get_user_pages reference) is still shared COW by fork', () => {
    const h = harness('v6.10');
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    sys.write('p', a, 'x');
    sys.write('p', a + PAGE, 'y');
    sys.gup('p', a + PAGE, 1, { write: true, pin: false, name: 'get' });
    sys.fork('p', 'c');
    expect(h.pfn('c', a)).toBe(h.pfn('p', a));
    expect(h.pfn('c', a + PAGE)).toBe(h.pfn('p', a + PAGE));
    h.clean();
  });
});

describe('errors in model terms', () => {
  it('ENOMEM when RAM is exhausted: the access fails, nothing throws, nothing leaks', () => {
    const h = harness('v5.0', { ramBytes: 9 * PAGE }); // 8 usable frames
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 16 * PAGE, 'rw'));
    const results = Array.from({ length: 10 }, (_, i) => sys.write('p', a + i * PAGE, `${i}`));
    expect(results.slice(0, 8).every((r) => r.ok)).toBe(true);
    expect(results[8]).toEqual({ ok: false, error: 'ENOMEM' });
    expect(results[9]).toEqual({ ok: false, error: 'ENOMEM' });
    expect(h.pte('p', a + 8 * PAGE)).toBe(0);
    expect(h.bytes('p', a + 8 * PAGE, 1)).toEqual([0]); // reads still work (zero page)
    h.clean();
    // a COW needs a frame too
    sys.fork('p', 'c');
    expect(sys.write('c', a, 'z')).toEqual({ ok: false, error: 'ENOMEM' });
    expect(h.str('c', a, 1)).toBe('0');
    h.clean();
    // freeing memory lets it succeed
    sys.munmap('p', a + 4 * PAGE, 4 * PAGE);
    expect(sys.write('c', a, 'z')).toEqual({ ok: false, error: 'ENOMEM' }); // the child still maps them
    sys.munmap('c', a + 4 * PAGE, 4 * PAGE);
    expect(framesUsed(h)).toBe(4);
    expect(sys.write('c', a, 'z')).toEqual({ ok: true });
    expect(h.str('p', a, 1)).toBe('0');
    h.clean();
    sys.exit('c');
    sys.exit('p');
    h.clean();
    expect(framesUsed(h)).toBe(0);
  });

  it('ENOMEM from get_user_pages and from a shared-memory fault', () => {
    const h = harness('v5.0', { ramBytes: 3 * PAGE });
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 4 * PAGE, 'rw'));
    const s = addr(sys.mmap('p', 2 * PAGE, 'rw', { shared: true }));
    expect(sys.gup('p', a, 4, { write: true, pin: true, name: 'big' })).toBe('ENOMEM');
    expect(sys.pinnedRefs().size).toBe(0); // the partial pin was released...
    expect(framesUsed(h)).toBe(2); // ... and the pages faulted in before memory ran out stay mapped
    expect(sys.kernel.frames.raw.refcount[h.pfn('p', a)]).toBe(1);
    h.clean();
    sys.munmap('p', a, 4 * PAGE);
    expect(sys.read('p', s, 1).ok).toBe(true);
    expect(sys.read('p', s + PAGE, 1).ok).toBe(true);
    expect(sys.read('p', s + PAGE, 1).ok).toBe(true);
    h.clean();
  });

  it('EFAULT from gup on an unmapped address, a read-only mapping for a write, or PROT_NONE', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    const r = addr(sys.mmap('p', PAGE, 'r'));
    const n = addr(sys.mmap('p', PAGE, 'none'));
    sys.munmap('p', a + 2 * PAGE, PAGE);
    expect(sys.gup('p', 0x10000, 1, { write: false, pin: false, name: 'x' })).toBe('EFAULT');
    sys.write('p', a, 'x');
    expect(sys.gup('p', a, 3, { write: false, pin: true, name: 'x' })).toBe('EFAULT'); // runs into the hole
    expect(sys.kernel.frames.raw.refcount[h.pfn('p', a)]).toBe(1); // the first page's pin was dropped
    expect(sys.gup('p', r, 1, { write: true, pin: true, name: 'x' })).toBe('EFAULT');
    expect(sys.gup('p', n, 1, { write: false, pin: false, name: 'x' })).toBe('EFAULT');
    expect(sys.pinnedRefs().size).toBe(0);
    expect(sys.gup('p', r, 1, { write: false, pin: true, name: 'ro' })).toBeNull();
    expect(sys.unpin('nope')).toBe('ENOENT');
    expect(sys.unpin('ro')).toBeNull();
    h.clean();
  });

  it('mmap errors: EINVAL for bad lengths and addresses, EEXIST over an existing mapping', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    expect(sys.mmap('p', 0, 'rw')).toBe('EINVAL');
    expect(sys.mmap('p', PAGE, 'rwz')).toBe('EINVAL');
    expect(sys.mmap('p', PAGE, 'rw', { at: 0x1234 })).toBe('EINVAL');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    expect(sys.mmap('p', PAGE, 'rw', { at: a + PAGE })).toBe('EEXIST');
    expect(sys.munmap('p', a + 1, PAGE)).toBe('EINVAL');
    h.clean();
  });
});

describe('the notifier-free paths', () => {
  it('leave no violation: no mm has a subscriber, every path keeps coherence, data and accounting', () => {
    for (const kernel of ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'] as const) {
      const h = harness(kernel);
      const { sys } = h;
      sys.spawn('p');
      const a = addr(sys.mmap('p', 8 * PAGE, 'rw'));
      const s = addr(sys.mmap('p', 2 * PAGE, 'rw', { shared: true }));
      for (let i = 0; i < 8; i++)
        i % 2 ? sys.write('p', a + i * PAGE, `w${i}`) : sys.read('p', a + i * PAGE, 8);
      sys.write('p', s, 'shared');
      h.clean();
      sys.fork('p', 'c');
      sys.gup('p', a + 3 * PAGE, 2, { write: true, pin: true, name: 'pin' });
      sys.write('c', a + PAGE, 'child');
      sys.write('p', a + 5 * PAGE, 'parent');
      sys.read('c', s, 6);
      h.clean();
      sys.mprotect('p', a, 4 * PAGE, 'r');
      sys.madvise('c', a, 8 * PAGE, 'dontneed');
      sys.munmap('p', a + 6 * PAGE, 2 * PAGE);
      sys.mprotect('p', a, 4 * PAGE, 'rw');
      sys.write('p', a, 'again');
      sys.fork('c', 'g');
      sys.write('g', s + PAGE, 'grandchild');
      h.clean();
      expect(h.str('p', s + PAGE, 10)).toBe('grandchild');
      sys.unpin('pin');
      for (const t of ['g', 'c', 'p']) sys.exit(t);
      h.clean();
      expect(framesUsed(h)).toBe(0);
      // nobody subscribed, so no notifier was called (the RFC profiles still count ranges carrying the flag)
      const counters = sys.kernel.counters.snapshot();
      const calls = Object.keys(counters).filter(
        (n) => n.startsWith('notifier.') && n !== 'notifier.use_change_pte',
      );
      expect(calls).toEqual([]);
      if (kernel.startsWith('rfc')) expect(counters['notifier.use_change_pte']).toBeGreaterThan(0);
      expect(sys.kernel.machine.log.events.filter((e) => e.kind === 'notify')).toEqual([]);
    }
  });
});

describe('fork when memory runs out', () => {
  it('v6.10: a pinned page that cannot be copied fails fork with ENOMEM and leaves no child behind', () => {
    const h = harness('v6.10', { ramBytes: 4 * PAGE }); // 3 usable frames
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    for (let i = 0; i < 3; i++) sys.write('p', a + i * PAGE, `${i}`);
    sys.gup('p', a + PAGE, 1, { write: true, pin: true, name: 'pin' });
    expect(sys.fork('p', 'c')).toBe('ENOMEM');
    expect(sys.kernel.tasks.has('c')).toBe(false);
    expect(sys.kernel.mms.size).toBe(1);
    expect(framesUsed(h)).toBe(3);
    h.clean();
    sys.unpin('pin');
    expect(sys.fork('p', 'c')).not.toBeTypeOf('string'); // nothing pinned now: fork shares COW
    sys.exit('c');
    expect(data(sys.read('p', a + 2 * PAGE, 1))).toEqual(new Uint8Array([50]));
    sys.exit('p');
    h.clean();
    expect(framesUsed(h)).toBe(0);
  });
});
