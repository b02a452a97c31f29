/**
 * ksmd's smart scan (5e924ff54d08, v6.7; should_skip_rmap_item in mm/ksm.c v6.18), on in the v6.10 and
 * v6.18 profiles as smart_scan=1 is on by default: a page that never merges is looked at for three scans,
 * then skipped for 1, 2, 4 and 8 scans between looks, out of the unstable tree while skipped.
 */
import { describe, expect, it } from 'vitest';
import { ksmHarness, PAGE } from './helpers.js';

describe('smart scan', () => {
  it('v6.18: a lone page is looked at by scans 1-4, 6, 9 and 14 (skipped by 5, 7-8, 10-13)', () => {
    const h = ksmHarness('v6.18');
    const a = h.spawnWithMap('p', 1);
    h.step(() => h.fill('p', a, 1, () => 7));
    h.step(() => h.sys.madvise('p', a, PAGE, 'mergeable'));
    const unshared: number[] = [];
    for (let scan = 1; scan <= 14; scan++) {
      h.fullScans(1);
      unshared.push(h.c('pages_unshared'));
      expect(h.c('pages_unshared') + h.c('pages_volatile')).toBe(1);
    }
    // scan 1 records the checksum (volatile); a look files it in the unstable tree, a skip takes it out
    expect(unshared).toEqual([0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1]);
    expect(h.ksm.stats.smartScanSkipped).toBe(7);
  });

  it('v5.0 (no smart scan): the page stays in the unstable tree', () => {
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('p', 1);
    h.step(() => h.fill('p', a, 1, () => 7));
    h.step(() => h.sys.madvise('p', a, PAGE, 'mergeable'));
    h.fullScans(10);
    expect(h.c('pages_unshared')).toBe(1);
    expect(h.ksm.stats.smartScanSkipped).toBe(0);
  });

  for (const [kernel, mergedBy] of [
    ['v5.0', 8],
    ['v6.18', 9],
  ] as const) {
    it(`${kernel}: a twin that appears at scan 6 merges at scan ${mergedBy}`, () => {
      const h = ksmHarness(kernel);
      const a = h.spawnWithMap('p', 1);
      h.step(() => h.fill('p', a, 1, () => 7));
      h.step(() => h.sys.madvise('p', a, PAGE, 'mergeable'));
      h.fullScans(6); // smart scan: p's page was looked at by scan 6, skipped by 7 and 8
      const b = h.spawnWithMap('q', 1); // a fresh item, scanned after p's
      h.step(() => h.fill('q', b, 1, () => 7));
      h.step(() => h.sys.madvise('q', b, PAGE, 'mergeable'));
      h.fullScans(2); // scan 7 records q's checksum; at 8 q's page is steady and looks for a twin
      expect(h.pfn('p', a) === h.pfn('q', b)).toBe(mergedBy === 8);
      h.fullScans(1); // scan 9 looks at p's page again
      expect(h.pfn('p', a)).toBe(h.pfn('q', b));
      expect(h.c('pages_shared')).toBe(1);
    });
  }

  it('a KSM page is never skipped', () => {
    const h = ksmHarness('v6.18');
    const a = h.spawnWithMap('p', 2);
    h.step(() => h.fill('p', a, 2, () => 7));
    h.step(() => h.sys.madvise('p', a, 2 * PAGE, 'mergeable'));
    h.fullScans(12);
    expect(h.c('pages_sharing')).toBe(1);
    expect(h.ksm.stats.smartScanSkipped).toBe(0);
  });
});
