/** The sharing partition (the differential oracle's state) is canonical and re-runs identically from a seed. */
import { describe, expect, it } from 'vitest';
import { formatPartition, sharingPartition } from '../../src/mm/partition.js';
import { World } from '../../src/scenario/world.js';

function build(seed: number) {
  const w = new World({ kernel: 'v5.0', seed, ramBytes: 8 * 1024 * 1024 });
  w.sys.spawn('a');
  const addr = w.sys.mmap('a', 4 * 4096, 'rw') as number;
  w.sys.write('a', addr, 'x');
  w.sys.write('a', addr + 4096, 'x');
  w.sys.read('a', addr + 2 * 4096, 1);
  w.sys.fork('a', 'b');
  w.sys.write('b', addr, 'y');
  w.sys.madvise('a', addr, 4 * 4096, 'mergeable');
  w.sys.madvise('b', addr, 4 * 4096, 'mergeable');
  w.ksm.runFullScans(3);
  return { w, addr };
}

describe('sharingPartition', () => {
  it('groups (process, address) pairs by frame, naming zero and KSM pages', () => {
    const { w, addr } = build(1);
    const groups = sharingPartition(w.kernel);
    const hex = (n: number) => `0x${n.toString(16)}`;
    const zero = groups.find((g) => g.kind === 'zero');
    expect(zero?.members).toEqual([`a:${hex(addr + 8192)}`, `b:${hex(addr + 8192)}`]);
    const ksm = groups.filter((g) => g.kind === 'ksm');
    expect(ksm).toHaveLength(1);
    expect(ksm[0].members).toEqual([`a:${hex(addr)}`, `a:${hex(addr + 4096)}`, `b:${hex(addr + 4096)}`]);
    expect(groups.find((g) => g.members.includes(`b:${hex(addr)}`))?.kind).toBe('anon');
  });

  it('is the same when the same run is repeated', () => {
    expect(formatPartition(sharingPartition(build(3).w.kernel))).toBe(
      formatPartition(sharingPartition(build(3).w.kernel)),
    );
  });
});
