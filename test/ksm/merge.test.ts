/**
 * ksmd's order of operations (kernel-semantics.md §2.1–2.4, §2.7), per kernel profile, and what happens
 * when other paths run in its windows: CPU writes, page-lock contention, exit, a held mmap_sem.
 */

import { describe, expect, it } from 'vitest';
import { ptePfn, ptePresent, pteWrite } from '../../src/hw/pte.js';
import type { KernelName } from '../../src/kernel/profiles.js';
import { userAccess } from '../../src/mm/access.js';
import { doExit } from '../../src/mm/exit.js';
import type { KernelObserver, PteWriter } from '../../src/mm/kernel.js';
import type { Mm } from '../../src/mm/mm.js';
import { MMU_NOTIFIER_USE_CHANGE_PTE, type NotifierRange } from '../../src/mm/notifier-port.js';
import type { Agent } from '../../src/sim/exec.js';
import { resume } from '../../src/sim/exec.js';
import { finish, interleave, type KsmHarness, ksmHarness, PAGE, runUntil } from './helpers.js';

const WP_STARTED = 'write_protect_page: range started, before the ptl';
const BEFORE_REPLACE = 'try_to_merge_one_page: page write-protected, before replace_page';
const TWO_PAGES = 'try_to_merge_two_pages: first page is a KSM page, before merging the second';

/** Records ksmd's range brackets and pte stores, with pfns named by the caller. */
class Recorder implements KernelObserver {
  readonly events: string[] = [];
  readonly names = new Map<number, string>();
  constructor(private readonly who = 'ksmd') {}
  private pte(p: number): string {
    if (!ptePresent(p)) return 'none';
    return `${pteWrite(p) ? 'RW' : 'RO'} ${this.names.get(ptePfn(p)) ?? ptePfn(p)}`;
  }
  onPteChange(agent: Agent, _mm: Mm, _address: number, oldPte: number, newPte: number, via: PteWriter): void {
    if (agent.name === this.who) this.events.push(`${via}: ${this.pte(oldPte)} -> ${this.pte(newPte)}`);
  }
  onRangeStart(agent: Agent, range: NotifierRange): void {
    if (agent.name !== this.who) return;
    const flag = range.flags & MMU_NOTIFIER_USE_CHANGE_PTE ? ' USE_CHANGE_PTE' : '';
    this.events.push(`start ${range.by}${flag}`);
  }
  onRangeEnd(agent: Agent, range: NotifierRange): void {
    if (agent.name === this.who) this.events.push(`end ${range.by}`);
  }
}

/** a and b each map one page of the same content; returns the recorder and the two pfns named A and B. */
function twoProcesses(kernel: KernelName) {
  const h = ksmHarness(kernel);
  const rec = new Recorder();
  h.sys.kernel.observers.push(rec);
  const a = h.spawnWithMap('a', 1);
  const b = h.spawnWithMap('b', 1);
  h.step(() => h.fill('a', a, 1, () => 0x77));
  h.step(() => h.fill('b', b, 1, () => 0x77));
  rec.names.set(h.pfn('a', a), 'A');
  rec.names.set(h.pfn('b', b), 'B');
  h.step(() => h.sys.madvise('a', a, PAGE, 'mergeable'));
  h.step(() => h.sys.madvise('b', b, PAGE, 'mergeable'));
  return { h, rec, a, b };
}

