import { describe, expect, it } from 'vitest';
import type { KernelName } from '../../src/kernel/profiles.js';
import type { Task } from '../../src/mm/kernel.js';
import { MMU_NOTIFY_CLEAR, type NotifierRange } from '../../src/mm/notifier-port.js';
import type { SecondaryAccessOutcome } from '../../src/secondary/common.js';
import { expectSetup } from '../../src/secondary/common.js';
import { HmmMirror } from '../../src/secondary/hmm/index.js';
import { IommuSva } from '../../src/secondary/iommu/index.js';
import { lock, runToCompletion, unlock } from '../../src/sim/exec.js';
import { fill, Harness, PAGE, text } from './harness.js';

/** What the shared tests need of a device: sequential loads and stores, and its counters. */
interface Device {
  name: string;
  read(address: number, len?: number): SecondaryAccessOutcome;
  write(address: number, data: Uint8Array | string | { pages: () => number }): SecondaryAccessOutcome;
  translations(): Iterable<{ address: number; pfn: number; writable: boolean }>;
}

const KINDS = ['hmm', 'sva'] as const;
type Kind = (typeof KINDS)[number];

function attach(h: Harness, kind: Kind, task: Task): Device {
  return h.step(`${kind === 'hmm' ? 'device' : 'iommu'} d0 on ${task.name}`, () =>
    kind === 'hmm' ? h.add(new HmmMirror(h.k, 'd0', task)) : h.add(new IommuSva(h.k, 'd0', task)),
  );
}

/** The device and the CPU read the same bytes at `addr`. */
function agree(h: Harness, dev: Device, addr: number, len: number, expected: string): void {
  const d = h.step(`dev read 0x${addr.toString(16)}`, () => dev.read(addr, len));
  const c = h.step(`read app 0x${addr.toString(16)}`, () => h.sys.read('app', addr, len));
  expect(d.ok && text(d.data)).toBe(expected);
  expect(c.ok && text(c.data)).toBe(expected);
}

const KERNELS: KernelName[] = ['v5.0', 'rfc-2019', 'v6.10'];

