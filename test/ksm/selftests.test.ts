/**
 * The outcomes the kernel's own KSM selftests check, re-expressed on the model
 * (tools/testing/selftests/mm/ksm_tests.c and ksm_functional_tests.c; the test named in each `describe`).
 * Every step is followed by a full sweep: KSM's counters against a recount of its trees and rmap items,
 * and the invariants of docs/INVARIANTS.md (coherence, data, accounting, USE_CHANGE_PTE).
 */
import { describe, expect, it } from 'vitest';
import { ZERO_PFN } from '../../src/hw/frames.js';
import { KERNEL_NAMES } from '../../src/kernel/profiles.js';
import { data, type KsmHarness, ksmHarness, PAGE } from './helpers.js';

/**
 * ksm_tests.c assert_ksm_pages_count: with max_page_sharing M, `dupl` identical pages give
 * dupl/M KSM pages sharing M-1 each when dupl % M is 0 or 1 (a lone leftover cannot merge), else
 * dupl/M + 1 KSM pages and dupl - pages_shared sharers.
 */
function expectKsmPagesCount(h: KsmHarness, dupl: number): void {
  const m = h.ksm.config.maxPageSharing;
  const shared = h.c('pages_shared');
  const sharing = h.c('pages_sharing');
  if (dupl % m === 0 || dupl % m === 1) {
    expect(shared).toBe(Math.floor(dupl / m));
    expect(sharing).toBe(shared * (m - 1));
  } else {
    expect(shared).toBe(Math.floor(dupl / m) + 1);
    expect(sharing).toBe(dupl - shared);
  }
}

/** ksm_tests.c ksm_merge_pages: MADV_MERGEABLE, then two full scans ("merging occurs only after 2 scans"). */
function ksmMergePages(h: KsmHarness, proc: string, addr: number, pages: number): void {
  h.step(() => expect(h.sys.madvise(proc, addr, pages * PAGE, 'mergeable')).toBeNull());
  h.fullScans(2);
}

describe('ksm_tests.c check_ksm_merge (-M): identical pages in one process merge', () => {
  it('10 pages of "*" become one KSM page with 9 sharers', () => {
    const h = ksmHarness('v5.0', { pagesToScan: 10 });
    const a = h.spawnWithMap('p', 10);
    h.step(() => h.fill('p', a, 10, () => 0x2a));
    ksmMergePages(h, 'p', a, 10);
    expectKsmPagesCount(h, 10);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(9);
    const k = h.pfn('p', a);
    for (let i = 0; i < 10; i++) {
      expect(h.pfn('p', a + i * PAGE)).toBe(k);
      expect(h.writable('p', a + i * PAGE)).toBe(false);
    }
    expect(h.ksm.isKsmPage(k)).toBe(true);
    expect(h.firstBytes('p', a, 10)).toEqual(Array(10).fill(0x2a));
    // 9 of the 10 frames went back to the free pool
    expect(h.sys.kernel.frames.mapcount(k)).toBe(10);
  });

  it('the first full scan only records checksums; the second merges', () => {
    const h = ksmHarness();
    const a = h.spawnWithMap('p', 4);
    h.step(() => h.fill('p', a, 4, () => 7));
    h.step(() => h.sys.madvise('p', a, 4 * PAGE, 'mergeable'));
    h.fullScans(1);
    expect(h.c('pages_volatile')).toBe(4);
    expect(h.c('pages_sharing')).toBe(0);
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(3);
    expect(h.c('full_scans')).toBe(2);
    expect(h.c('pages_scanned')).toBe(8);
  });
});

describe('check_ksm_merge across processes: identical pages in different processes merge', () => {
  it('four processes with the same 8 pages share 8 KSM pages', () => {
    const h = ksmHarness();
    const procs = ['p0', 'p1', 'p2', 'p3'];
    const maps = procs.map((p) => h.spawnWithMap(p, 8));
    const c = h.sys.kernel.contents;
    procs.forEach((p, i) => {
      h.step(() => h.sys.store(p, maps[i], 8 * PAGE, { pages: (j) => c.pattern(42, j) }));
    });
    procs.forEach((p, i) => {
      h.step(() => h.sys.madvise(p, maps[i], 8 * PAGE, 'mergeable'));
    });
    const scans = h.step(() => h.ksm.runUntilStable());
    expect(scans).toBe(3); // checksums, merge, nothing new
    expect(h.c('pages_shared')).toBe(8);
    expect(h.c('pages_sharing')).toBe(24);
    for (let j = 0; j < 8; j++) {
      const frames = procs.map((p, i) => h.pfn(p, maps[i] + j * PAGE));
      expect(new Set(frames).size).toBe(1);
      expect(h.ksm.isKsmPage(frames[0])).toBe(true);
    }
    // different pages of one process stay apart
    expect(h.rangeMapsDuplicates('p0', maps[0], 8)).toBe(false);
  });
});

