import { describe, expect, it } from 'vitest';
import { ZERO_PFN } from '../../src/hw/frames.js';
import { ptePfn, pteWrite } from '../../src/hw/pte.js';
import type { KernelName } from '../../src/kernel/profiles.js';
import type { NotifierChain } from '../../src/notifier/chain.js';
import { KvmGuest, type KvmGuestOptions } from '../../src/secondary/kvm/index.js';
import { runToCompletion } from '../../src/sim/exec.js';
import { ALL_KERNELS, fill, Harness, PAGE, runUntil, text } from './harness.js';

function setup(kernel: KernelName, pages = 8, opts: KvmGuestOptions = {}, expectViolations = false) {
  const h = new Harness(kernel, { expectViolations });
  const qemu = h.spawn('qemu');
  const ram = h.step(`mmap qemu ${pages}p rw as ram`, () => h.sys.mmap('qemu', pages * PAGE, 'rw')) as number;
  const vm = h.step('vm vm1 on qemu, gfn 0 -> ram', () =>
    h.add(new KvmGuest(h.k, 'vm1', qemu, [{ gfn: 0, addr: ram, size: pages * PAGE }], { vcpus: 2, ...opts })),
  );
  return { h, ram, vm, qemu };
}

describe('KVM guest: data and the fault path', () => {
  it.each(ALL_KERNELS)('%s: what the guest writes the host reads, and the other way round', (kernel) => {
    const { h, ram, vm } = setup(kernel);
    expect(h.step('guest write gfn 0 "hello"', () => vm.write(0, 'hello')).ok).toBe(true);
    expect(vm.stat('faults')).toBe(1);
    expect(vm.spteFor(0)?.writable).toBe(true);
    const r = h.step('read qemu ram 5', () => h.sys.read('qemu', ram, 5));
    expect(r.ok && text(r.data)).toBe('hello');

    h.step('write qemu ram+1p "world"', () => h.sys.write('qemu', ram + PAGE, 'world'));
    const g = h.step('guest read gfn 1', () => vm.read(1, 5));
    expect(g.ok && text(g.data)).toBe('world');
    // the host pte is writable, so hva_to_pfn_fast maps it writable even for a read fault
    expect(vm.spteFor(1)).toEqual({
      pfn: ptePfn(h.k.mms.get(vm.mm.id)!.pt.get(ram / PAGE + 1)),
      writable: true,
      accessed: true,
    });
    h.step('guest write gfn 1 "W" (no fault)', () => vm.write(1, 'W', 1));
    expect(vm.stat('faults')).toBe(2);
    const back = h.step('read qemu ram+1p', () => h.sys.read('qemu', ram + PAGE, 5));
    expect(back.ok && text(back.data)).toBe('World');
    expect(h.violations).toEqual([]);
  });

  // A read of untouched memory maps the zero page read-only; the write that follows COWs it in the host,
  // inside a range that also covers the fault's own GUP: the sequence moves and the fault retries once.
  const zeroCow: Record<KernelName, { zapped: number; updates: number; misses: number }> = {
    'v3.2': { zapped: 1, updates: 1, misses: 0 },
    'v5.0': { zapped: 1, updates: 0, misses: 1 },
    'rfc-2019': { zapped: 1, updates: 1, misses: 0 },
    'rfc-2019-aa': { zapped: 1, updates: 1, misses: 0 },
    'v6.10': { zapped: 1, updates: 0, misses: 0 },
    'v6.18': { zapped: 1, updates: 0, misses: 0 },
  };
  it.each(ALL_KERNELS)('%s: zero page read, then a write COWs it and the fault retries', (kernel) => {
    const { h, vm } = setup(kernel);
    const r = h.step('guest read gfn 2', () => vm.read(2, 16));
    expect(r.ok && [...r.data!]).toEqual(new Array(16).fill(0));
    expect(vm.spteFor(2)).toEqual({ pfn: ZERO_PFN, writable: false, accessed: true });
    h.step('guest write gfn 2 fill 7', () => vm.write(2, fill(h, 7)));
    const s = vm.spteFor(2)!;
    expect(s.writable).toBe(true);
    expect(s.pfn).not.toBe(ZERO_PFN);
    expect(vm.stats()).toMatchObject({ faults: 3, retries: 1, ...pick(zeroCow[kernel]) });
  });

  // fork write-protects the parent (a PROTECTION_PAGE range zaps the spte); the guest maps the shared
  // page read-only; a host CPU store then COWs it in the parent (wp_page_copy, RO -> RW new pfn).
  // x86's kvm_set_pte_rmapp drops a spte for a writable new pte, so every kernel re-faults.
  const forkCow: Record<KernelName, { zapped: number; updates: number; misses: number }> = {
    'v3.2': { zapped: 2, updates: 1, misses: 0 },
    'v5.0': { zapped: 2, updates: 0, misses: 1 },
    'rfc-2019': { zapped: 2, updates: 1, misses: 0 },
    'rfc-2019-aa': { zapped: 2, updates: 1, misses: 0 },
    'v6.10': { zapped: 2, updates: 0, misses: 0 },
    'v6.18': { zapped: 2, updates: 0, misses: 0 },
  };
  it.each(ALL_KERNELS)('%s: fork, guest maps the shared page, host COW re-points the guest', (kernel) => {
    const { h, ram, vm } = setup(kernel);
    h.step('guest write gfn 0 "A"', () => vm.write(0, 'A'));
    h.step('fork qemu child', () => h.sys.fork('qemu', 'child'));
    expect(vm.spteFor(0)).toBeUndefined();
    const g = h.step('guest read gfn 0', () => vm.read(0, 1));
    expect(text(g.ok ? g.data : undefined)).toBe('A');
    expect(vm.spteFor(0)?.writable).toBe(false);
    h.step('write qemu ram "B"', () => h.sys.write('qemu', ram, 'B'));
    expect(vm.spteFor(0)).toBeUndefined();
    const g2 = h.step('guest read gfn 0', () => vm.read(0, 1));
    expect(text(g2.ok ? g2.data : undefined)).toBe('B');
    const c = h.step('read child ram', () => h.sys.read('child', ram, 1));
    expect(text(c.ok ? c.data : undefined)).toBe('A');
    expect(vm.stats()).toMatchObject({ faults: 3, retries: 0, ...pick(forkCow[kernel]) });
    // a guest store after the COW goes to the parent's new page, never the child's
    h.step('guest write gfn 0 "C"', () => vm.write(0, 'C'));
    const c2 = h.step('read child ram', () => h.sys.read('child', ram, 1));
    expect(text(c2.ok ? c2.data : undefined)).toBe('A');
  });

  it.each(ALL_KERNELS)('%s: munmap, DONTNEED and mprotect take the sptes away', (kernel) => {
    const { h, ram, vm } = setup(kernel);
    for (let gfn = 0; gfn < 4; gfn++)
      h.step(`guest write gfn ${gfn}`, () => vm.write(gfn, fill(h, 10 + gfn)));
    expect(vm.presentSptes).toBe(4);

    h.step('madvise qemu ram+1p 1p dontneed', () => h.sys.madvise('qemu', ram + PAGE, PAGE, 'dontneed'));
    expect(vm.spteFor(1)).toBeUndefined();
    const z = h.step('guest read gfn 1', () => vm.read(1, 4));
    expect(z.ok && [...z.data!]).toEqual([0, 0, 0, 0]);

    h.step('mprotect qemu ram+2p 1p r', () => h.sys.mprotect('qemu', ram + 2 * PAGE, PAGE, 'r'));
    expect(vm.spteFor(2)).toBeUndefined();
    expect(h.step('guest read gfn 2', () => vm.read(2, 1)).ok).toBe(true);
    expect(vm.spteFor(2)?.writable).toBe(false);
    expect(h.step('guest write gfn 2 (read-only vma)', () => vm.write(2, 'x'))).toEqual({
      ok: false,
      error: 'EFAULT',
    });
    h.step('mprotect qemu ram+2p 1p rw', () => h.sys.mprotect('qemu', ram + 2 * PAGE, PAGE, 'rw'));
    expect(h.step('guest write gfn 2', () => vm.write(2, 'y')).ok).toBe(true);
    const y = h.step('read qemu ram+2p', () => h.sys.read('qemu', ram + 2 * PAGE, 1));
    expect(text(y.ok ? y.data : undefined)).toBe('y');

    h.step('munmap qemu ram+3p 1p', () => h.sys.munmap('qemu', ram + 3 * PAGE, PAGE));
    expect(vm.spteFor(3)).toBeUndefined();
    expect(h.step('guest read gfn 3 (unmapped)', () => vm.read(3))).toEqual({ ok: false, error: 'EFAULT' });
    expect(vm.stat('sptes_zapped')).toBeGreaterThanOrEqual(3);
    expect(vm.stat('remote_tlb_flushes')).toBeGreaterThanOrEqual(3);
  });

  it('every vCPU TLB is flushed when a spte goes', () => {
    const { h, ram, vm } = setup('v5.0');
    h.step('guest write gfn 0 (vcpu0)', () => vm.write(0, 'a', 0));
    h.step('guest read gfn 0 (vcpu1)', () => vm.read(0, 1, 1));
    expect([...vm.translations()].length).toBe(3); // the spte and both TLB entries
    h.step('madvise qemu ram 1p dontneed', () => h.sys.madvise('qemu', ram, PAGE, 'dontneed'));
    expect([...vm.translations()]).toEqual([]);
  });

  it('exit releases the guest: every spte goes, later accesses fail', () => {
    const { h, vm } = setup('v5.0');
    for (let gfn = 0; gfn < 3; gfn++) h.step(`guest write gfn ${gfn}`, () => vm.write(gfn, 'x'));
    h.step('exit qemu', () => h.sys.exit('qemu'));
    expect(vm.released).toBe(true);
    expect(vm.presentSptes).toBe(0);
    expect(vm.stat('sptes_zapped')).toBe(3);
    expect(h.step('guest read gfn 0', () => vm.read(0))).toEqual({ ok: false, error: 'EFAULT' });
    vm.destroy();
  });

  it('destroy unregisters: the host goes on without telling KVM', () => {
    const { h, ram, vm } = setup('v5.0');
    h.step('guest write gfn 0', () => vm.write(0, 'x'));
    h.step('destroy vm1', () => vm.destroy());
    expect(vm.presentSptes).toBe(0);
    const chain = vm.mm.notifiers as NotifierChain;
    expect(chain.list).toEqual([]);
    h.step('munmap qemu ram 1p', () => h.sys.munmap('qemu', ram, PAGE));
    expect(vm.stat('sptes_zapped')).toBe(1);
    expect(vm.read(0)).toEqual({ ok: false, error: 'EFAULT' });
  });

  it('memslots: several slots, gpa outside every slot, bad slots', () => {
    const h = new Harness('v5.0');
    const t = h.spawn('qemu');
    const a = h.sys.mmap('qemu', 4 * PAGE, 'rw') as number;
    const b = h.sys.mmap('qemu', 4 * PAGE, 'rw') as number;
    const vm = h.add(
      new KvmGuest(h.k, 'vm', t, [
        { gfn: 16, addr: b, size: 4 * PAGE },
        { gfn: 0, addr: a, size: 4 * PAGE },
      ]),
    );
    h.step('guest write gpa 0x10010 "slot"', () => vm.writeGpa(0x10010, 'slot'));
    const r = h.step('read qemu b+0x10', () => h.sys.read('qemu', b + 0x10, 4));
    expect(text(r.ok ? r.data : undefined)).toBe('slot');
    expect(vm.gfnToHva(17)).toBe(b + PAGE);
    expect(vm.readGpa(0x8000, 1)).toEqual({ ok: false, error: 'EFAULT' });
    // an access that crosses two pages of a slot is two accesses
    h.step('guest write gpa 0xffe "abcd"', () => vm.writeGpa(0xffe, 'abcd'));
    const x = h.step('guest read gpa 0xffe', () => vm.readGpa(0xffe, 4));
    expect(text(x.ok ? x.data : undefined)).toBe('abcd');
    expect(() => new KvmGuest(h.k, 'bad', t, [{ gfn: 0, addr: a, size: 100 }])).toThrow(/EINVAL/);
    expect(
      () =>
        new KvmGuest(h.k, 'bad2', t, [
          { gfn: 0, addr: a, size: 4 * PAGE },
          { gfn: 2, addr: b, size: 4 * PAGE },
        ]),
    ).toThrow(/EEXIST/);
  });

  it('young: clear_young and test_young age the sptes, clear_flush_young flushes', () => {
    const { h, ram, vm } = setup('v5.0');
    h.step('guest write gfn 0', () => vm.write(0, 'x'));
    const chain = vm.mm.notifiers as NotifierChain;
    const agent = h.sys.task('qemu').agent;
    expect(runToCompletion(chain.testYoung(agent, vm.mm, ram))).toBe(true);
    expect(runToCompletion(chain.clearYoung(agent, vm.mm, ram, ram + PAGE))).toBe(true);
    expect(vm.spteFor(0)?.accessed).toBe(false);
    expect(runToCompletion(chain.testYoung(agent, vm.mm, ram))).toBe(false);
    const flushes = vm.stat('remote_tlb_flushes');
    h.step('guest read gfn 0 (vcpu1)', () => vm.read(0, 1, 1));
    expect(runToCompletion(chain.clearFlushYoung(agent, vm.mm, ram, ram + PAGE))).toBe(true);
    expect(vm.stat('remote_tlb_flushes')).toBe(flushes + 1);
    expect(runToCompletion(chain.clearFlushYoung(agent, vm.mm, ram, ram + PAGE))).toBe(false);
  });

  it('KVM holds no page reference once the spte is installed', () => {
    const { h, ram, vm } = setup('v5.0');
    h.step('guest write gfn 0', () => vm.write(0, 'x'));
    const pfn = vm.spteFor(0)!.pfn;
    expect(h.k.frames.raw.refcount[pfn]).toBe(1);
    expect(vm.heldRefs().size).toBe(0);
    expect(pteWrite(vm.mm.pt.get(ram / PAGE))).toBe(true);
  });
});

