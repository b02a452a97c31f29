/**
 * mmu_notifier_register and mmu_interval_notifier_insert on an mm whose exit has begun: refused with an
 * errno (ESRCH), as every setup the kernel refuses is answered, and World.attach passes it on.
 */
import { describe, expect, it } from 'vitest';
import { mmuIntervalNotifierInsert, mmuNotifierRegister } from '../../src/notifier/register.js';
import { World } from '../../src/scenario/world.js';
import { isSetupError } from '../../src/secondary/common.js';
import { HmmMirror } from '../../src/secondary/hmm/index.js';

describe('registration on an exiting mm', () => {
  it('answers ESRCH, registers nothing, and attach reports it as a setup error', () => {
    const w = new World({ kernel: 'v5.0', ramBytes: 4 * 1024 * 1024 });
    const task = w.sys.spawn('p');
    const mirror = new HmmMirror(w.kernel, 'gpu', task);
    task.mm.exiting = true; // exit_mmap has begun
    expect(mmuNotifierRegister(w.kernel, task.mm, { name: 'late', ops: {} })).toBe('ESRCH');
    expect(mmuIntervalNotifierInsert(w.kernel, mirror.subscription)).toBe('ESRCH');
    expect(task.mm.notifiers).toBeNull();
    const attached = w.attach(mirror);
    expect(isSetupError(attached) ? attached.errno : attached).toBe('ESRCH');
    expect([...w.secondaries()]).toEqual([]);
  });
});