describe('check_ksm_merge with distinct data: different pages do not merge', () => {
  it('every page differs: all stay private and unshared', () => {
    const h = ksmHarness();
    const a = h.spawnWithMap('p', 16);
    h.step(() => h.fill('p', a, 16, (i) => i + 1));
    ksmMergePages(h, 'p', a, 16);
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(0);
    expect(h.c('pages_sharing')).toBe(0);
    expect(h.c('pages_unshared')).toBe(16);
    expect(h.rangeMapsDuplicates('p', a, 16)).toBe(false);
    for (let i = 0; i < 16; i++) expect(h.writable('p', a + i * PAGE)).toBe(true);
  });
});

describe('ksm_tests.c check_ksm_unmerge (-U): a write to merged pages unmerges them', () => {
  it('two merged pages, one byte changed in each, one full scan: nothing merged', () => {
    const h = ksmHarness('v5.0', { pagesToScan: 2 });
    const a = h.spawnWithMap('p', 2);
    h.step(() => h.fill('p', a, 2, () => 0x2a));
    ksmMergePages(h, 'p', a, 2);
    expectKsmPagesCount(h, 2);
    h.step(() => h.sys.write('p', a, '-'));
    h.step(() => h.sys.write('p', a + PAGE, '+'));
    expect(h.sys.kernel.counters.get('faults.ksm_cow')).toBe(2);
    h.fullScans(1);
    expectKsmPagesCount(h, 0);
    expect(h.c('pages_volatile')).toBe(2);
    expect(h.sys.read('p', a, 2)).toEqual({ ok: true, data: new Uint8Array([0x2d, 0x2a]) });
    expect(h.sys.read('p', a + PAGE, 2)).toEqual({ ok: true, data: new Uint8Array([0x2b, 0x2a]) });
  });
});

describe('the checksum gate: a page written between scans is volatile and not merged', () => {
  it('a page that changes every scan never enters the unstable tree, then merges once it settles', () => {
    const h = ksmHarness();
    const a = h.spawnWithMap('p', 2);
    h.step(() => h.fill('p', a, 2, () => 1));
    h.step(() => h.sys.madvise('p', a, 2 * PAGE, 'mergeable'));
    // page 1 alternates 2, 1, 2, 1 ...: equal to page 0 at every other scan, but never stable
    for (let s = 0; s < 6; s++) {
      h.step(() => h.fill('p', a + PAGE, 1, () => (s % 2 === 0 ? 2 : 1)));
      h.fullScans(1);
      expect(h.c('pages_sharing')).toBe(0);
      expect(h.pfn('p', a)).not.toBe(h.pfn('p', a + PAGE));
      if (s > 0) {
        expect(h.c('pages_volatile')).toBe(1);
        expect(h.c('pages_unshared')).toBe(1);
      }
    }
    // it stops changing: the last scan recorded its checksum while it held 1, so the next one merges
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(1);
    expect(h.pfn('p', a)).toBe(h.pfn('p', a + PAGE));
  });
});

describe('after merging, a write COWs (ksm_tests.c KSM_COW_TIME) and leaves the others merged', () => {
  it('three processes share a page; one writes: it alone gets a private copy', () => {
    const h = ksmHarness();
    const procs = ['a', 'b', 'c'];
    const maps = procs.map((p) => h.spawnWithMap(p, 1));
    procs.forEach((p, i) => {
      h.step(() => h.fill(p, maps[i], 1, () => 0x55));
    });
    procs.forEach((p, i) => {
      h.step(() => h.sys.madvise(p, maps[i], PAGE, 'mergeable'));
    });
    h.fullScans(2);
    const k = h.pfn('a', maps[0]);
    expect(h.ksm.isKsmPage(k)).toBe(true);
    expect(h.c('pages_sharing')).toBe(2);
    h.step(() => h.sys.write('a', maps[0] + 10, 'hello'));
    expect(h.sys.kernel.counters.get('faults.ksm_cow')).toBe(1);
    expect(h.pfn('a', maps[0])).not.toBe(k);
    expect(h.writable('a', maps[0])).toBe(true);
    expect(h.isKsm('a', maps[0])).toBe(false);
    expect(h.pfn('b', maps[1])).toBe(k);
    expect(h.pfn('c', maps[2])).toBe(k);
    expect(h.writable('b', maps[1])).toBe(false);
    expect(new TextDecoder().decode(data(h.sys.read('a', maps[0] + 10, 5)))).toBe('hello');
    expect(h.firstBytes('b', maps[1], 1)).toEqual([0x55]);
    // the counters, like sysfs, only move when ksmd next looks at the page
    expect(h.c('pages_sharing')).toBe(2);
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(1);
    expect(h.c('pages_volatile')).toBe(1);
  });
});