describe('write_protect_page and replace_page, in the kernel step order', () => {
  const merge = (
    bracket: (by: string, flag: boolean) => [string[], string[]],
    notify: string,
    flag: boolean,
  ) => {
    const [s1, e1] = bracket('write_protect_page', flag);
    const [s3, e3] = bracket('replace_page', flag);
    return [
      // try_to_merge_two_pages: b's page (scanned second) becomes the KSM page ...
      ...s1,
      'ptep_clear_flush: RW B -> none',
      `${notify}: none -> RO B`,
      ...e1,
      // ... then a's page (from the unstable tree) is write-protected and replaced by it
      ...s1,
      'ptep_clear_flush: RW A -> none',
      `${notify}: none -> RO A`,
      ...e1,
      ...s3,
      'ptep_clear_flush: RO A -> none',
      `${notify}: none -> RO B`,
      ...e3,
    ];
  };
  const wrapped = (by: string, flag: boolean): [string[], string[]] => [
    [`start ${by}${flag ? ' USE_CHANGE_PTE' : ''}`],
    [`end ${by}`],
  ];
  const bare = (): [string[], string[]] => [[], []];

  const cases: [KernelName, string[]][] = [
    ['v5.0', merge(wrapped, 'set_pte_at_notify', false)],
    ['v3.2', merge(bare, 'set_pte_at_notify', false)], // before 6bdb913f0a70: change_pte alone
    ['rfc-2019', merge(wrapped, 'set_pte_at_notify', true)],
    ['rfc-2019-aa', merge(wrapped, 'set_pte_at_notify', true)],
    ['v6.10', merge(wrapped, 'set_pte_at', false)], // set_pte_at_notify removed
  ];
  for (const [kernel, expected] of cases) {
    it(`${kernel}: range start, ptep_clear_flush, the pte update, range end`, () => {
      const { h, rec, a, b } = twoProcesses(kernel);
      h.fullScans(2);
      expect(rec.events).toEqual(expected);
      expect(h.pfn('a', a)).toBe(h.pfn('b', b));
      expect(h.violations.list).toEqual([]); // the USE_CHANGE_PTE validator (v2 rule) is watching
    });
  }

  it('a pinned page: the refcount check fails after the clear-flush and set_pte_at restores the pte', () => {
    const { h, rec, a, b } = twoProcesses('rfc-2019');
    h.step(() => h.sys.gup('a', a, 1, { write: true, pin: true, name: 'dio' }));
    h.fullScans(2);
    expect(rec.events).toEqual([
      'start write_protect_page USE_CHANGE_PTE',
      'ptep_clear_flush: RW B -> none',
      'set_pte_at_notify: none -> RO B',
      'end write_protect_page',
      'start write_protect_page USE_CHANGE_PTE',
      'ptep_clear_flush: RW A -> none',
      'set_pte_at: none -> RW A', // the abort path: the flagged range changes nothing in the end
      'end write_protect_page',
      // try_to_merge_two_pages failed: break_cow gives b's page back as a private copy
      'start wp_page_copy USE_CHANGE_PTE',
      'ptep_clear_flush: RO B -> none',
      `set_pte_at_notify: none -> RW ${h.pfn('b', b)}`,
      'end wp_page_copy',
    ]);
    expect(h.ksm.stats.wpRefusedPinned).toBe(1);
    expect(h.ksm.stats.breakCow).toBe(1);
    expect(h.violations.list).toEqual([]);
  });

  it('a forked KSM page joins its stable node without any pte change (try_to_merge_one_page: page == kpage)', () => {
    const { h, rec } = twoProcesses('v5.0');
    h.fullScans(2);
    rec.events.length = 0;
    // fork: the child maps the KSM page already; ksmd only adds its rmap item to the node
    h.step(() => h.sys.fork('a', 'a2'));
    h.fullScans(1);
    expect(rec.events).toEqual([]);
    expect(h.c('pages_sharing')).toBe(2);
  });
});

/** a and b share a KSM page K; c maps a page with the same content, registered with ksmd after them. */
function thirdComesLate(): { h: KsmHarness; k: number; c: number; a: number } {
  const h = ksmHarness('v5.0');
  const maps = ['a', 'b'].map((p) => h.spawnWithMap(p, 1));
  for (const [i, p] of ['a', 'b'].entries()) {
    h.step(() => h.fill(p, maps[i], 1, () => 0x41));
    h.step(() => h.sys.madvise(p, maps[i], PAGE, 'mergeable'));
  }
  h.fullScans(2);
  const k = h.pfn('a', maps[0]);
  expect(h.ksm.isKsmPage(k)).toBe(true);
  const c = h.spawnWithMap('c', 1);
  h.step(() => h.fill('c', c, 1, () => 0x41));
  h.step(() => h.sys.madvise('c', c, PAGE, 'mergeable'));
  return { h, k, c, a: maps[0] };
}

const at = (label: string) => (p: { kind: string; label?: string }) =>
  p.kind === 'preempt' && p.label === label;

