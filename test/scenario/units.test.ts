import { describe, expect, it } from 'vitest';
import { parseComparison, parseCounterName } from '../../src/scenario/counters.js';
import { closest, parseAddress, parsePageCount, parseSize } from '../../src/scenario/units.js';

const value = <T>(r: { ok: true; value: T } | { ok: false }) => (r.ok ? r.value : undefined);

describe('parseSize', () => {
  it.each([
    ['4096', 4096],
    ['0x1000', 4096],
    ['100B', 100],
    ['16KiB', 16384],
    ['16 KiB', 16384],
    ['2MiB', 2 * 1024 * 1024],
    ['1GiB', 1024 ** 3],
    ['1TiB', 1024 ** 4],
    ['8 pages', 8 * 4096],
    ['1 page', 4096],
    ['8p', 8 * 4096],
    ['0x10p', 16 * 4096],
    ['1.5KiB', 1536],
    ['0.5p', 2048],
    [' 3p ', 3 * 4096],
    ['0', 0],
  ])('%s is %d bytes', (text, bytes) => {
    expect(value(parseSize(text))).toBe(bytes);
  });

  it.each([
    ['16KB', "unknown unit 'KB': did you mean 'KiB'? Units are binary and case-sensitive"],
    ['2M', "unknown unit 'M': did you mean 'MiB'? Units are binary and case-sensitive"],
    ['4kib', "unknown unit 'kib': did you mean 'KiB'? Units are binary and case-sensitive"],
    ['3 pagez', "unknown unit 'pagez': use B, KiB, MiB, GiB, TiB, or p / pages"],
    ['0.3KiB', 'that is not a whole number of bytes'],
    ['-4096', 'a size cannot be negative'],
    ['99999999TiB', 'too large (the limit is 2^53 - 1 bytes)'],
  ])('rejects %s: %s', (text, problem) => {
    expect(parseSize(text)).toEqual({ ok: false, expected: expect.stringContaining('a size'), problem });
  });

  it.each(['', 'lots', '1e3', '4 096', 'p', '1..2KiB', '0x'])('rejects %j', (text) => {
    expect(parseSize(text).ok).toBe(false);
  });
});

describe('parsePageCount', () => {
  it.each([
    ['8', 8],
    ['8p', 8],
    ['8 pages', 8],
    ['1 page', 1],
    ['2MiB', 512],
    ['4096B', 1],
  ])('%s is %d pages', (text, pages) => {
    expect(value(parsePageCount(text))).toBe(pages);
  });

  it('rejects a size that is not whole pages, saying so', () => {
    expect(parsePageCount('6KiB')).toMatchObject({
      ok: false,
      problem: '6144 bytes is not a whole number of pages',
    });
  });
});

describe('parseAddress', () => {
  it.each([
    ['buf', { base: 'buf', offset: 0 }],
    ['buf+3p', { base: 'buf', offset: 3 * 4096 }],
    ['buf+0x10', { base: 'buf', offset: 16 }],
    ['buf + 2 pages', { base: 'buf', offset: 2 * 4096 }],
    ['buf+1p+16', { base: 'buf', offset: 4096 + 16 }],
    ['buf-1p', { base: 'buf', offset: -4096 }],
    ['buf+4KiB', { base: 'buf', offset: 4096 }],
    ['0x7f0000000000', { offset: 0x7f0000000000 }],
    ['0x7f0000000000+2p', { offset: 0x7f0000000000 + 8192 }],
    ['4096', { offset: 4096 }],
    ['parent:buf+2p', { proc: 'parent', base: 'buf', offset: 8192 }],
    ['qemu-a:ram', { proc: 'qemu-a', base: 'ram', offset: 0 }],
    ['p : buf', { proc: 'p', base: 'buf', offset: 0 }],
    ['child:0x1000', { proc: 'child', offset: 4096 }],
  ])('%s', (text, expected) => {
    expect(value(parseAddress(text))).toEqual({ ...expected, text: text.trim() });
  });

  it.each([
    ['', 'it is empty'],
    ['buf+', "an offset is missing after '+'"],
    ['buf+lots', "'lots' is not an offset (bytes such as 16 or 0x10, or 3p, 2 pages, 4KiB)"],
    ['my-buf', "'buf' is not an offset (bytes such as 16 or 0x10, or 3p, 2 pages, 4KiB)"],
    ['3p', "'3p' is neither a mapping name nor a number"],
    ['parent:', "nothing follows 'parent:'"],
    ['1:buf', "'1' is not a process name"],
    ['0x10-0x20', 'the address is negative'],
    ['-1p', 'it must start with a mapping name or a number'],
    ['0xffffffffffffffffff', 'the address is larger than 2^53 - 1'],
  ])('rejects %j: %s', (text, problem) => {
    expect(parseAddress(text)).toEqual({
      ok: false,
      expected: expect.stringContaining('an address'),
      problem,
    });
  });
});

describe('counters', () => {
  it.each([
    ['ksm.pages_sharing', { global: true }],
    ['notifier.use_change_pte', { global: true }],
    ['kvm.vm1.faults', { global: false, family: 'kvm', agent: 'vm1' }],
    ['dev.gpu.invalidations', { global: false, family: 'dev', agent: 'gpu' }],
    ['iommu.nic.iotlb_flushes', { global: false, family: 'iommu', agent: 'nic' }],
  ])('knows %s', (name, expected) => {
    expect(value(parseCounterName(name))).toEqual(expected);
  });

  it('lists the counters of a family when one is misspelt', () => {
    expect(parseCounterName('kvm.vm1.fault')).toMatchObject({
      ok: false,
      problem:
        'kvm counters are faults, sptes_zapped, change_pte_updates, change_pte_misses, retries, remote_tlb_flushes',
    });
    expect(parseCounterName('tlb.flushes')).toMatchObject({
      problem: 'tlb counters are flush_local, flush_remote',
    });
    expect(parseCounterName('kvm.faults')).toMatchObject({ problem: 'write kvm.NAME.COUNTER' });
  });

  it.each([
    ['3', { op: '==', value: 3 }],
    ['== 3', { op: '==', value: 3 }],
    ['>=1', { op: '>=', value: 1 }],
    [' != 0 ', { op: '!=', value: 0 }],
    ['< 10', { op: '<', value: 10 }],
    ['<= 10', { op: '<=', value: 10 }],
    ['> -1', { op: '>', value: -1 }],
  ])('reads the comparison %j', (text, expected) => {
    expect(value(parseComparison(text))).toEqual(expected);
  });

  it('points out = for ==', () => {
    expect(parseComparison('= 3')).toMatchObject({ ok: false, problem: "use '==' for equality" });
    expect(parseComparison('=> 3').ok).toBe(false);
  });
});

describe('closest', () => {
  it('suggests near misses only', () => {
    expect(closest('mmapp', ['spawn', 'mmap', 'munmap'])).toBe('mmap');
    expect(closest('prto', ['proc', 'prot', 'size'])).toBe('prot');
    expect(closest('xyz', ['spawn', 'mmap'])).toBeUndefined();
  });
});