describe('ksm_functional_tests.c test_unmerge: MADV_UNMERGEABLE restores private copies with the same data', () => {
  it('2 MiB of 0xcf merged, then unmerged: no frame mapped twice, every byte still 0xcf', () => {
    const pages = 512;
    const h = ksmHarness('v5.0', { pagesToScan: 1000 });
    const a = h.spawnWithMap('p', pages);
    h.step(() => h.sys.madvise('p', a, pages * PAGE, 'nohugepage'));
    h.step(() => h.fill('p', a, pages, () => 0xcf));
    ksmMergePages(h, 'p', a, pages);
    expect(h.rangeMapsDuplicates('p', a, pages)).toBe(true);
    expectKsmPagesCount(h, pages); // two KSM pages: max_page_sharing is 256
    expect(h.c('stable_node_chains')).toBe(1);
    const framesMerged = h.sys.kernel.frames.used;
    h.step(() => expect(h.sys.madvise('p', a, pages * PAGE, 'unmergeable')).toBeNull());
    expect(h.rangeMapsDuplicates('p', a, pages)).toBe(false);
    expect(h.firstBytes('p', a, pages)).toEqual(Array(pages).fill(0xcf));
    for (let i = 0; i < pages; i++) {
      expect(h.isKsm('p', a + i * PAGE)).toBe(false);
      expect(h.writable('p', a + i * PAGE)).toBe(true);
    }
    expect(h.sys.kernel.counters.get('faults.ksm_cow')).toBe(pages);
    expect(h.sys.kernel.frames.used).toBe(framesMerged - 2 + pages);
    expect(h.ksm.stats.unmerged).toBe(pages);
    // ksmd drops the rmap items when it next passes: the vma is no longer VM_MERGEABLE
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(0);
    expect(h.c('pages_sharing')).toBe(0);
    expect(h.c('pages_volatile')).toBe(0);
    expect(h.ksm.isRegistered(h.sys.task('p').mm)).toBe(false);
  });

  it('test_unmerge_discarded: half the range MADV_DONTNEED first (pte_none entries)', () => {
    const pages = 512;
    const h = ksmHarness('v5.0', { pagesToScan: 1000 });
    const a = h.spawnWithMap('p', pages);
    h.step(() => h.fill('p', a, pages, () => 0xcf));
    ksmMergePages(h, 'p', a, pages);
    h.step(() => h.sys.madvise('p', a, (pages / 2) * PAGE, 'dontneed'));
    h.step(() => expect(h.sys.madvise('p', a, pages * PAGE, 'unmergeable')).toBeNull());
    expect(h.rangeMapsDuplicates('p', a, pages)).toBe(false);
    expect(h.firstBytes('p', a + (pages / 2) * PAGE, pages / 2)).toEqual(Array(pages / 2).fill(0xcf));
    expect(h.firstBytes('p', a, 4)).toEqual([0, 0, 0, 0]);
  });

  it('unmerging part of a range leaves the rest merged', () => {
    const h = ksmHarness();
    const a = h.spawnWithMap('p', 8);
    h.step(() => h.fill('p', a, 8, () => 3));
    ksmMergePages(h, 'p', a, 8);
    h.step(() => h.sys.madvise('p', a, 4 * PAGE, 'unmergeable'));
    for (let i = 0; i < 4; i++) expect(h.isKsm('p', a + i * PAGE)).toBe(false);
    for (let i = 4; i < 8; i++) expect(h.isKsm('p', a + i * PAGE)).toBe(true);
    h.fullScans(2);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(3);
  });
});

