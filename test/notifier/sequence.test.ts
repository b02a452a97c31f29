/**
 * A recording subscriber asserts the exact notifier call sequence each primary path issues, per kernel
 * profile (issue 3): e.g. wp_page_copy on v5.0 is start(CLEAR) -> invalidate_range (from
 * ptep_clear_flush_notify) -> change_pte -> end (only_end: no second invalidate_range); on v6.10 there is
 * no change_pte; on v3.2 change_pte runs alone.
 */
import { describe, expect, it } from 'vitest';
import { PTE_RW, ptePfn } from '../../src/hw/pte.js';
import type { KernelName } from '../../src/kernel/profiles.js';
import { EVENT_NAMES, MMU_NOTIFIER_USE_CHANGE_PTE, type NotifierRange } from '../../src/mm/notifier-port.js';
import type { MmuNotifier } from '../../src/notifier/ops.js';
import { mmuNotifierRegister } from '../../src/notifier/register.js';
import { World } from '../../src/scenario/world.js';
import type { Path } from '../../src/sim/exec.js';

/** Records every call as a short string. */
function recorder(calls: string[]): MmuNotifier {
  const r = (range: NotifierRange): string =>
    `${EVENT_NAMES[range.event]}${range.flags & MMU_NOTIFIER_USE_CHANGE_PTE ? '+USE_CHANGE_PTE' : ''} ${(range.end - range.start) / 4096}p`;
  return {
    name: 'recorder',
    ops: {
      *invalidateRangeStart(_a, range): Path<number> {
        calls.push(`start ${r(range)} by ${range.by}`);
        return 0;
      },
      *invalidateRangeEnd(_a, range): Path {
        calls.push(`end ${r(range)}`);
      },
      *invalidateRange(_a, _mm, start, end): Path {
        calls.push(`invalidate_range ${(end - start) / 4096}p`);
      },
      *changePte(_a, _mm, _addr, pte): Path {
        calls.push(`change_pte ${pte & PTE_RW ? 'RW' : 'RO'} pfn ${ptePfn(pte)}`);
      },
      *release(): Path {
        calls.push('release');
      },
    },
  };
}

function setup(kernel: KernelName, pages = 2) {
  const w = new World({ kernel, ramBytes: 8 * 1024 * 1024 });
  w.sys.spawn('p');
  const addr = w.sys.mmap('p', pages * 4096, 'rw') as number;
  const calls: string[] = [];
  mmuNotifierRegister(w.kernel, w.task('p').mm, recorder(calls));
  return { w, addr, calls };
}

/** The calls made by `action`, with pfns replaced by the pfn's role. */
function during(calls: string[], action: () => void): string[] {
  const from = calls.length;
  action();
  return calls.slice(from).map((c) => c.replace(/pfn \d+/, 'pfn N'));
}

describe('wp_page_copy (a COW after fork) per profile', () => {
  const expected: Record<KernelName, string[]> = {
    'v3.2': ['change_pte RW pfn N'],
    'v5.0': ['start CLEAR 1p by wp_page_copy', 'invalidate_range 1p', 'change_pte RW pfn N', 'end CLEAR 1p'],
    'rfc-2019': [
      'start CLEAR+USE_CHANGE_PTE 1p by wp_page_copy',
      'invalidate_range 1p',
      'change_pte RW pfn N',
      'end CLEAR+USE_CHANGE_PTE 1p',
    ],
    'rfc-2019-aa': [
      'start CLEAR+USE_CHANGE_PTE 1p by wp_page_copy',
      'invalidate_range 1p',
      'change_pte RW pfn N',
      'end CLEAR+USE_CHANGE_PTE 1p',
    ],
    // v6.6+: no ptep_clear_flush_notify; the CPU TLB flush tells secondary TLBs; no change_pte
    'v6.10': ['start CLEAR 1p by wp_page_copy', 'invalidate_range 1p', 'end CLEAR 1p'],
    'v6.18': ['start CLEAR 1p by wp_page_copy', 'invalidate_range 1p', 'end CLEAR 1p'],
  };
  for (const kernel of Object.keys(expected) as KernelName[]) {
    it(kernel, () => {
      const { w, addr, calls } = setup(kernel);
      w.sys.write('p', addr, 'x');
      w.sys.fork('p', 'c');
      expect(during(calls, () => w.sys.write('p', addr, 'y'))).toEqual(expected[kernel]);
    });
  }
});

