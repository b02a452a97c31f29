/**
 * The v5.19+ unsharing points of the v6.10 profile (against v5.0): a read-only pin unshares a page still
 * shared after fork (gup_must_unshare, a7f226604170), mprotect maps exclusive anonymous pages writable at
 * once (64fe24a3e05e), and MADV_UNMERGEABLE replaces the zero pages KSM placed (79271476b336).
 */
import { describe, expect, it } from 'vitest';
import { ZERO_PFN } from '../../src/hw/frames.js';
import { addr, harness, PAGE } from './helpers.js';

describe('gup_must_unshare', () => {
  for (const [kernel, unshares] of [
    ['v5.0', false],
    ['v6.10', true],
  ] as const) {
    it(`${kernel}: a read-only pin of a page shared after fork ${unshares ? 'unshares it first' : 'pins the shared page'}`, () => {
      const h = harness(kernel);
      const { sys } = h;
      sys.spawn('p');
      const a = addr(sys.mmap('p', PAGE, 'rw'));
      sys.write('p', a, 'x');
      sys.fork('p', 'c');
      const shared = h.pfn('p', a);
      expect(h.pfn('c', a)).toBe(shared);
      sys.gup('c', a, 1, { write: false, pin: true, name: 'ro' });
      expect(h.pfn('c', a) !== shared).toBe(unshares);
      expect(h.writable('c', a)).toBe(false); // an unshare leaves the copy read-only
      expect(h.str('c', a, 1)).toBe('x');
      sys.unpin('ro');
      h.clean();
    });
  }

  it('an exclusive page is pinned as it is; a write pin is unaffected', () => {
    const h = harness('v6.10');
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    sys.write('p', a, 'x');
    const pfn = h.pfn('p', a);
    sys.gup('p', a, 1, { write: false, pin: true, name: 'ro' });
    expect(h.pfn('p', a)).toBe(pfn);
    h.str('p', a + PAGE, 1);
    sys.gup('p', a + PAGE, 1, { write: false, pin: true, name: 'zero' }); // the zero page: not anonymous
    expect(h.pfn('p', a + PAGE)).toBe(ZERO_PFN);
    sys.unpin('ro');
    sys.unpin('zero');
    h.clean();
  });
});

describe('mprotect and exclusive anonymous pages (64fe24a3e05e)', () => {
  it('v6.10 maps an exclusive page writable at once, not one shared with a child', () => {
    const h = harness('v6.10');
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    sys.write('p', a, 'x');
    sys.write('p', a + PAGE, 'y');
    sys.fork('p', 'c');
    sys.write('p', a, 'z'); // copied: exclusive again
    sys.mprotect('p', a, 2 * PAGE, 'r');
    sys.mprotect('p', a, 2 * PAGE, 'rw');
    expect(h.writable('p', a)).toBe(true);
    expect(h.writable('p', a + PAGE)).toBe(false); // still shared with c
    h.clean();
  });
});

describe('KSM zero pages (79271476b336, e2942062e01d)', () => {
  for (const [kernel, replaced] of [
    ['v5.0', false],
    ['v6.10', true],
  ] as const) {
    it(`${kernel}: MADV_UNMERGEABLE ${replaced ? 'replaces' : 'keeps'} the zero pages KSM placed`, () => {
      const h = harness(kernel, { ksm: { useZeroPages: true } });
      const { sys } = h;
      const ksm = h.world.ksm;
      sys.spawn('p');
      const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
      sys.write('p', a, '\0');
      sys.write('p', a + PAGE, '\0');
      h.str('p', a + PAGE, 1);
      sys.madvise('p', a, 2 * PAGE, 'mergeable');
      ksm.runFullScans(2);
      expect(h.pfn('p', a)).toBe(ZERO_PFN);
      expect(sys.kernel.counters.get('ksm.ksm_zero_pages')).toBe(replaced ? 2 : 0);
      sys.madvise('p', a, 2 * PAGE, 'unmergeable');
      expect(h.pfn('p', a) === ZERO_PFN).toBe(!replaced);
      expect(h.str('p', a, 1)).toBe('\0');
      expect(sys.kernel.counters.get('ksm.ksm_zero_pages')).toBe(0);
      h.clean();
    });
  }
});

describe('cmp_and_merge_page: checksum before the stable tree (v6.11)', () => {
  for (const [kernel, back] of [
    ['v6.10', false],
    ['v6.18', true],
  ] as const) {
    it(`${kernel}: a page unmerged and made mergeable again ${back ? 'merges back' : 'finds its KSM page full'} (max_page_sharing 2)`, () => {
      const h = harness(kernel, { ksm: { maxPageSharing: 2 } });
      const { sys } = h;
      const ksm = h.world.ksm;
      sys.spawn('p');
      const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
      sys.write('p', a, 'k');
      sys.write('p', a + PAGE, 'k');
      sys.madvise('p', a, 2 * PAGE, 'mergeable');
      ksm.runFullScans(2);
      expect(h.pfn('p', a)).toBe(h.pfn('p', a + PAGE));
      sys.madvise('p', a, PAGE, 'unmergeable');
      sys.madvise('p', a, PAGE, 'mergeable');
      ksm.runFullScans(1);
      expect(h.pfn('p', a) === h.pfn('p', a + PAGE)).toBe(back);
      h.clean();
    });
  }
});