describe('ksm_functional_tests.c test_prot_none: PROT_NONE pages merge and unmerge', () => {
  for (const kernel of KERNEL_NAMES) {
    it(`${kernel}: ksmd finds the pte_protnone ptes, MADV_UNMERGEABLE gives private copies, the task still faults`, () => {
      const pages = 8;
      const h = ksmHarness(kernel);
      const a = h.spawnWithMap('p', pages);
      h.step(() => h.fill('p', a, pages, () => 0x11));
      h.step(() => expect(h.sys.mprotect('p', a, pages * PAGE, 'none')).toBeNull());
      ksmMergePages(h, 'p', a, pages);
      const k = h.pfn('p', a);
      expect(h.ksm.isKsmPage(k)).toBe(true);
      for (let i = 0; i < pages; i++) expect(h.pfn('p', a + i * PAGE)).toBe(k);
      expect(h.c('pages_shared')).toBe(1);
      expect(h.c('pages_sharing')).toBe(pages - 1);
      expect(h.sys.read('p', a, 1)).toEqual({ ok: false, error: 'SIGSEGV' });
      h.step(() => expect(h.sys.madvise('p', a, pages * PAGE, 'unmergeable')).toBeNull());
      expect(h.rangeMapsDuplicates('p', a, pages)).toBe(false);
      for (let i = 0; i < pages; i++) expect(h.isKsm('p', a + i * PAGE)).toBe(false);
      expect(h.sys.write('p', a, 'x')).toEqual({ ok: false, error: 'SIGSEGV' });
      h.step(() => expect(h.sys.mprotect('p', a, pages * PAGE, 'rw')).toBeNull());
      expect(h.firstBytes('p', a, pages)).toEqual(Array(pages).fill(0x11));
    });
  }
});

describe('ksm_tests.c check_ksm_zero_page_merge (-Z): zero pages and use_zero_pages', () => {
  it('use_zero_pages=1: empty pages merge with the zero page, not with each other', () => {
    const h = ksmHarness('v5.0', { useZeroPages: true });
    const a = h.spawnWithMap('p', 10);
    h.step(() => h.fill('p', a, 10, () => 0)); // written zeroes: real pages, not the zero page
    for (let i = 0; i < 10; i++) expect(h.pfn('p', a + i * PAGE)).toBeGreaterThan(ZERO_PFN);
    const before = h.sys.kernel.frames.used;
    ksmMergePages(h, 'p', a, 10);
    expectKsmPagesCount(h, 0);
    for (let i = 0; i < 10; i++) {
      expect(h.pfn('p', a + i * PAGE)).toBe(ZERO_PFN);
      expect(h.writable('p', a + i * PAGE)).toBe(false);
    }
    expect(h.sys.kernel.frames.used).toBe(before - 10);
    expect(h.ksm.stats.zeroPageMerges).toBe(10);
    expect(h.sys.task('p').mm.anonRss).toBe(0);
    // the rmap items of zero-page ptes are dropped at the next pass (follow_page finds no anon page)
    h.fullScans(1);
    expect(h.c('pages_volatile')).toBe(0);
    // a write gets a fresh zeroed page (do_wp_page on the zero pfn), not a KSM COW
    h.step(() => h.sys.write('p', a, 'x'));
    expect(h.sys.kernel.counters.get('faults.ksm_cow')).toBe(0);
    expect(h.firstBytes('p', a, 2)).toEqual([0x78, 0]);
  });

  it('use_zero_pages=0: empty pages are merged as usual', () => {
    const h = ksmHarness('v5.0', { useZeroPages: false });
    const a = h.spawnWithMap('p', 10);
    h.step(() => h.fill('p', a, 10, () => 0));
    ksmMergePages(h, 'p', a, 10);
    expectKsmPagesCount(h, 10);
    expect(h.isKsm('p', a)).toBe(true);
  });

  it('test_unmerge_zero_pages, as v5.0 does it: MADV_UNMERGEABLE leaves KSM-placed zero pages; writes unshare them', () => {
    // (v6.4 added ksm_zero_pages and made MADV_UNMERGEABLE unshare them too; v5.0 only breaks PageKsm pages)
    const pages = 64;
    const h = ksmHarness('v5.0', { useZeroPages: true, pagesToScan: 200 });
    const a = h.spawnWithMap('p', pages);
    h.step(() => h.fill('p', a, pages, () => 0));
    ksmMergePages(h, 'p', a, pages);
    for (let i = 0; i < pages; i++) expect(h.pfn('p', a + i * PAGE)).toBe(ZERO_PFN);
    h.step(() => h.sys.madvise('p', a, (pages / 2) * PAGE, 'unmergeable'));
    for (let i = 0; i < pages; i++) expect(h.pfn('p', a + i * PAGE)).toBe(ZERO_PFN);
    for (let i = pages / 2; i < pages; i++) h.step(() => h.sys.write('p', a + i * PAGE, new Uint8Array([i])));
    for (let i = pages / 2; i < pages; i++) expect(h.pfn('p', a + i * PAGE)).toBeGreaterThan(ZERO_PFN);
    expect(h.rangeMapsDuplicates('p', a, pages)).toBe(false);
    expect(h.firstBytes('p', a, pages)).toEqual(
      Array.from({ length: pages }, (_, i) => (i < pages / 2 ? 0 : i)),
    );
  });
});