describe('other paths in ksmd windows', () => {
  it('a CPU write between range start and the ptl: the page is write-protected but no longer identical, so not replaced', () => {
    const { h, k, c } = thirdComesLate();
    const scan = h.ksm.doScan(100);
    runUntil(scan, at(WP_STARTED));
    expect(h.writable('c', c)).toBe(true);
    h.step(() => h.sys.write('c', c, 'new')); // straight through the writable pte: no fault
    finish(scan);
    h.clean();
    expect(h.pfn('c', c)).not.toBe(k);
    expect(h.writable('c', c)).toBe(false); // write_protect_page did its part
    expect(h.isKsm('c', c)).toBe(false);
    expect(h.c('pages_sharing')).toBe(1);
    h.step(() => h.sys.write('c', c + 3, '!')); // the sole owner: do_wp_page reuses it
    expect(h.sys.kernel.counters.get('faults.cow_reuse')).toBe(1);
    expect(h.sys.read('c', c, 4)).toEqual({ ok: true, data: new TextEncoder().encode('new!') });
  });

  it('a CPU write between write_protect_page and replace_page waits for the page lock, then COWs the KSM page', () => {
    const { h, k, c, a } = thirdComesLate();
    const scan = h.ksm.doScan(100);
    runUntil(scan, at(BEFORE_REPLACE));
    const task = h.sys.task('c');
    const write = userAccess(h.sys.kernel, task, c, 2, { bytes: new TextEncoder().encode('hi') });
    const waits: string[] = [];
    const [w] = interleave(write, scan, waits);
    expect(w.ok).toBe(true);
    // do_wp_page found the page locked by ksmd (trylock_page) and slept on it
    expect(waits[0]).toMatch(/^0:page\d+\.lock$/);
    h.clean();
    expect(h.ksm.stats.stableMerges).toBe(1); // replace_page went through: the pte had not changed
    expect(h.sys.kernel.counters.get('faults.ksm_cow')).toBe(1); // then the write copied the KSM page
    expect(h.pfn('c', c)).not.toBe(k);
    expect(h.writable('c', c)).toBe(true);
    expect(h.sys.read('c', c, 3)).toEqual({ ok: true, data: new Uint8Array([0x68, 0x69, 0x41]) });
    expect(h.firstBytes('a', a, 1)).toEqual([0x41]);
  });

  it('a CPU write to the new KSM page before its twin is merged: the twin still merges with the unchanged KSM page', () => {
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('a', 1);
    const b = h.spawnWithMap('b', 1);
    h.step(() => h.fill('a', a, 1, () => 5));
    h.step(() => h.fill('b', b, 1, () => 5));
    h.step(() => h.sys.madvise('a', a, PAGE, 'mergeable'));
    h.step(() => h.sys.madvise('b', b, PAGE, 'mergeable'));
    h.fullScans(1);
    const scan = h.ksm.doScan(100);
    runUntil(scan, at(TWO_PAGES));
    const kpage = h.pfn('b', b);
    expect(h.ksm.isKsmPage(kpage)).toBe(true);
    h.step(() => h.sys.write('b', b, 'x')); // COW of a KSM page that has no stable node yet
    finish(scan);
    h.clean();
    expect(h.pfn('a', a)).toBe(kpage);
    expect(h.firstBytes('a', a, 1)).toEqual([5]);
    expect(h.sys.read('b', b, 2)).toEqual({ ok: true, data: new Uint8Array([0x78, 5]) });
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(0);
  });

  it('exit while ksmd is inside a merge: the rmap items go when ksmd leaves the page', () => {
    const { h, c } = thirdComesLate();
    const scan = h.ksm.doScan(100);
    runUntil(scan, at(WP_STARTED));
    h.step(() => h.sys.exit('a'));
    expect(h.c('pages_sharing')).toBe(1); // a's item is still counted: ksmd is busy
    finish(scan);
    h.clean();
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(1); // b and c
    expect(h.firstBytes('c', c, 1)).toEqual([0x41]);
  });

  it('exit of the very mm ksmd is merging waits for its mmap_sem, then everything is consistent', () => {
    const { h } = thirdComesLate();
    const scan = h.ksm.doScan(100);
    runUntil(scan, at(WP_STARTED));
    const t = h.sys.task('c');
    const waits: string[] = [];
    interleave(doExit(h.sys.kernel, t.agent, t, h.sys.ksm), scan, waits);
    expect(waits[0]).toBe(`0:mm${t.mm.id}.mmap_sem`);
    h.clean();
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(1);
  });

  it('ksmd waits on an mmap_sem held for write, then carries on from the same place', () => {
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('a', 2);
    h.step(() => h.fill('a', a, 2, () => 1));
    h.step(() => h.sys.madvise('a', a, 2 * PAGE, 'mergeable'));
    const mm = h.sys.task('a').mm;
    const holder = h.sys.task('a').agent;
    mm.mmapLock.owner = holder; // a's own thread is in mmap(2), say
    const scan = h.ksm.doScan(100);
    // a full scan starts with lru_add_drain_all, which may sleep
    expect(resume(scan).value).toMatchObject({
      kind: 'preempt',
      label: expect.stringContaining('lru_add_drain_all'),
    });
    const p = resume(scan);
    expect(p.done).toBe(false);
    expect(p.value).toMatchObject({ kind: 'lock-wait', lock: mm.mmapLock });
    mm.mmapLock.owner = null;
    finish(scan);
    expect(h.c('pages_scanned')).toBe(2);
    h.fullScans(1);
    expect(h.c('pages_sharing')).toBe(1);
  });
});

