/**
 * cow-storm: a process whose memory is mirrored by a KVM guest and an HMM device forks, then parent and
 * child write every page (copy-on-write in both directions). The table shows the notifier traffic each
 * kernel generates and what it costs the secondary MMUs.
 */
import { PAGE_SIZE } from '../hw/page.js';
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import { World } from '../scenario/world.js';
import { expectSetup } from '../secondary/common.js';
import { HmmMirror } from '../secondary/hmm/index.js';
import { KvmGuest } from '../secondary/kvm/index.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';

interface StormOutcome {
  kernel: KernelName;
  ranges: number;
  changePte: number;
  guestFaults: number;
  sptesZapped: number;
  devFaults: number;
  devInvalidations: number;
  tlbLocal: number;
  tlbRemote: number;
  violations: number;
}

function storm(
  kernel: KernelName,
  seed: number,
  pages: number,
  profileOverrides?: ProfileOverrides,
): StormOutcome {
  const w = new World({
    kernel,
    seed,
    ramBytes: (pages * 4 + 4096) * PAGE_SIZE,
    recording: false,
    profileOverrides,
  });
  const c = w.counters;
  const contents = w.kernel.contents;
  w.sys.spawn('vmm');
  const size = pages * PAGE_SIZE;
  const addr = w.sys.mmap('vmm', size, 'rw');
  if (typeof addr === 'string') throw new Error(addr);
  const vm = expectSetup(w.attach(KvmGuest.create(w.kernel, 'vm0', w.task('vmm'), [{ gfn: 0, addr, size }])));
  const dev = expectSetup(w.attach(new HmmMirror(w.kernel, 'gpu0', w.task('vmm'))));
  for (let i = 0; i < pages; i++) {
    const id = contents.pattern(7, i);
    w.sys.store('vmm', addr + i * PAGE_SIZE, PAGE_SIZE, { pages: () => id });
  }
  for (let i = 0; i < pages; i++) {
    vm.read(i);
    dev.read(addr + i * PAGE_SIZE);
  }
  const before = c.snapshot();
  w.sys.fork('vmm', 'child');
  const childId = contents.fill(0xc);
  const parentId = contents.fill(0xa);
  for (let i = 0; i < pages; i++)
    w.sys.store('child', addr + i * PAGE_SIZE, PAGE_SIZE, { pages: () => childId });
  for (let i = 0; i < pages; i++)
    w.sys.store('vmm', addr + i * PAGE_SIZE, PAGE_SIZE, { pages: () => parentId });
  for (let i = 0; i < pages; i++) {
    vm.read(i);
    dev.read(addr + i * PAGE_SIZE);
  }
  w.checkNow();
  const d = (name: string): number => c.get(name) - (before[name] ?? 0);
  return {
    kernel,
    ranges: d('notifier.invalidate_range_start'),
    changePte: d('notifier.change_pte'),
    guestFaults: d('kvm.vm0.faults'),
    sptesZapped: d('kvm.vm0.sptes_zapped'),
    devFaults: d('dev.gpu0.faults'),
    devInvalidations: d('dev.gpu0.invalidations'),
    tlbLocal: d('tlb.flush_local'),
    tlbRemote: d('tlb.flush_remote'),
    violations: w.violations.length,
  };
}

export const cowStorm: Experiment = {
  name: 'cow-storm',
  description: 'fork + copy-on-write with a guest and a device mirror: notifier traffic per kernel',
  defaultKernels: ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'],
  run(opts: ExperimentOptions): ExperimentResult {
    const pages = Math.max(16, Math.round(2048 * opts.scale));
    let done = 0;
    const outcomes = opts.kernels.map((k) => {
      const o = storm(k, opts.seed, pages, opts.profileOverrides);
      opts.progress?.(++done, opts.kernels.length);
      return o;
    });
    const columns = [
      { header: 'kernel' },
      { header: 'ranges', align: 'right' as const },
      { header: 'change\n_pte', align: 'right' as const },
      { header: 'guest\nfaults', align: 'right' as const },
      { header: 'sptes\nzapped', align: 'right' as const },
      { header: 'dev\nfaults', align: 'right' as const },
      { header: 'dev\ninvals', align: 'right' as const },
      { header: 'TLB flush\nlocal/remote', align: 'right' as const },
      { header: 'viola-\ntions', align: 'right' as const },
    ];
    const rows = outcomes.map((o) => [
      o.kernel,
      o.ranges,
      o.changePte,
      o.guestFaults,
      o.sptesZapped,
      o.devFaults,
      o.devInvalidations,
      `${o.tlbLocal}/${o.tlbRemote}`,
      o.violations,
    ]);
    const violations = outcomes.reduce((a, o) => a + o.violations, 0);
    return {
      name: 'cow-storm',
      title: `cow-storm: fork, then ${pages} pages written by parent and child`,
      summary:
        'One process is mirrored by a KVM guest (vm0) and an HMM device (gpu0). It forks; the child, then the parent, write every page. Counts are from fork to the end, after guest and device read everything again.',
      columns,
      rows,
      records: outcomes.map((o) => ({ ...o })),
      notes: [
        'fork write-protects the parent inside one PROTECTION_PAGE range per vma; every COW is then one CLEAR range with change_pte (none on v6.10). The guest and the device lose their translations and fault back in.',
      ],
      chart: {
        title: 'cow-storm: notifier traffic per kernel',
        categories: outcomes.map((o) => o.kernel),
        series: [
          { name: 'invalidation ranges', values: outcomes.map((o) => o.ranges) },
          { name: 'change_pte calls', values: outcomes.map((o) => o.changePte) },
          { name: 'guest faults', values: outcomes.map((o) => o.guestFaults) },
          { name: 'device faults', values: outcomes.map((o) => o.devFaults) },
        ],
      },
      violations,
    };
  },
};
