/**
 * KVM guests and KSM, per kernel profile: the seed's story. Two VMs fill their memory with the same
 * pages, KSM merges them, the guests read them again — with change_pte alive (v3.2, and the RFC's two
 * variants) the sptes follow the merge, on v5.0 and v6.10 they are zapped and every merged page costs one
 * more EPT violation. Then a guest writes a merged page (COW in the host), and fault-injected KVMs show
 * what the invariants catch, including the security property: no VM writes into memory KSM shares.
 */
import { describe, expect, it } from 'vitest';
import { PG_KSM } from '../../src/hw/frames.js';
import { ptePfn, pteWrite } from '../../src/hw/pte.js';
import type { KernelName, ProfileOverrides } from '../../src/kernel/profiles.js';
import { KvmGuest, type KvmGuestOptions } from '../../src/secondary/kvm/index.js';
import { runToCompletion } from '../../src/sim/exec.js';
import { ALL_KERNELS, Harness, PAGE, runUntil, text } from './harness.js';

const N = 8;
const SEED = 7;
const PFN_READY = 'kvm tdp_page_fault: pfn from gfn_to_pfn, before mmu_lock';
const BEFORE_REPLACE = 'try_to_merge_one_page: page write-protected, before replace_page';

/** Two qemu processes with N mergeable pages each, a guest on each, KSM attached. */
function twoGuests(
  kernel: KernelName,
  opts: { vm?: KvmGuestOptions; expectViolations?: boolean; profile?: ProfileOverrides } = {},
) {
  const h = new Harness(kernel, {
    expectViolations: opts.expectViolations,
    ksm: { pagesToScan: 100 },
    profile: opts.profile,
  });
  const ksm = h.ksm;
  const procs = ['qemu-a', 'qemu-b'].map((p) => h.spawn(p));
  const ram = procs.map((t) => {
    const a = h.step(`mmap ${t.name} ${N}p rw as ram`, () => h.sys.mmap(t.name, N * PAGE, 'rw')) as number;
    h.step(`madvise ${t.name} ram mergeable`, () => h.sys.madvise(t.name, a, N * PAGE, 'mergeable'));
    return a;
  });
  const vms = procs.map((t, i) =>
    h.step(`vm vm${i + 1} on ${t.name}`, () =>
      h.add(new KvmGuest(h.k, `vm${i + 1}`, t, [{ gfn: 0, addr: ram[i], size: N * PAGE }], opts.vm)),
    ),
  );
  const pattern = (i: number) => h.k.contents.pattern(SEED, i);
  const fillGuests = () => {
    for (const vm of vms) {
      for (let g = 0; g < N; g++)
        h.step(`guest ${vm.guestName} write gfn ${g} pattern`, () =>
          vm.write(g, { pages: () => pattern(g) }),
        );
    }
  };
  const readAll = (vm: KvmGuest) => {
    for (let g = 0; g < N; g++) {
      const r = h.step(`guest ${vm.guestName} read gfn ${g}`, () =>
        runToCompletion(vm.guestAccess(0, g, false)),
      );
      expect(r.ok).toBe(true);
      const spte = vm.spteFor(g)!;
      expect(h.k.frames.raw.content[spte.pfn]).toBe(pattern(g));
    }
  };
  return { h, ksm, ram, vms, pattern, fillGuests, readAll };
}

/**
 * Per profile, what one merge of the two guests' pages costs each guest. The guest whose pages KSM makes
 * KSM pages sees one write_protect_page per page; the other sees write_protect_page and replace_page.
 */
const MERGE: Record<
  KernelName,
  { refaults: number; kpageSide: Partial<Counts>; replacedSide: Partial<Counts> }
