/** The young helpers: the primary's accessed bit ORed with every secondary MMU's (page_referenced). */

import { describe, expect, it } from 'vitest';
import {
  mmuNotifierTestYoung,
  ptepClearFlushYoungNotify,
  ptepClearYoungNotify,
} from '../../src/mm/notify.js';
import { World } from '../../src/scenario/world.js';
import { expectSetup } from '../../src/secondary/common.js';
import { KvmGuest } from '../../src/secondary/kvm/index.js';
import { runToCompletion } from '../../src/sim/exec.js';

describe('ptep_clear_flush_young_notify / ptep_clear_young_notify', () => {
  it('a page is young if the CPU or the guest touched it since the last clear', () => {
    const w = new World({ kernel: 'v5.0', ramBytes: 4 * 1024 * 1024 });
    w.sys.spawn('qemu');
    const addr = w.sys.mmap('qemu', 4096, 'rw') as number;
    const vm = expectSetup(
      w.attach(KvmGuest.create(w.kernel, 'vm1', w.task('qemu'), [{ gfn: 0, addr, size: 4096 }])),
    );
    vm.write(0, 'x');
    const k = w.kernel;
    const mm = w.task('qemu').mm;
    const agent = k.newAgent('kswapd');
    expect(runToCompletion(ptepClearFlushYoungNotify(k, agent, mm, addr))).toBe(true);
    expect(runToCompletion(ptepClearFlushYoungNotify(k, agent, mm, addr))).toBe(false);
    vm.read(0, 1); // the spte is still there: only the secondary's accessed bit is set again
    expect(runToCompletion(mmuNotifierTestYoung(mm, agent, addr))).toBe(true);
    expect(runToCompletion(ptepClearYoungNotify(k, agent, mm, addr))).toBe(true);
    expect(runToCompletion(mmuNotifierTestYoung(mm, agent, addr))).toBe(false);
    expect(w.counters.get('notifier.clear_young')).toBe(1);
    w.checkNow();
    expect(w.violations.list).toEqual([]);
  });
});