describe('check_ksm_merge with max_page_sharing: a full stable node gets a chain of dups', () => {
  for (const dupl of [11, 20, 21, 25]) {
    it(`max_page_sharing 10, ${dupl} identical pages`, () => {
      const h = ksmHarness('v5.0', { maxPageSharing: 10, pagesToScan: dupl });
      const a = h.spawnWithMap('p', dupl);
      h.step(() => h.fill('p', a, dupl, () => 0x2a));
      ksmMergePages(h, 'p', a, dupl);
      expectKsmPagesCount(h, dupl);
      const kpages = new Set(Array.from({ length: dupl }, (_, i) => h.pfn('p', a + i * PAGE)));
      const leftover = dupl % 10 === 1 ? 1 : 0;
      expect(kpages.size).toBe(h.c('pages_shared') + leftover);
      expect(h.c('pages_unshared')).toBe(leftover);
      expect(h.c('stable_node_chains')).toBe(h.c('pages_shared') > 1 ? 1 : 0);
      expect(h.c('stable_node_dups')).toBe(h.c('pages_shared') > 1 ? h.c('pages_shared') : 0);
      for (const k of kpages) {
        if (h.ksm.isKsmPage(k)) expect(h.sys.kernel.frames.mapcount(k)).toBeLessThanOrEqual(10);
      }
      // more scans change nothing
      h.fullScans(2);
      expectKsmPagesCount(h, dupl);
    });
  }

  it('a stale dup is pruned; a chain left with one dup below the limit collapses (chain_prune)', () => {
    const h = ksmHarness('v5.0', { maxPageSharing: 4 });
    const a = h.spawnWithMap('p', 8);
    h.step(() => h.fill('p', a, 8, () => 9));
    ksmMergePages(h, 'p', a, 8);
    expect(h.c('pages_shared')).toBe(2);
    expect(h.c('pages_sharing')).toBe(6);
    expect(h.c('stable_node_chains')).toBe(1);
    expect(h.c('stable_node_dups')).toBe(2);
    // every page of the first dup, and one of the second, gets its own data
    const k = h.pfn('p', a);
    for (let i = 0; i < 8; i++) {
      if (h.pfn('p', a + i * PAGE) === k || i === 7)
        h.step(() => h.sys.write('p', a + i * PAGE, String.fromCharCode(0x61 + i)));
    }
    expect(h.ksm.isKsmPage(k)).toBe(false); // freed: its stable node is stale until ksmd meets it
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(2);
    expect(h.c('stable_node_chains')).toBe(1);
    expect(h.c('stable_node_dups')).toBe(1);
    // a page equal to them again: the search finds the chain's one dup below the limit and collapses it
    h.step(() => h.fill('p', a, 1, () => 9));
    h.fullScans(1);
    expect(h.c('stable_node_chains')).toBe(0);
    expect(h.c('stable_node_dups')).toBe(0);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(3);
  });
});