> = {
  // change_pte alone (no range around it): the spte is made read-only, then re-pointed at the KSM page
  'v3.2': {
    refaults: 0,
    kpageSide: { sptes_zapped: 0, change_pte_updates: N, change_pte_misses: 0 },
    replacedSide: { sptes_zapped: 0, change_pte_updates: 2 * N, change_pte_misses: 0 },
  },
  // start() zaps, so change_pte() finds nothing: every call a miss, one re-fault per merged page
  'v5.0': {
    refaults: N,
    kpageSide: { sptes_zapped: N, change_pte_updates: 0, change_pte_misses: N },
    replacedSide: { sptes_zapped: N, change_pte_updates: 0, change_pte_misses: 2 * N },
  },
  'rfc-2019': {
    refaults: 0,
    kpageSide: { sptes_zapped: 0, change_pte_updates: N, change_pte_misses: 0 },
    replacedSide: { sptes_zapped: 0, change_pte_updates: 2 * N, change_pte_misses: 0 },
  },
  'rfc-2019-aa': {
    refaults: 0,
    kpageSide: { sptes_zapped: 0, change_pte_updates: N, change_pte_misses: 0 },
    replacedSide: { sptes_zapped: 0, change_pte_updates: 2 * N, change_pte_misses: 0 },
  },
  // no change_pte at all: zap and re-fault
  'v6.10': {
    refaults: N,
    kpageSide: { sptes_zapped: N, change_pte_updates: 0, change_pte_misses: 0 },
    replacedSide: { sptes_zapped: N, change_pte_updates: 0, change_pte_misses: 0 },
  },
  'v6.18': {
    refaults: N,
    kpageSide: { sptes_zapped: N, change_pte_updates: 0, change_pte_misses: 0 },
    replacedSide: { sptes_zapped: N, change_pte_updates: 0, change_pte_misses: 0 },
  },
};
type Counts = ReturnType<KvmGuest['stats']>;

describe('KSM merges guest memory', () => {
  it.each(ALL_KERNELS)('%s: guest touches its memory, KSM merges it, guest reads it again', (kernel) => {
    const { h, ksm, vms, fillGuests, readAll } = twoGuests(kernel);
    fillGuests();
    for (const vm of vms) readAll(vm);
    for (const vm of vms) expect(vm.stat('faults')).toBe(N);
    h.step('ksm until stable', () => ksm.runUntilStable());
    expect(h.counter('ksm.pages_shared')).toBe(N);
    expect(h.counter('ksm.pages_sharing')).toBe(N);
    // the other VM's pages became the KSM pages: qemu-b's scanned page is made KSM, qemu-a's replaced
    const [replaced, kpage] = vms;
    const expected = MERGE[kernel];
    expect(kpage.stats()).toMatchObject({ faults: N, retries: 0, ...expected.kpageSide });
    expect(replaced.stats()).toMatchObject({ faults: N, retries: 0, ...expected.replacedSide });
    if (expected.refaults === 0) {
      // the sptes followed the merge: read-only, on the KSM page
      for (let g = 0; g < N; g++) {
        const s = replaced.spteFor(g)!;
        expect(s.writable).toBe(false);
        expect(s.pfn).toBe(kpage.spteFor(g)!.pfn);
        expect(h.k.frames.raw.flags[s.pfn] & PG_KSM).toBe(PG_KSM);
      }
    } else {
      expect(replaced.presentSptes + kpage.presentSptes).toBe(0);
    }
    for (const vm of vms) readAll(vm);
    for (const vm of vms) expect(vm.stats()).toMatchObject({ faults: N + expected.refaults, retries: 0 });
    expect(h.counter('notifier.use_change_pte')).toBe(kernel.startsWith('rfc') ? 3 * N : 0);
    expect(h.validator.misuses).toBe(0);
  });

  it.each(ALL_KERNELS)(
    '%s: a guest write to a merged page COWs in the host; nothing else changes',
    (kernel) => {
      const { h, ksm, ram, vms, pattern, fillGuests, readAll } = twoGuests(kernel);
      fillGuests();
      h.step('ksm until stable', () => ksm.runUntilStable());
      for (const vm of vms) readAll(vm);
      const [vm1, vm2] = vms;
      const kpfn = vm2.spteFor(3)!.pfn;
      const before = vm1.stats();
      expect(h.step('guest vm1 write gfn 3 "hello"', () => vm1.write(3, 'hello')).ok).toBe(true);
      expect(h.counter('faults.ksm_cow')).toBe(1);
      // one EPT violation for the write, one more because its own COW moved the sequence
      expect(vm1.stat('faults') - before.faults).toBe(2);
      expect(vm1.stat('retries') - before.retries).toBe(1);
      const s1 = vm1.spteFor(3)!;
      expect(s1.writable).toBe(true);
      expect(s1.pfn).not.toBe(kpfn);
      expect(ptePfn(vm1.mm.pt.get(ram[0] / PAGE + 3))).toBe(s1.pfn);
      // the KSM page is untouched and still read-only wherever it is mapped
      expect(h.k.frames.raw.content[kpfn]).toBe(pattern(3));
      expect(vm2.spteFor(3)).toEqual({ pfn: kpfn, writable: false, accessed: true });
      expect(pteWrite(vm2.mm.pt.get(ram[1] / PAGE + 3))).toBe(false);
      const a = h.step('read qemu-a ram+3p', () => h.sys.read('qemu-a', ram[0] + 3 * PAGE, 5));
      expect(a.ok && text(a.data)).toBe('hello');
      const g1 = h.step('guest vm1 read gfn 3', () => vm1.read(3, 5));
      expect(g1.ok && text(g1.data)).toBe('hello');
      const g2 = h.step('guest vm2 read gfn 3', () => vm2.read(3));
      expect(g2.ok && h.k.contents.intern(g2.data!.slice())).toBe(pattern(3));
      const b = h.step('read qemu-b ram+3p', () => h.sys.read('qemu-b', ram[1] + 3 * PAGE, PAGE));
      expect(b.ok && h.k.contents.intern(b.data!.slice())).toBe(pattern(3));
      expect(h.violations).toEqual([]);
    },
  );

  it('v5.0: a guest fault holding the page (gfn_to_pfn) keeps KSM from write-protecting it', () => {
    const { h, ksm, ram, vms, pattern } = twoGuests('v5.0');
    h.step('write qemu-a ram pattern', () =>
      h.sys.store('qemu-a', ram[0], PAGE, { pages: () => pattern(0) }),
    );
    h.step('guest vm2 write gfn 0 pattern', () => vms[1].write(0, { pages: () => pattern(0) }));
    const fault = vms[0].guestAccess(0, 0, false);
    h.step('guest vm1 read gfn 0: paused after gfn_to_pfn', () => runUntil(fault, PFN_READY));
    h.step('ksm full scans', () => ksm.runFullScans(3));
    expect(ksm.stats.wpRefusedPinned).toBeGreaterThan(0);
    expect(h.counter('ksm.pages_sharing')).toBe(0);
    h.step('guest vm1 read gfn 0: resumes', () => runToCompletion(fault));
    expect(vms[0].stat('retries')).toBe(1); // write_protect_page's range ran while the fault was out
    h.step('ksm until stable', () => ksm.runUntilStable());
    expect(h.counter('ksm.pages_sharing')).toBe(1);
  });
});