describe('the unstable tree is unstable', () => {
  it('a page written after it was filed is looked at again: its old twin files itself instead of merging', () => {
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('p', 3);
    h.step(() => h.fill('p', a, 3, (i) => (i === 1 ? 7 : 4)));
    h.step(() => h.sys.madvise('p', a, 3 * PAGE, 'mergeable'));
    h.fullScans(1);
    h.step(() => h.ksm.scan(1)); // page 0 (4) filed in the unstable tree
    expect(h.c('pages_unshared')).toBe(1);
    h.step(() => h.fill('p', a, 1, () => 9)); // and now it holds 9
    h.step(() => h.ksm.scan(2)); // page 2 (4) finds page 0's item under 4, but its page says 9
    expect(h.c('pages_sharing')).toBe(0);
    expect(h.c('pages_unshared')).toBe(3);
    expect(h.firstBytes('p', a, 3)).toEqual([9, 7, 4]);
    expect(h.rangeMapsDuplicates('p', a, 3)).toBe(false);
    h.fullScans(1); // the rest of this scan (nothing)
    h.fullScans(1); // page 0's checksum changed since the first scan: volatile
    expect(h.c('pages_volatile')).toBe(1);
    h.fullScans(1);
    expect(h.c('pages_sharing')).toBe(0);
    expect(h.c('pages_volatile')).toBe(0);
    expect(h.c('pages_unshared')).toBe(3);
  });
});

describe('the scan cursor', () => {
  it('walks mm by mm, page by page; pages_to_scan per batch; a batch ends at the end of a full scan', () => {
    const h = ksmHarness('v5.0', { pagesToScan: 3 });
    for (const p of ['a', 'b']) {
      const m = h.spawnWithMap(p, 4);
      h.step(() => h.fill(p, m, 4, (i) => i + 10));
      h.step(() => h.sys.madvise(p, m, 4 * PAGE, 'mergeable'));
    }
    h.step(() => h.ksm.scan(3));
    expect(h.c('pages_scanned')).toBe(3);
    expect(h.c('full_scans')).toBe(0);
    h.step(() => h.ksm.scan(5));
    expect(h.c('pages_scanned')).toBe(8);
    expect(h.c('full_scans')).toBe(0); // the cursor is at the last page, not past it
    h.step(() => finish(h.ksm.doScan(100)));
    expect(h.c('full_scans')).toBe(1); // ksm_do_scan returned at the end of the list
    expect(h.c('pages_scanned')).toBe(8);
    h.fullScans(1);
    expect(h.c('pages_shared')).toBe(4);
    expect(h.c('pages_sharing')).toBe(4);
  });

  it('an mm registered mid-scan goes just behind the cursor, and an mm without mergeable vmas is dropped', () => {
    const h = ksmHarness('v5.0');
    const a = h.spawnWithMap('a', 2);
    h.step(() => h.fill('a', a, 2, () => 1));
    h.step(() => h.sys.madvise('a', a, 2 * PAGE, 'mergeable'));
    h.step(() => h.ksm.scan(1)); // the cursor is inside a
    h.step(() => h.sys.fork('a', 'child'));
    h.step(() => h.ksm.scan(1));
    expect(h.c('full_scans')).toBe(0);
    h.fullScans(1); // finishes a, then the child (inserted before a, so at the end of this pass: none)
    expect(h.c('pages_scanned')).toBe(2);
    h.fullScans(1);
    expect(h.c('pages_scanned')).toBe(6); // child then a... both
    h.step(() => h.sys.madvise('child', a, 2 * PAGE, 'unmergeable'));
    h.fullScans(1);
    expect(h.ksm.isRegistered(h.sys.task('child').mm)).toBe(false);
    expect(h.ksm.isRegistered(h.sys.task('a').mm)).toBe(true);
  });

  it('exit of the mm under the cursor: its items stay until ksmd resumes there and frees the slot', () => {
    const h = ksmHarness('v5.0');
    for (const p of ['a', 'b']) {
      const m = h.spawnWithMap(p, 3);
      h.step(() => h.fill(p, m, 3, () => 2));
      h.step(() => h.sys.madvise(p, m, 3 * PAGE, 'mergeable'));
    }
    h.fullScans(2);
    expect(h.c('pages_sharing')).toBe(5);
    h.step(() => h.ksm.scan(1));
    h.step(() => h.sys.exit('a'));
    expect(h.c('pages_sharing')).toBe(5);
    h.fullScans(2);
    expect(h.c('pages_shared')).toBe(1);
    expect(h.c('pages_sharing')).toBe(2);
  });

  it('logs what ksmd does when the kernel records', () => {
    const { h } = twoProcesses('v5.0');
    h.fullScans(2);
    const whats = h.sys.kernel.machine.log.events.filter((e) => e.kind === 'ksm').map((e) => e.what);
    expect(whats).toContain('new KSM page');
    expect(whats).toContain('full scan done');
    expect(whats).toContain('ksm_enter');
  });
});