describe('fault injection: the invariants catch a broken KVM', () => {
  const PFN_READY = 'kvm tdp_page_fault: pfn from gfn_to_pfn, before mmu_lock';

  /**
   * A guest read fault translates the host page (gfn_to_pfn holds a reference), then MADV_DONTNEED
   * zaps it before the fault takes mmu_lock. A correct KVM sees the sequence moved and retries; one that
   * skips the check installs a spte for a page the host has dropped.
   */
  function raceFaultAgainstZap(opts: KvmGuestOptions) {
    const { h, ram, vm } = setup('v5.0', 4, opts, true);
    h.step('write qemu ram "host"', () => h.sys.write('qemu', ram, 'host'));
    const fault = vm.guestAccess(0, 0, false, undefined, true);
    h.step('guest read gfn 0: paused after gfn_to_pfn', () => runUntil(fault, PFN_READY));
    h.step('madvise qemu ram 1p dontneed', () => h.sys.madvise('qemu', ram, PAGE, 'dontneed'));
    const r = h.step('guest read gfn 0: resumes', () => runToCompletion(fault));
    h.step('guest write gfn 0 "guest"', () => vm.write(0, 'guest'));
    const host = h.step('read qemu ram', () => h.sys.read('qemu', ram, 5));
    return { h, vm, r, host };
  }

  it('a correct KVM retries the fault that raced an invalidation', () => {
    const { h, vm, r, host } = raceFaultAgainstZap({});
    expect(h.violations).toEqual([]);
    expect(r.ok && [...r.data!.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(text(host.ok ? host.data : undefined)).toBe('guest');
    // one retry for the race, one for the write that COWs the zero page inside its own fault
    expect(vm.stat('retries')).toBe(2);
  });

  it("skip-retry-check: a spte for a dropped page; the guest's write never reaches the host", () => {
    const { h, r, host } = raceFaultAgainstZap({ faultInjection: 'skip-retry-check' });
    expect(r.ok && text(r.data, 4)).toBe('host'); // the guest read the page the host had already dropped
    expect(text(host.ok ? host.data : undefined)).not.toBe('guest');
    expect(h.brokenInvariants()).toEqual(expect.arrayContaining(['coherence', 'stale-write', 'data']));
    const first = h.violations.find((v) => v.invariant === 'coherence')!;
    expect(h.steps[first.step]).toBe('guest read gfn 0: resumes');
    expect(first.agents).toEqual(['kvm:vm1']);
    expect(first.addresses[0]).toMatch(/^mm\d+:0x[0-9a-f]+000$/);
    const report = h.report();
    expect(report).toMatch(/coherence at step \d+ \(guest read gfn 0: resumes\)/);
    expect(report).toMatch(/replay \(kernel v5.0\):\n {2}0: spawn qemu/);
  });

  it('keep-spte-on-start: munmap leaves a spte to a freed page', () => {
    const { h, ram, vm } = setup('v5.0', 4, { faultInjection: 'keep-spte-on-start' }, true);
    h.step('guest write gfn 1 "x"', () => vm.write(1, 'x'));
    h.step('munmap qemu ram+1p 1p', () => h.sys.munmap('qemu', ram + PAGE, PAGE));
    expect(h.brokenInvariants()).toContain('coherence');
    expect(vm.spteFor(1)).toBeDefined();
    h.step('guest write gfn 1 "y"', () => vm.write(1, 'y'));
    expect(h.brokenInvariants()).toContain('stale-write');
  });
});

function pick(c: { zapped: number; updates: number; misses: number }) {
  return { sptes_zapped: c.zapped, change_pte_updates: c.updates, change_pte_misses: c.misses };
}