describe('write_protect_page refuses a page pinned by get_user_pages (O_DIRECT, RDMA)', () => {
  for (const kernel of ['v5.0', 'v6.10'] as const) {
    it(`${kernel}: a pinned page is not merged; once unpinned it is`, () => {
      const h = ksmHarness(kernel);
      const a = h.spawnWithMap('p', 4);
      h.step(() => h.fill('p', a, 4, () => 0x11));
      h.step(() => h.sys.gup('p', a + 3 * PAGE, 1, { write: true, pin: true, name: 'dio' }));
      const pinned = h.pfn('p', a + 3 * PAGE);
      ksmMergePages(h, 'p', a, 4);
      expect(h.c('pages_shared')).toBe(1);
      expect(h.c('pages_sharing')).toBe(2);
      expect(h.pfn('p', a + 3 * PAGE)).toBe(pinned);
      expect(h.isKsm('p', a + 3 * PAGE)).toBe(false);
      expect(h.writable('p', a + 3 * PAGE)).toBe(true); // the abort path restored the pte as it was
      expect(h.ksm.stats.wpRefusedPinned).toBeGreaterThan(0);
      h.step(() => h.sys.unpin('dio'));
      h.fullScans(1);
      expect(h.c('pages_sharing')).toBe(3);
      expect(h.isKsm('p', a + 3 * PAGE)).toBe(true);
    });
  }

  it('a plain get_user_pages reference (no FOLL_PIN) also keeps the page out', () => {
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('p', 2);
    h.step(() => h.fill('p', a, 2, () => 0x11));
    h.step(() => h.sys.gup('p', a, 1, { write: false, pin: false, name: 'ref' }));
    ksmMergePages(h, 'p', a, 2);
    h.fullScans(2);
    expect(h.c('pages_sharing')).toBe(0);
    expect(h.pfn('p', a)).not.toBe(h.pfn('p', a + PAGE));
  });

  it('a pinned page at the head of the unstable tree blocks its twins (each merge attempt ends in break_cow)', () => {
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('p', 3);
    h.step(() => h.fill('p', a, 3, () => 0x22));
    h.step(() => h.sys.gup('p', a, 1, { write: true, pin: true, name: 'rdma' }));
    ksmMergePages(h, 'p', a, 3);
    expect(h.c('pages_sharing')).toBe(0);
    expect(h.ksm.stats.breakCow).toBe(2);
    expect(h.rangeMapsDuplicates('p', a, 3)).toBe(false);
    expect(h.firstBytes('p', a, 3)).toEqual([0x22, 0x22, 0x22]);
  });
});

describe('break_cow after a refused second merge, with forked sharers', () => {
  it('the page stays a KSM page outside the stable tree for the other mms, and data stays right', () => {
    // (found by the property test) page 1 pinned, page 2 equal to it, both shared with two children
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('p', 3);
    h.step(() => h.sys.gup('p', a + PAGE, 1, { write: true, pin: true, name: 'pin' }));
    h.step(() => h.fill('p', a + 2 * PAGE, 1, () => 0));
    h.step(() => h.sys.madvise('p', a, 3 * PAGE, 'mergeable'));
    h.step(() => h.sys.fork('p', 'c1'));
    h.step(() => h.sys.fork('p', 'c2'));
    h.fullScans(1);
    h.step(() => h.ksm.scan(3)); // p's three pages: page 2 made a KSM page, page 1 refused, break_cow in p
    expect(h.ksm.stats.breakCow).toBe(1);
    // the page that was made a KSM page is still mapped by the mms break_cow did not touch
    expect(h.isKsm('p', a + 2 * PAGE)).toBe(false);
    expect(h.isKsm('c1', a + 2 * PAGE)).toBe(true);
    expect(h.pfn('c1', a + 2 * PAGE)).toBe(h.pfn('c2', a + 2 * PAGE));
    expect(h.c('pages_shared')).toBe(0);
    for (const q of ['p', 'c1', 'c2']) {
      expect(h.writable(q, a + 2 * PAGE) && h.isKsm(q, a + 2 * PAGE)).toBe(false);
      h.step(() => h.sys.write(q, a + 2 * PAGE + 1, q));
    }
    for (const q of ['p', 'c1', 'c2']) {
      expect(Array.from(data(h.sys.read(q, a + 2 * PAGE, 3)))).toEqual(
        [0, ...new TextEncoder().encode(q), 0].slice(0, 3),
      );
    }
    h.fullScans(2);
  });
});