describe.each(KINDS)('%s device: sees every change the CPU makes', (kind) => {
  it.each(KERNELS)('%s: CPU and device stores, fork, COW, mprotect, DONTNEED, munmap, exit', (kernel) => {
    const h = new Harness(kernel);
    const app = h.spawn('app');
    const buf = h.step('mmap app 8p rw as buf', () => h.sys.mmap('app', 8 * PAGE, 'rw')) as number;
    const dev = attach(h, kind, app);

    h.step('write app buf "cpu0"', () => h.sys.write('app', buf, 'cpu0'));
    agree(h, dev, buf, 4, 'cpu0');
    expect(h.step('dev write buf+1p "dev1"', () => dev.write(buf + PAGE, 'dev1')).ok).toBe(true);
    agree(h, dev, buf + PAGE, 4, 'dev1');

    // fork write-protects the parent; a store by either side after it COWs in the parent only
    h.step('fork app child', () => h.sys.fork('app', 'child'));
    h.step('write app buf "CPU0"', () => h.sys.write('app', buf, 'CPU0'));
    agree(h, dev, buf, 4, 'CPU0');
    expect(h.step('dev write buf+1p "DEV1"', () => dev.write(buf + PAGE, 'DEV1')).ok).toBe(true);
    agree(h, dev, buf + PAGE, 4, 'DEV1');
    const child = h.step('read child buf+1p', () => h.sys.read('child', buf + PAGE, 4));
    expect(child.ok && text(child.data)).toBe('dev1');
    const child0 = h.step('read child buf', () => h.sys.read('child', buf, 4));
    expect(child0.ok && text(child0.data)).toBe('cpu0');

    // mprotect: the device loses write access with the CPU, and gets it back
    h.step('mprotect app buf 2p r', () => h.sys.mprotect('app', buf, 2 * PAGE, 'r'));
    agree(h, dev, buf, 4, 'CPU0');
    expect(h.step('dev write buf (read-only)', () => dev.write(buf, 'nope')).ok).toBe(false);
    h.step('mprotect app buf 2p rw', () => h.sys.mprotect('app', buf, 2 * PAGE, 'rw'));
    expect(h.step('dev write buf "back"', () => dev.write(buf, 'back')).ok).toBe(true);
    agree(h, dev, buf, 4, 'back');

    // DONTNEED: the page reads as zeroes everywhere
    h.step('madvise app buf+1p 1p dontneed', () => h.sys.madvise('app', buf + PAGE, PAGE, 'dontneed'));
    agree(h, dev, buf + PAGE, 4, '\0\0\0\0');

    // munmap: the device cannot reach the page any more
    h.step('munmap app buf+2p 1p', () => h.sys.munmap('app', buf + 2 * PAGE, PAGE));
    expect(h.step('dev read buf+2p (unmapped)', () => dev.read(buf + 2 * PAGE)).ok).toBe(false);
    expect([...dev.translations()].some((t) => t.address === buf + 2 * PAGE)).toBe(false);

    // whole pages, and a store spanning two pages
    h.step('dev write buf+3p fill 9', () => dev.write(buf + 3 * PAGE, fill(h, 9)));
    const f = h.step('read app buf+3p+4000', () => h.sys.read('app', buf + 3 * PAGE + 4000, 4));
    expect(f.ok && [...f.data!]).toEqual([9, 9, 9, 9]);
    h.step('dev write buf+4p-2 "span"', () => dev.write(buf + 5 * PAGE - 2, 'span'));
    agree(h, dev, buf + 5 * PAGE - 2, 4, 'span');

    h.step('exit app', () => h.sys.exit('app'));
    expect([...dev.translations()]).toEqual([]);
    expect(h.step('dev read buf after exit', () => dev.read(buf)).ok).toBe(false);
    expect(h.violations).toEqual([]);
  });

  it('a shared mapping: the device sees the other process write', () => {
    const h = new Harness('v5.0');
    const app = h.spawn('app');
    const shm = h.step('mmap app 2p rw shared', () =>
      h.sys.mmap('app', 2 * PAGE, 'rw', { shared: true }),
    ) as number;
    const dev = attach(h, kind, app);
    h.step('dev write shm "one"', () => dev.write(shm, 'one'));
    h.step('fork app peer', () => h.sys.fork('app', 'peer'));
    const p = h.step('read peer shm', () => h.sys.read('peer', shm, 3));
    expect(p.ok && text(p.data)).toBe('one');
    h.step('write peer shm "two"', () => h.sys.write('peer', shm, 'two'));
    agree(h, dev, shm, 3, 'two');
  });
});

describe.each(KINDS)('%s device and KSM', (kind) => {
  it.each(KERNELS)('%s: a merge takes the device mappings away; a device store after it COWs', (kernel) => {
    const h = new Harness(kernel);
    const ksm = h.ksm;
    const app = h.spawn('app');
    h.spawn('peer');
    const n = 4;
    const base: Record<string, number> = {};
    for (const p of ['app', 'peer']) {
      const a = h.step(`mmap ${p} ${n}p rw`, () => h.sys.mmap(p, n * PAGE, 'rw')) as number;
      h.step(`madvise ${p} mergeable`, () => h.sys.madvise(p, a, n * PAGE, 'mergeable'));
      for (let i = 0; i < n; i++)
        h.step(`write ${p} page ${i} fill ${i + 1}`, () =>
          h.sys.store(p, a + i * PAGE, PAGE, fill(h, i + 1)),
        );
      base[p] = a;
    }
    const dev = attach(h, kind, app);
    for (let i = 0; i < n; i++) h.step(`dev read app page ${i}`, () => dev.read(base.app + i * PAGE, 1));
    expect([...dev.translations()].filter((t) => t.writable).length).toBe(n);
    h.step('ksm until stable', () => ksm.runUntilStable());
    expect(h.counter('ksm.pages_sharing')).toBe(n);
    // no device translation survives a merge writable: every page of app changed protection or frame
    expect([...dev.translations()].filter((t) => t.writable)).toEqual([]);
    for (let i = 0; i < n; i++) {
      const r = h.step(`dev read app page ${i}`, () => dev.read(base.app + i * PAGE, 2));
      expect(r.ok && [...r.data!]).toEqual([i + 1, i + 1]);
    }
    h.step('dev write app page 2 "dev"', () => dev.write(base.app + 2 * PAGE, 'dev'));
    expect(h.counter('faults.ksm_cow')).toBe(1);
    agree(h, dev, base.app + 2 * PAGE, 3, 'dev');
    const peer = h.step('read peer page 2', () => h.sys.read('peer', base.peer + 2 * PAGE, 3));
    expect(peer.ok && [...peer.data!]).toEqual([3, 3, 3]);
    // and a CPU store in the peer (the other side of the KSM page) leaves the device's view alone
    h.step('write peer page 1 "cpu"', () => h.sys.write('peer', base.peer + PAGE, 'cpu'));
    const d1 = h.step('dev read app page 1', () => dev.read(base.app + PAGE, 3));
    expect(d1.ok && [...d1.data!]).toEqual([2, 2, 2]);
    expect(h.violations).toEqual([]);
  });
});

