/**
 * A fleet of KVM guests booted from one image: the workload of the headline experiment. Each guest is a
 * process (its QEMU) whose anonymous mapping is the guest's RAM, marked MADV_MERGEABLE as QEMU does;
 * the guest writes its image through its vCPU (EPT faults into KVM, GUP, host faults), then ksmd merges
 * the duplicates, then the guests read all their memory and write some of it.
 */
import { PAGE_SIZE } from '../hw/page.js';
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import { World } from '../scenario/world.js';
import { expectSetup } from '../secondary/common.js';
import { type KvmCounter, KvmGuest } from '../secondary/kvm/index.js';

export interface FleetParams {
  guests: number;
  pagesPerGuest: number;
  /** Fraction of each guest's pages that are the common image (the rest are unique to the guest). */
  sharedFraction: number;
  /** Every n-th page is written after the merge. */
  writeEvery: number;
}

export interface FleetPhase {
  /** Counter values at the end of the phase minus at its start, summed over guests for kvm.*. */
  guestFaults: number;
  sptesZapped: number;
  changePteUpdates: number;
  changePteMisses: number;
  retries: number;
  remoteTlbFlushes: number;
}

export interface FleetOutcome {
  kernel: KernelName;
  pagesShared: number;
  pagesSharing: number;
  fullScans: number;
  boot: FleetPhase;
  merge: FleetPhase;
  read: FleetPhase;
  write: FleetPhase;
  notifierStarts: number;
  changePteCalls: number;
  useChangePteRanges: number;
  violations: number;
  world: World;
}

export const DEFAULT_FLEET: FleetParams = {
  guests: 4,
  pagesPerGuest: 4096,
  sharedFraction: 0.75,
  writeEvery: 16,
};

function kvmTotals(w: World): FleetPhase {
  const sum = (field: KvmCounter): number => {
    let s = 0;
    for (const vm of w.secondariesOf(KvmGuest)) s += vm.stat(field);
    return s;
  };
  return {
    guestFaults: sum('faults'),
    sptesZapped: sum('sptes_zapped'),
    changePteUpdates: sum('change_pte_updates'),
    changePteMisses: sum('change_pte_misses'),
    retries: sum('retries'),
    remoteTlbFlushes: sum('remote_tlb_flushes'),
  };
}

function diff(a: FleetPhase, b: FleetPhase): FleetPhase {
  return {
    guestFaults: b.guestFaults - a.guestFaults,
    sptesZapped: b.sptesZapped - a.sptesZapped,
    changePteUpdates: b.changePteUpdates - a.changePteUpdates,
    changePteMisses: b.changePteMisses - a.changePteMisses,
    retries: b.retries - a.retries,
    remoteTlbFlushes: b.remoteTlbFlushes - a.remoteTlbFlushes,
  };
}

export function runFleet(
  kernel: KernelName,
  seed: number,
  p: FleetParams,
  tick?: () => void,
  profileOverrides?: ProfileOverrides,
): FleetOutcome {
  const pages = p.guests * p.pagesPerGuest;
  const w = new World({
    kernel,
    seed,
    ramBytes: (Math.ceil(pages * 1.25) + 4096) * PAGE_SIZE,
    recording: false,
    ksm: { pagesToScan: 1000 },
    profileOverrides,
  });
  const contents = w.kernel.contents;
  const shared = Math.floor(p.pagesPerGuest * p.sharedFraction);
  const vms: KvmGuest[] = [];
  const start = kvmTotals(w);
  for (let g = 0; g < p.guests; g++) {
    const proc = `qemu${g}`;
    w.sys.spawn(proc);
    const size = p.pagesPerGuest * PAGE_SIZE;
    const addr = w.sys.mmap(proc, size, 'rw');
    if (typeof addr === 'string') throw new Error(`mmap for ${proc}: ${addr}`);
    w.sys.madvise(proc, addr, size, 'mergeable');
    const vm = expectSetup(
      w.attach(KvmGuest.create(w.kernel, `vm${g}`, w.task(proc), [{ gfn: 0, addr, size }])),
    );
    vms.push(vm);
    for (let i = 0; i < p.pagesPerGuest; i++) {
      const id = i < shared ? contents.pattern(1, i) : contents.pattern(1000 + g, i);
      vm.write(i, { pages: () => id });
    }
    tick?.();
  }
  const booted = kvmTotals(w);
  w.ksm.runUntilStable();
  const merged = kvmTotals(w);
  tick?.();
  for (const vm of vms) for (let i = 0; i < p.pagesPerGuest; i++) vm.read(i, 8);
  const read = kvmTotals(w);
  vms.forEach((vm, g) => {
    const id = contents.fill(g + 1);
    for (let i = 0; i < p.pagesPerGuest; i += p.writeEvery) vm.write(i, { pages: () => id });
  });
  const written = kvmTotals(w);
  w.checkNow();
  tick?.();
  const c = w.counters;
  return {
    kernel,
    pagesShared: c.get('ksm.pages_shared'),
    pagesSharing: c.get('ksm.pages_sharing'),
    fullScans: c.get('ksm.full_scans'),
    boot: diff(start, booted),
    merge: diff(booted, merged),
    read: diff(merged, read),
    write: diff(read, written),
    notifierStarts: c.get('notifier.invalidate_range_start'),
    changePteCalls: c.get('notifier.change_pte'),
    useChangePteRanges: c.get('notifier.use_change_pte'),
    violations: w.violations.length,
    world: w,
  };
}

export function scaledFleet(scale: number): FleetParams {
  return {
    ...DEFAULT_FLEET,
    pagesPerGuest: Math.max(64, Math.round(DEFAULT_FLEET.pagesPerGuest * scale)),
  };
}