describe('fork of merged memory (ksm_functional_tests.c test_prctl_fork, ksm_fork)', () => {
  it('after fork, merged pages stay correct in both processes', () => {
    const h = ksmHarness();
    const a = h.spawnWithMap('parent', 6);
    h.step(() => h.fill('parent', a, 6, (i) => (i < 4 ? 0x33 : i)));
    ksmMergePages(h, 'parent', a, 6);
    expect(h.c('pages_sharing')).toBe(3);
    const k = h.pfn('parent', a);
    h.step(() => h.sys.fork('parent', 'child'));
    expect(h.ksm.isRegistered(h.sys.task('child').mm)).toBe(true);
    expect(h.pfn('child', a)).toBe(k);
    expect(h.sys.kernel.frames.mapcount(k)).toBe(8);
    // ksmd finds the child's ptes on the KSM page: "ksm page forked", appended past any limit
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(7);
    // writes on either side COW their own copy only
    h.step(() => h.sys.write('child', a, 'C'));
    h.step(() => h.sys.write('parent', a + PAGE, 'P'));
    expect(h.firstBytes('child', a, 6)).toEqual([0x43, 0x33, 0x33, 0x33, 4, 5]);
    expect(h.firstBytes('parent', a, 6)).toEqual([0x33, 0x50, 0x33, 0x33, 4, 5]);
    expect(h.pfn('child', a + 2 * PAGE)).toBe(k);
    h.fullScans(2);
    // and the child's own new duplicates merge too (test_child_ksm)
    h.step(() => h.fill('child', a + 4 * PAGE, 2, () => 0x33));
    h.fullScans(2);
    expect(h.pfn('child', a + 5 * PAGE)).toBe(k);
    expect(h.firstBytes('child', a, 6)).toEqual([0x43, 0x33, 0x33, 0x33, 0x33, 0x33]);
    expect(h.firstBytes('parent', a, 6)).toEqual([0x33, 0x50, 0x33, 0x33, 4, 5]);
  });

  it("exit leaves the mm's rmap items to ksmd (__ksm_exit): the counters drop at its next scan", () => {
    const h = ksmHarness();
    const maps = ['a', 'b', 'c'].map((p) => h.spawnWithMap(p, 4));
    ['a', 'b', 'c'].forEach((p, i) => {
      h.step(() => h.fill(p, maps[i], 4, (j) => j + 1));
    });
    ['a', 'b', 'c'].forEach((p, i) => {
      h.step(() => h.sys.madvise(p, maps[i], 4 * PAGE, 'mergeable'));
    });
    h.fullScans(2);
    expect(h.c('pages_shared')).toBe(4);
    expect(h.c('pages_sharing')).toBe(8);
    h.step(() => h.sys.exit('a'));
    expect(h.c('pages_shared')).toBe(4);
    expect(h.c('pages_sharing')).toBe(8);
    h.fullScans(1);
    expect(h.ksm.isRegistered(h.sys.task('a').mm)).toBe(false);
    expect(h.c('pages_shared')).toBe(4);
    expect(h.c('pages_sharing')).toBe(4);
    h.step(() => h.sys.exit('b'));
    h.fullScans(1);
    expect(h.c('pages_sharing')).toBe(0);
    expect(h.firstBytes('c', maps[2], 4)).toEqual([1, 2, 3, 4]);
    h.step(() => h.sys.exit('c'));
    expect(h.c('pages_shared')).toBe(4);
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(0);
    expect(h.c('pages_volatile')).toBe(0);
    expect(h.sys.kernel.frames.used).toBe(0);
  });
});

describe('every kernel profile merges the same way', () => {
  for (const kernel of KERNEL_NAMES) {
    it(`${kernel}: two processes merge, a write COWs, unmerge restores`, () => {
      const h = ksmHarness(kernel);
      const maps = ['a', 'b'].map((p) => h.spawnWithMap(p, 4));
      const c = h.sys.kernel.contents;
      ['a', 'b'].forEach((p, i) => {
        h.step(() => h.sys.store(p, maps[i], 4 * PAGE, { pages: (j) => c.pattern(9, j) }));
      });
      ['a', 'b'].forEach((p, i) => {
        h.step(() => h.sys.madvise(p, maps[i], 4 * PAGE, 'mergeable'));
      });
      h.step(() => h.ksm.runUntilStable());
      expect(h.c('pages_shared')).toBe(4);
      expect(h.c('pages_sharing')).toBe(4);
      h.step(() => h.sys.write('a', maps[0], 'w'));
      expect(h.pfn('a', maps[0])).not.toBe(h.pfn('b', maps[1]));
      h.step(() => h.sys.madvise('b', maps[1], 4 * PAGE, 'unmergeable'));
      expect(h.rangeMapsDuplicates('b', maps[1], 4)).toBe(false);
      h.fullScans(1);
    });
  }
});