describe('other primary paths (v5.0)', () => {
  it('first write to untouched memory and the zero page: no notifier for the fresh pte; the zero-page COW is a wp_page_copy', () => {
    const { w, addr, calls } = setup('v5.0');
    expect(during(calls, () => w.sys.write('p', addr, 'x'))).toEqual([]);
    w.sys.read('p', addr + 4096, 1);
    expect(during(calls, () => w.sys.write('p', addr + 4096, 'y'))).toEqual([
      'start CLEAR 1p by wp_page_copy',
      'invalidate_range 1p',
      'change_pte RW pfn N',
      'end CLEAR 1p',
    ]);
  });

  it('wp_page_reuse makes no call at all (the hole the 2023 fix closed); v6.10 tells secondary TLBs', () => {
    for (const [kernel, want] of [
      ['v5.0', []],
      ['v6.10', ['invalidate_range 1p']],
    ] as const) {
      const { w, addr, calls } = setup(kernel);
      w.sys.write('p', addr, 'x');
      w.sys.fork('p', 'c');
      w.sys.exit('c');
      expect(during(calls, () => w.sys.write('p', addr, 'y'))).toEqual(want);
      expect(w.counters.get('faults.cow_reuse')).toBe(1);
    }
  });

  it('fork write-protects the parent inside one PROTECTION_PAGE range per vma', () => {
    const { w, addr, calls } = setup('v5.0');
    w.sys.write('p', addr, 'x');
    expect(during(calls, () => w.sys.fork('p', 'c'))).toEqual([
      'start PROTECTION_PAGE 2p by copy_page_range',
      'invalidate_range 2p',
      'end PROTECTION_PAGE 2p',
    ]);
  });

  it('mprotect is PROTECTION_VMA, munmap UNMAP, MADV_DONTNEED CLEAR; each flushes secondary TLBs once', () => {
    const { w, addr, calls } = setup('v5.0');
    w.sys.write('p', addr, 'x');
    expect(during(calls, () => w.sys.mprotect('p', addr, 4096, 'r'))).toEqual([
      'start PROTECTION_VMA 1p by change_protection',
      'invalidate_range 1p',
      'end PROTECTION_VMA 1p',
    ]);
    expect(during(calls, () => w.sys.madvise('p', addr + 4096, 4096, 'dontneed'))).toEqual([
      'start CLEAR 1p by zap_page_range',
      'invalidate_range 1p',
      'end CLEAR 1p',
    ]);
    expect(during(calls, () => w.sys.munmap('p', addr, 8192))).toEqual([
      'start UNMAP 2p by unmap_region',
      'invalidate_range 2p',
      'end UNMAP 2p',
    ]);
  });

  it('exit calls release once, then the chain is empty', () => {
    const { w, calls } = setup('v5.0');
    expect(during(calls, () => w.sys.exit('p'))).toEqual(['release']);
    expect(w.counters.get('notifier.release')).toBe(1);
  });
});

describe('KSM write_protect_page and replace_page per profile', () => {
  const merge = (kernel: KernelName): string[] => {
    const { w, addr, calls } = setup(kernel);
    w.sys.write('p', addr, 'same');
    w.sys.write('p', addr + 4096, 'same');
    w.sys.madvise('p', addr, 8192, 'mergeable');
    return during(calls, () => w.ksm.runFullScans(3));
  };

  it('v5.0: start(CLEAR) -> change_pte -> end with invalidate_range, for each page', () => {
    expect(merge('v5.0')).toEqual([
      // write_protect_page on the first page (it becomes the KSM page)
      'start CLEAR 1p by write_protect_page',
      'change_pte RO pfn N',
      'invalidate_range 1p',
      'end CLEAR 1p',
      // write_protect_page on the second, then replace_page maps the KSM page there
      'start CLEAR 1p by write_protect_page',
      'change_pte RO pfn N',
      'invalidate_range 1p',
      'end CLEAR 1p',
      'start CLEAR 1p by replace_page',
      'change_pte RO pfn N',
      'invalidate_range 1p',
      'end CLEAR 1p',
    ]);
  });

  it('v3.2: change_pte alone; rfc-2019 carries the flag; v6.10 has no change_pte', () => {
    expect(merge('v3.2')).toEqual(['change_pte RO pfn N', 'change_pte RO pfn N', 'change_pte RO pfn N']);
    const rfc = merge('rfc-2019');
    expect(rfc.filter((c) => c.startsWith('start'))).toHaveLength(3);
    expect(rfc.filter((c) => c.startsWith('start')).every((c) => c.includes('USE_CHANGE_PTE'))).toBe(true);
    const v610 = merge('v6.10');
    expect(v610.some((c) => c.startsWith('change_pte'))).toBe(false);
    expect(v610.filter((c) => c.startsWith('start'))).toHaveLength(3);
  });
});

describe('notifier counters', () => {
  it('count ranges, change_pte calls and flagged ranges as SCENARIO.md names them', () => {
    const { w, addr } = setup('rfc-2019');
    w.sys.write('p', addr, 'x');
    w.sys.fork('p', 'c');
    w.sys.write('p', addr, 'y');
    const c = w.counters;
    expect(c.get('notifier.invalidate_range_start')).toBe(2);
    expect(c.get('notifier.invalidate_range_end')).toBe(2);
    expect(c.get('notifier.change_pte')).toBe(1);
    expect(c.get('notifier.use_change_pte')).toBe(1);
  });
});