describe('HMM mirror (dmirror)', () => {
  it('counts faults, invalidations and retries; holds no page references', () => {
    const h = new Harness('v5.0');
    const app = h.spawn('app');
    const buf = h.step('mmap app 4p rw', () => h.sys.mmap('app', 4 * PAGE, 'rw')) as number;
    const dev = h.step('device gpu', () => h.add(new HmmMirror(h.k, 'gpu', app)));
    h.step('dev read buf (zero page)', () => dev.read(buf, 4));
    expect(dev.entryFor(buf)).toEqual({ pfn: 0, writable: false });
    expect(dev.stats()).toEqual({ faults: 1, invalidations: 0, retries: 0 });
    // the write faults; hmm_range_fault COWs the zero page, whose invalidation hits the mirror mid-walk
    h.step('dev write buf "x"', () => dev.write(buf, 'x'));
    expect(dev.stats()).toEqual({ faults: 2, invalidations: 1, retries: 1 });
    expect(dev.entryFor(buf)?.writable).toBe(true);
    const pfn = dev.entryFor(buf)!.pfn;
    expect(h.k.frames.raw.refcount[pfn]).toBe(1);
    // a read of four fresh pages is one fault for the whole range (dmirror faults up to 64 pages)
    h.step('dev read buf+1p 3p', () => dev.read(buf + PAGE, 3 * PAGE));
    expect(dev.stat('faults')).toBe(3);
    expect([...dev.translations()].length).toBe(4);
  });

  it('a non-blockable invalidation that finds the mutex held asks to be retried', () => {
    const h = new Harness('v5.0');
    const app = h.spawn('app');
    const dev = h.add(new HmmMirror(h.k, 'gpu', app));
    const other = h.k.newAgent('other');
    runToCompletion(lock(other, dev.mutex));
    const range: NotifierRange = {
      by: 'test',
      mm: app.mm,
      vma: null,
      start: 0,
      end: PAGE,
      event: MMU_NOTIFY_CLEAR,
      flags: 0,
    };
    expect(runToCompletion(dev.invalidate(other, dev.notifier, range, 3))).toBe(false);
    unlock(other, dev.mutex);
    expect(runToCompletion(dev.invalidate(other, dev.notifier, range, 3))).toBe(true);
    expect(dev.notifier.invalidateSeq).toBe(3);
  });

  it('destroy removes the interval notifier', () => {
    const h = new Harness('v5.0');
    const app = h.spawn('app');
    const buf = h.sys.mmap('app', PAGE, 'rw') as number;
    const dev = h.add(new HmmMirror(h.k, 'gpu', app));
    h.step('dev write buf', () => dev.write(buf, 'a'));
    dev.destroy();
    h.step('munmap app buf', () => h.sys.munmap('app', buf, PAGE));
    expect(dev.stat('invalidations')).toBe(0);
    expect(dev.read(buf)).toEqual({ ok: false, error: 'EFAULT' });
  });
});

