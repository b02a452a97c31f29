/** mmu_interval_notifier: the sequence is odd while an invalidation of the interval runs (v5.5 semantics). */
import { describe, expect, it } from 'vitest';
import type { NotifierRange } from '../../src/mm/notifier-port.js';
import { MmuIntervalNotifier } from '../../src/notifier/ops.js';
import {
  chainOf,
  mmuIntervalNotifierInsert,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../../src/notifier/register.js';
import { World } from '../../src/scenario/world.js';
import { ModelBug, type Path, runToCompletion } from '../../src/sim/exec.js';

describe('interval notifiers', () => {
  function setup() {
    const w = new World({ kernel: 'v5.0', ramBytes: 4 * 1024 * 1024 });
    w.sys.spawn('p');
    const addr = w.sys.mmap('p', 4 * 4096, 'rw') as number;
    const mm = w.task('p').mm;
    const seen: { range: NotifierRange; seq: number; chainSeq: number }[] = [];
    const sub = new MmuIntervalNotifier('dev', mm, addr, addr + 2 * 4096, {
      *invalidate(_a, s, range, curSeq): Path<boolean> {
        seen.push({ range, seq: curSeq, chainSeq: chainOf(w.kernel, mm).invalidateSeq });
        mmuIntervalSetSeq(s, curSeq);
        return true;
      },
    });
    mmuIntervalNotifierInsert(w.kernel, sub);
    return { w, addr, mm, sub, seen };
  }

  it('read_begin returns a sequence that read_retry accepts until an overlapping invalidation runs', () => {
    const { w, addr, mm, sub, seen } = setup();
    const chain = chainOf(w.kernel, mm);
    const seq = runToCompletion(chain.readBegin(sub));
    expect(mmuIntervalReadRetry(sub, seq)).toBe(false);
    w.sys.write('p', addr + 3 * 4096, 'outside');
    w.sys.madvise('p', addr + 3 * 4096, 4096, 'dontneed');
    expect(seen).toHaveLength(0);
    expect(mmuIntervalReadRetry(sub, seq)).toBe(false);
    w.sys.write('p', addr, 'inside');
    w.sys.madvise('p', addr, 4096, 'dontneed');
    expect(seen).toHaveLength(1);
    expect(seen[0].seq % 2).toBe(1); // odd while the invalidation runs
    expect(chain.invalidateSeq % 2).toBe(0); // even again after end
    expect(mmuIntervalReadRetry(sub, seq)).toBe(true);
    const again = runToCompletion(chain.readBegin(sub));
    expect(mmuIntervalReadRetry(sub, again)).toBe(false);
  });

  it('read_begin during an invalidation of the interval sleeps (a deadlock for the sequential driver)', () => {
    const { w, mm, sub } = setup();
    const chain = chainOf(w.kernel, mm);
    chain.invalidateSeq |= 1;
    sub.invalidateSeq = chain.invalidateSeq;
    expect(() => runToCompletion(chain.readBegin(sub))).toThrow(ModelBug);
  });

  it('exit invalidates every interval with a RELEASE event first (then the unmap, as exit_mmap does)', () => {
    const { w, seen } = setup();
    w.sys.exit('p');
    expect(seen[0].range.event).toBe(5);
    expect(seen[0].range.by).toBe('exit_mmap');
    expect(seen[0].range.start).toBe(0);
  });
});