describe('fault injection against KSM', () => {
  /**
   * vm1 read-faults a page KSM has just write-protected and is about to replace: gfn_to_pfn returns the
   * old page, then replace_page re-points the host pte at the KSM page and drops the old one. A correct
   * KVM sees the sequence moved (v5.0: the range end; rfc-2019: change_pte's seq++) and retries.
   */
  function raceFaultAgainstMerge(kernel: KernelName, opts: Parameters<typeof twoGuests>[1]) {
    const t = twoGuests(kernel, { ...opts, expectViolations: true });
    const { h, ksm, ram, vms } = t;
    const vm1 = vms[0];
    // qemu-a's page is written by the host, so vm1 has no spte for it and must fault
    h.step('write qemu-a ram pattern', () =>
      h.sys.store('qemu-a', ram[0], PAGE, { pages: () => t.pattern(0) }),
    );
    h.step('guest vm2 write gfn 0 pattern', () => vms[1].write(0, { pages: () => t.pattern(0) }));
    h.step('ksm full scan (checksums)', () => ksm.runFullScans(1));
    const scan = ksm.doScan(100);
    const midPath = { midPath: true };
    h.step(
      'ksm scan: paused between write_protect_page and replace_page',
      () => runUntil(scan, BEFORE_REPLACE),
      midPath,
    );
    const hva = vm1.gfnToHva(0)!;
    const oldPfn = ptePfn(vm1.mm.pt.get(hva / PAGE));
    expect(pteWrite(vm1.mm.pt.get(hva / PAGE))).toBe(false);
    const fault = vm1.guestAccess(0, 0, false);
    h.step('guest vm1 read gfn 0: paused after gfn_to_pfn', () => runUntil(fault, PFN_READY), midPath);
    h.step('ksm scan: resumes (replace_page)', () => runToCompletion(scan), midPath);
    expect(ptePfn(vm1.mm.pt.get(hva / PAGE))).not.toBe(oldPfn);
    h.step('guest vm1 read gfn 0: resumes', () => runToCompletion(fault));
    return { ...t, oldPfn, hva };
  }

  it('v5.0: a correct KVM retries the fault that raced replace_page', () => {
    const { h, vms } = raceFaultAgainstMerge('v5.0', {});
    expect(h.violations).toEqual([]);
    expect(vms[0].stat('retries')).toBe(1);
    expect(vms[0].spteFor(0)!.pfn).toBe(ptePfn(vms[1].mm.pt.get(vms[1].gfnToHva(0)! / PAGE)));
  });

  it("rfc-2019: with the range skipped, change_pte's seq++ is what makes the fault retry", () => {
    const { h, vms } = raceFaultAgainstMerge('rfc-2019', {});
    expect(h.violations).toEqual([]);
    expect(vms[0].stat('retries')).toBe(1);
  });

  it('rfc-2019 on a KVM whose change_pte no longer bumps the sequence (2021) loses the race', () => {
    const { h, vms, oldPfn } = raceFaultAgainstMerge('rfc-2019', {
      profile: { kvmChangePteBumpsSeq: false },
    });
    expect(vms[0].stat('retries')).toBe(0);
    expect(vms[0].spteFor(0)?.pfn).toBe(oldPfn);
    expect(h.brokenInvariants()).toContain('coherence');
  });

  it('skip-retry-check: the guest keeps the page KSM dropped', () => {
    const { h, vms, oldPfn, hva } = raceFaultAgainstMerge('v5.0', {
      vm: { faultInjection: 'skip-retry-check' },
    });
    expect(vms[0].spteFor(0)?.pfn).toBe(oldPfn);
    expect(h.k.frames.raw.refcount[oldPfn]).toBe(0); // freed: the spte points at a free frame
    expect(h.brokenInvariants()).toContain('coherence');
    const v = h.violations.find((x) => x.invariant === 'coherence')!;
    expect(h.steps[v.step]).toBe('guest vm1 read gfn 0: resumes');
    expect(v.agents).toEqual(['kvm:vm1']);
    expect(v.addresses).toEqual([`mm${vms[0].mm.id}:0x${hva.toString(16)}`]);
  });

  /**
   * The security property. With no change_pte (v6.10) and a KVM that keeps its sptes at start, the
   * guest whose page became the KSM page keeps a writable spte to it: its store lands in memory the
   * other VM's process now maps.
   */
  it('keep-spte-on-start (v6.10): a guest writes into a page KSM shares with another process', () => {
    const { h, ksm, ram, vms, fillGuests, pattern } = twoGuests('v6.10', {
      vm: { faultInjection: 'keep-spte-on-start' },
      expectViolations: true,
    });
    fillGuests();
    h.step('ksm until stable', () => ksm.runUntilStable());
    expect(h.brokenInvariants()).toContain('coherence');
    const evil = vms[1];
    const kpfn = evil.spteFor(0)!.pfn;
    expect(evil.spteFor(0)!.writable).toBe(true);
    expect(h.k.frames.raw.flags[kpfn] & PG_KSM).toBe(PG_KSM);
    h.step('guest vm2 write gfn 0 "evil"', () => evil.write(0, 'evil'));
    const victim = h.step('read qemu-a ram', () => h.sys.read('qemu-a', ram[0], 4));
    expect(victim.ok && text(victim.data)).toBe('evil'); // the breach, as the model shows it
    expect(h.brokenInvariants()).toEqual(expect.arrayContaining(['coherence', 'stale-write', 'data']));
    const stale = h.violations.find((x) => x.invariant === 'stale-write')!;
    expect(h.steps[stale.step]).toBe('guest vm2 write gfn 0 "evil"');
    expect(stale.agents).toEqual(['vm2.vcpu0', 'kvm:vm2']);
    void pattern;
  });

  it('a correct v6.10 KVM: the same writes stay in the writing guest', () => {
    const { h, ksm, ram, vms, fillGuests, pattern } = twoGuests('v6.10');
    fillGuests();
    h.step('ksm until stable', () => ksm.runUntilStable());
    h.step('guest vm2 write gfn 0 "evil"', () => vms[1].write(0, 'evil'));
    const victim = h.step('read qemu-a ram', () => h.sys.read('qemu-a', ram[0], PAGE));
    expect(victim.ok && h.k.contents.intern(victim.data!.slice())).toBe(pattern(0));
    expect(h.violations).toEqual([]);
  });
});