describe('IOMMU SVA', () => {
  /**
   * After fork and the child's exit the parent's page is read-only with one mapping: a CPU store reuses
   * it (wp_page_reuse, RO -> RW same pfn), which before 2023 tells no secondary TLB. A device that cached
   * the read-only permission keeps faulting on its store.
   */
  function reuseAfterChildExit(kernel: KernelName) {
    const h = new Harness(kernel);
    const app = h.spawn('app');
    const buf = h.step('mmap app 1p rw', () => h.sys.mmap('app', PAGE, 'rw')) as number;
    const sva = h.step('iommu nic', () => h.add(expectSetup(IommuSva.bindDevice(h.k, 'nic', app))));
    h.step('write app buf "a"', () => h.sys.write('app', buf, 'a'));
    h.step('fork app child', () => h.sys.fork('app', 'child'));
    h.step('exit child', () => h.sys.exit('child'));
    h.step('dma read buf', () => sva.read(buf, 1));
    expect(sva.iotlbEntry(buf)?.writable).toBe(false);
    h.step('write app buf "b" (wp_page_reuse)', () => h.sys.write('app', buf, 'b'));
    expect(h.counter('faults.cow_reuse')).toBe(1);
    const w = h.step('dma write buf "c"', () => sva.write(buf, 'c'));
    const r = h.step('read app buf', () => h.sys.read('app', buf, 1));
    return { h, sva, w, r };
  }

  it('v5.0: a store through an IOTLB entry cached read-only before wp_page_reuse is stuck', () => {
    const { h, sva, w, r } = reuseAfterChildExit('v5.0');
    expect(w).toEqual({ ok: false, error: 'EIO' });
    expect(r.ok && text(r.data)).toBe('b');
    expect(sva.stats()).toMatchObject({ stuck_writes: 1, faults: 4 });
    expect(h.violations).toEqual([]); // a liveness hole, not a coherence one: the entry is only too strict
  });

  it('v6.10: the permission upgrade flushes the IOTLB and the store goes through', () => {
    const { h, sva, w, r } = reuseAfterChildExit('v6.10');
    expect(w).toEqual({ ok: true });
    expect(r.ok && text(r.data)).toBe('c');
    expect(sva.stats()).toMatchObject({ stuck_writes: 0, faults: 0 });
    expect(h.violations).toEqual([]);
  });

  it('v3.2 has no ->invalidate_range: binding fails with EOPNOTSUPP', () => {
    const h = new Harness('v3.2');
    const app = h.spawn('app');
    const buf = h.sys.mmap('app', PAGE, 'rw') as number;
    expect(IommuSva.bindDevice(h.k, 'nic', app)).toMatchObject({ errno: 'EOPNOTSUPP' });
    const sva = new IommuSva(h.k, 'nic2', app);
    expect(sva.bindError).toBe('EOPNOTSUPP');
    expect(sva.read(buf)).toEqual({ ok: false, error: 'EOPNOTSUPP' });
    expect(app.mm.notifiers).toBeNull();
  });

  it('COW flushes the IOTLB under the ptl (ptep_clear_flush_notify), KSM-style paths at range end', () => {
    const h = new Harness('v5.0');
    const app = h.spawn('app');
    const buf = h.step('mmap app 2p rw', () => h.sys.mmap('app', 2 * PAGE, 'rw')) as number;
    const sva = h.step('iommu nic', () => h.add(new IommuSva(h.k, 'nic', app)));
    h.step('write app buf "a"', () => h.sys.write('app', buf, 'a'));
    h.step('dma read buf', () => sva.read(buf, 1));
    expect(sva.iotlbEntry(buf)?.writable).toBe(true);
    h.step('fork app child', () => h.sys.fork('app', 'child'));
    expect(sva.iotlbEntry(buf)).toBeUndefined(); // copy_page_range's full range end
    const afterFork = sva.stat('iotlb_flushes');
    h.step('dma read buf', () => sva.read(buf, 1));
    h.step('write app buf "b" (wp_page_copy)', () => h.sys.write('app', buf, 'b'));
    // ptep_clear_flush_notify only: wp_page_copy ends with invalidate_range_only_end
    expect(sva.stat('iotlb_flushes')).toBe(afterFork + 1);
    const d = h.step('dma read buf', () => sva.read(buf, 1));
    expect(d.ok && text(d.data)).toBe('b');
  });

  it('exit releases the binding; later DMA is aborted', () => {
    const h = new Harness('v5.0');
    const app = h.spawn('app');
    const buf = h.sys.mmap('app', PAGE, 'rw') as number;
    const sva = h.add(new IommuSva(h.k, 'nic', app));
    h.step('dma write buf', () => sva.write(buf, 'z'));
    h.step('exit app', () => h.sys.exit('app'));
    expect(sva.released).toBe(true);
    expect(sva.read(buf)).toEqual({ ok: false, error: 'EIO' });
  });
});
