/**
 * Random mixes of process, guest and device operations and KSM scans on every kernel profile: after
 * every step invariants 1-5 hold. A failure shrinks to a short list of operations — the replayable
 * trace — and the harness's report names the invariant, the step, the agents and the addresses.
 */

import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { KernelName } from '../../src/kernel/profiles.js';
import { isSetupError } from '../../src/secondary/common.js';
import { HmmMirror } from '../../src/secondary/hmm/index.js';
import { IommuSva } from '../../src/secondary/iommu/index.js';
import { KvmGuest } from '../../src/secondary/kvm/index.js';
import { ALL_KERNELS, fill, Harness, PAGE } from './harness.js';

const PAGES = 8;
const PROCS = ['a', 'b'] as const;
type Proc = (typeof PROCS)[number];

type Op =
  | { op: 'write'; proc: Proc; page: number; byte: number }
  | { op: 'read'; proc: Proc; page: number }
  | { op: 'guest'; vm: 0 | 1; gfn: number; write: boolean; byte: number; vcpu: 0 | 1 }
  | { op: 'dev'; page: number; write: boolean; byte: number }
  | { op: 'dma'; page: number; write: boolean; byte: number }
  | { op: 'fork'; proc: Proc }
  | { op: 'exit-child' }
  | { op: 'mprotect'; proc: Proc; page: number; pages: number; prot: 'r' | 'rw' }
  | { op: 'dontneed'; proc: Proc; page: number; pages: number }
  | { op: 'remap'; proc: Proc; page: number }
  | { op: 'ksm'; pages: number }
  | { op: 'unmergeable'; proc: Proc; page: number };

const page = fc.integer({ min: 0, max: PAGES - 1 });
const proc = fc.constantFrom<Proc>(...PROCS);
const byte = fc.integer({ min: 1, max: 3 }); // few distinct contents, so pages often become identical

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), proc, page, byte }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), proc, page }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('guest' as const),
      vm: fc.constantFrom<0 | 1>(0, 1),
      gfn: page,
      write: fc.boolean(),
      byte,
      vcpu: fc.constantFrom<0 | 1>(0, 1),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('dev' as const), page, write: fc.boolean(), byte }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('dma' as const), page, write: fc.boolean(), byte }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fork' as const), proc }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit-child' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('mprotect' as const),
      proc,
      page,
      pages: fc.integer({ min: 1, max: 3 }),
      prot: fc.constantFrom<'r' | 'rw'>('r', 'rw'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('dontneed' as const),
      proc,
      page,
      pages: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remap' as const), proc, page }) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('ksm' as const), pages: fc.integer({ min: 1, max: 40 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unmergeable' as const), proc, page }) },
);

function describeOp(o: Op): string {
  return JSON.stringify(o);
}

/** Build the machine, run the operations one step each; the harness throws on any violation. */
function run(kernel: KernelName, ops: Op[]): void {
  const h = new Harness(kernel, { recording: false, ramBytes: 8 * 1024 * 1024, ksm: { pagesToScan: 16 } });
  const ksm = h.ksm;
  const tasks = PROCS.map((p) => h.spawn(p));
  const base = PROCS.map(
    (p) => h.step(`mmap ${p} ${PAGES}p rw`, () => h.sys.mmap(p, PAGES * PAGE, 'rw')) as number,
  );
  PROCS.forEach((p, i) => {
    h.step(`madvise ${p} mergeable`, () => h.sys.madvise(p, base[i], PAGES * PAGE, 'mergeable'));
  });
  const vms = tasks.map((t, i) =>
    h.step(`vm vm${i} on ${t.name}`, () =>
      h.add(new KvmGuest(h.k, `vm${i}`, t, [{ gfn: 0, addr: base[i], size: PAGES * PAGE }], { vcpus: 2 })),
    ),
  );
  const dev = h.step('device gpu on a', () => h.add(new HmmMirror(h.k, 'gpu', tasks[0])));
  const sva = h.step('iommu nic on b', () => IommuSva.bindDevice(h.k, 'nic', tasks[1]));
  if (!isSetupError(sva)) h.add(sva);
  const children: string[] = [];
  let forks = 0;
  const addr = (p: Proc, pg: number): number => base[PROCS.indexOf(p)] + pg * PAGE;
  for (const o of ops) {
    h.step(describeOp(o), () => {
      switch (o.op) {
        case 'write':
          h.sys.store(o.proc, addr(o.proc, o.page), PAGE, fill(h, o.byte));
          return;
        case 'read':
          h.sys.read(o.proc, addr(o.proc, o.page), 16);
          return;
        case 'guest':
          if (o.write) vms[o.vm].write(o.gfn, fill(h, o.byte), o.vcpu);
          else vms[o.vm].read(o.gfn, 16, o.vcpu);
          return;
        case 'dev':
          if (o.write) dev.write(addr('a', o.page), fill(h, o.byte));
          else dev.read(addr('a', o.page), 16);
          return;
        case 'dma':
          if (isSetupError(sva)) return;
          if (o.write) sva.write(addr('b', o.page), fill(h, o.byte));
          else sva.read(addr('b', o.page), 16);
          return;
        case 'fork': {
          if (forks >= 3) return;
          const name = `c${forks++}`;
          h.sys.fork(o.proc, name);
          children.push(name);
          return;
        }
        case 'exit-child': {
          const c = children.shift();
          if (c !== undefined) h.sys.exit(c);
          return;
        }
        case 'mprotect':
          h.sys.mprotect(o.proc, addr(o.proc, o.page), Math.min(o.pages, PAGES - o.page) * PAGE, o.prot);
          return;
        case 'dontneed':
          h.sys.madvise(o.proc, addr(o.proc, o.page), Math.min(o.pages, PAGES - o.page) * PAGE, 'dontneed');
          return;
        case 'remap': {
          const at = addr(o.proc, o.page);
          h.sys.munmap(o.proc, at, PAGE);
          h.sys.mmap(o.proc, PAGE, 'rw', { at });
          h.sys.madvise(o.proc, at, PAGE, 'mergeable');
          return;
        }
        case 'ksm':
          ksm.scan(o.pages);
          return;
        case 'unmergeable':
          h.sys.madvise(o.proc, addr(o.proc, o.page), PAGE, 'unmergeable');
          return;
      }
    });
  }
  // Sean Christopherson's 2021 observation, as a property: when start() zaps, change_pte is dead code
  const p = h.k.profile;
  if (p.wrapChangePteInRange && p.kvmUseChangePte === 'ignore') {
    for (const vm of vms)
      if (vm.stat('change_pte_updates') !== 0) throw new Error(`${vm.name}: change_pte found a live spte`);
  }
}

describe('random process, guest and device operations keep every invariant', () => {
  it.each(ALL_KERNELS)('%s', (kernel) => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 60 }), (ops) => {
        run(kernel, ops);
      }),
      { numRuns: 80, seed: 20190131 },
    );
  });
});
