/**
 * The incremental invariant check (World.checkNow: what changed since the last check) reports exactly
 * what a full sweep (World.checkAll) reports, step by step. Two identical worlds run the same random
 * operations, one checked each way after every step; the model's seeded bug switches, KVM's test-only
 * fault injection and a few direct corruptions through the state accessors (a leaked reference, a pte
 * cleared or made writable behind the kernel's back, bytes scribbled into a frame, a stale TLB entry, a frame
 * ksmd marks a KSM page while a writable pte still maps it) make violations of
 * every invariant appear. The scenario runner's --paranoid mode is compared the same way on the bug
 * catalogue's scenarios under random interleavings.
 */

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUGS } from '../../src/check/bugs.js';
import { PG_KSM } from '../../src/hw/frames.js';
import { mkPte, pteMkwrite, ptePfn, pteSpecial } from '../../src/hw/pte.js';
import type { KernelName, ProfileOverrides } from '../../src/kernel/profiles.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioRun } from '../../src/scenario/run.js';
import { World } from '../../src/scenario/world.js';
import { expectSetup, isSetupError } from '../../src/secondary/common.js';
import { HmmMirror } from '../../src/secondary/hmm/index.js';
import { IommuSva } from '../../src/secondary/iommu/index.js';
import { type KvmFaultInjection, KvmGuest } from '../../src/secondary/kvm/index.js';
import { runCli } from '../cli/run-cli.js';

const PAGE = 4096;
const PAGES = 8;
const PROCS = ['a', 'b'] as const;
type Proc = (typeof PROCS)[number];

type Op =
  | { op: 'write' | 'read'; proc: Proc; page: number; byte: number }
  | { op: 'guest'; vm: 0 | 1; gfn: number; write: boolean; byte: number; vcpu: 0 | 1 }
  | { op: 'dev' | 'dma'; page: number; write: boolean; byte: number }
  | { op: 'fork'; proc: Proc }
  | { op: 'exit-child' }
  | { op: 'mprotect'; proc: Proc; page: number; pages: number; prot: 'r' | 'rw' }
  | { op: 'dontneed' | 'unmergeable' | 'remap'; proc: Proc; page: number; pages: number }
  | { op: 'pin'; proc: Proc; page: number; write: boolean }
  | { op: 'unpin' }
  | { op: 'ksm'; pages: number }
  // corruptions through the accessors: what a broken model path would do
  | {
      op: 'leak' | 'drop-pte' | 'scribble' | 'stale-tlb' | 'mkwrite' | 'ksm-mark';
      proc: Proc;
      page: number;
      byte: number;
    };

const page = fc.integer({ min: 0, max: PAGES - 1 });
const proc = fc.constantFrom<Proc>(...PROCS);
const byte = fc.integer({ min: 1, max: 3 });
const pages = fc.integer({ min: 1, max: 3 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constantFrom('write' as const, 'read' as const), proc, page, byte }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('guest' as const),
      vm: fc.constantFrom<0 | 1>(0, 1),
      gfn: page,
      write: fc.boolean(),
      byte,
      vcpu: fc.constantFrom<0 | 1>(0, 1),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom('dev' as const, 'dma' as const),
      page,
      write: fc.boolean(),
      byte,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fork' as const), proc }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit-child' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('mprotect' as const),
      proc,
      page,
      pages,
      prot: fc.constantFrom<'r' | 'rw'>('r', 'rw'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('dontneed' as const, 'unmergeable' as const, 'remap' as const),
      proc,
      page,
      pages,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pin' as const), proc, page, write: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unpin' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('ksm' as const), pages: fc.integer({ min: 1, max: 40 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom(
        'leak' as const,
        'drop-pte' as const,
        'scribble' as const,
        'stale-tlb' as const,
        'mkwrite' as const,
        'ksm-mark' as const,
      ),
      proc,
      page,
      byte,
    }),
  },
);

interface Setup {
  kernel: KernelName;
  set: ProfileOverrides;
  injection: KvmFaultInjection | undefined;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  kernel: fc.constantFrom<KernelName>('v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'),
  set: fc.constantFrom<ProfileOverrides>(
    {},
    { kvmFaultChecksNotifierRetry: false },
    { clearFlushBeforeChangePte: false },
    { ksmWriteProtectChecksPins: false },
    { kvmChangePteBumpsSeq: false },
    { useChangePteFlagAt: { changeProtection: true } },
  ),
  injection: fc.constantFrom<KvmFaultInjection | undefined>(
    undefined,
    'skip-retry-check',
    'keep-spte-on-start',
  ),
});

/** One world running the operations, checked after every step incrementally or by a full sweep. */
function run(setup: Setup, ops: readonly Op[], full: boolean): string[] {
  const w = new World({
    kernel: setup.kernel,
    recording: false,
    ramBytes: 8 << 20,
    ksm: { pagesToScan: 16 },
    profileOverrides: setup.set,
  });
  w.checker!.maxReports = 1e9; // the cap cuts a sweep short at a point that depends on check order
  const check = (): void => {
    if (full) w.checkAll();
    else w.checkNow();
  };
  const sys = w.sys;
  const k = w.kernel;
  const tasks = PROCS.map((p) => sys.spawn(p));
  const base = PROCS.map((p) => sys.mmap(p, PAGES * PAGE, 'rw') as number);
  for (const [i, p] of PROCS.entries()) sys.madvise(p, base[i], PAGES * PAGE, 'mergeable');
  const vms = tasks.map((t, i) => {
    const g = new KvmGuest(k, `vm${i}`, t, [{ gfn: 0, addr: base[i], size: PAGES * PAGE }], {
      vcpus: 2,
      faultInjection: setup.injection,
    });
    return expectSetup(w.attach(g));
  });
  const dev = expectSetup(w.attach(new HmmMirror(k, 'gpu', w.task('a'))));
  const bound = IommuSva.bindDevice(k, 'nic', w.task('b'));
  const sva = w.attach(bound);
  check();
  const children: string[] = [];
  const pins: string[] = [];
  let forks = 0;
  const addr = (p: Proc, pg: number): number => base[PROCS.indexOf(p)] + pg * PAGE;
  const fill = (b: number) => {
    const id = k.contents.fill(b);
    return { pages: () => id };
  };
  ops.forEach((o, step) => {
    w.violations.step = step;
    switch (o.op) {
      case 'write':
        sys.store(o.proc, addr(o.proc, o.page), PAGE, fill(o.byte));
        break;
      case 'read':
        sys.read(o.proc, addr(o.proc, o.page), 16);
        break;
      case 'guest':
        if (o.write) vms[o.vm].write(o.gfn, fill(o.byte), o.vcpu);
        else vms[o.vm].read(o.gfn, 16, o.vcpu);
        break;
      case 'dev':
        if (o.write) dev.write(addr('a', o.page), fill(o.byte));
        else dev.read(addr('a', o.page), 16);
        break;
      case 'dma':
        if (isSetupError(sva)) break;
        if (o.write) sva.write(addr('b', o.page), fill(o.byte));
        else sva.read(addr('b', o.page), 16);
        break;
      case 'fork': {
        if (forks >= 3) break;
        const name = `c${forks++}`;
        sys.fork(o.proc, name);
        children.push(name);
        break;
      }
      case 'exit-child': {
        const c = children.shift();
        if (c !== undefined) sys.exit(c);
        break;
      }
      case 'mprotect':
        sys.mprotect(o.proc, addr(o.proc, o.page), Math.min(o.pages, PAGES - o.page) * PAGE, o.prot);
        break;
      case 'dontneed':
        sys.madvise(o.proc, addr(o.proc, o.page), Math.min(o.pages, PAGES - o.page) * PAGE, 'dontneed');
        break;
      case 'unmergeable':
        sys.madvise(o.proc, addr(o.proc, o.page), PAGE, 'unmergeable');
        break;
      case 'remap': {
        const at = addr(o.proc, o.page);
        sys.munmap(o.proc, at, PAGE);
        sys.mmap(o.proc, PAGE, 'rw', { at });
        sys.madvise(o.proc, at, PAGE, 'mergeable');
        break;
      }
      case 'pin': {
        const name = `p${step}`;
        if (sys.gup(o.proc, addr(o.proc, o.page), 1, { write: o.write, pin: true, name }) === null)
          pins.push(name);
        break;
      }
      case 'unpin': {
        const name = pins.shift();
        if (name !== undefined) sys.unpin(name);
        break;
      }
      case 'ksm':
        w.ksm.scan(o.pages);
        break;
      default: {
        const mm = w.task(o.proc).mm;
        // the first page from o.page on that maps a frame
        let vpn = -1;
        for (let i = 0; i < PAGES && vpn < 0; i++) {
          const v = addr(o.proc, (o.page + i) % PAGES) / PAGE;
          const p = mm.pt.get(v);
          if (p !== 0 && !pteSpecial(p)) vpn = v;
        }
        if (vpn < 0) break;
        const pte = mm.pt.get(vpn);
        const pfn = ptePfn(pte);
        if (o.op === 'leak') k.getPage(pfn);
        else if (o.op === 'drop-pte') mm.pt.set(vpn, 0);
        else if (o.op === 'mkwrite') mm.pt.set(vpn, pteMkwrite(pte));
        // (not into a KSM page: ksmd itself stops on a stable page whose bytes changed, a ModelBug)
        else if (o.op === 'scribble') {
          if ((k.frames.raw.flags[pfn] & PG_KSM) === 0) k.setContent(pfn, k.contents.fill(o.byte + 8));
        } else if (o.op === 'ksm-mark') {
          // a KSM path that sets PageKsm without write-protecting the mappers first: KSM's state moved, the
          // pte did not (the check must find the writable mapping without being told of its page)
          k.frames.setFlags(pfn, PG_KSM);
          w.ksm.scan(1);
        } else k.machine.tlbs[o.byte % k.machine.tlbs.length].fill(mm.id, vpn, mkPte(pfn + 1, pte % 512));
      }
    }
    check();
  });
  w.violations.step = -1;
  w.checkAll();
  // what snapshots assume of per-frame state, whatever the corruptions did (FrameTable.perFrame)
  expect(k.frames.perFrameArraysClean()).toBe(true);
  return w.violations.list.map((v) => `${v.step} ${v.invariant}: ${v.message}`);
}

describe('incremental invariant checks', () => {
  it('report exactly what a full sweep reports, step by step (fast-check)', () => {
    let violating = 0;
    const kinds = new Set<string>();
    fc.assert(
      fc.property(setupArb, fc.array(opArb, { minLength: 5, maxLength: 50 }), (setup, ops) => {
        const full = run(setup, ops, true);
        expect(run(setup, ops, false)).toEqual(full);
        if (full.length > 0) violating++;
        for (const v of full) kinds.add(v.split(' ')[1]);
      }),
      { numRuns: 300, seed: 14 },
    );
    // the comparison is not vacuous: most runs break something, and every kind of invariant breaks
    expect(violating).toBeGreaterThan(100);
    expect([...kinds].sort()).toEqual([
      'accounting:',
      'coherence:',
      'data:',
      'stale-write:',
      'use-change-pte:',
    ]);
  });

  it('--paranoid and the default report the same on the bug catalogue, interleaved', () => {
    for (const bug of BUGS) {
      const text = readFileSync(bug.scenario, 'utf8');
      const parsed = parseScenario(text, bug.scenario);
      if (!parsed.ok) throw new Error(`${bug.scenario} does not parse`);
      const scenario = parsed.scenario;
      for (let seed = 1; seed <= 6; seed++) {
        const results = [false, true].map((paranoid) =>
          new ScenarioRun(scenario, {
            kernel: bug.kernel,
            interleave: seed,
            profileOverrides: { ...bug.base, ...bug.set },
            paranoid,
          })
            .run()
            .violations.map((v) => `${v.invariant}: ${v.message}`),
        );
        expect(results[0], `${bug.id} seed ${seed}`).toEqual(results[1]);
      }
    }
  });

  it('mmsim run --paranoid prints what the default prints', () => {
    const file = 'examples/08-guest-after-merge-v5.0.yaml';
    const plain = runCli('run', file, '--json');
    expect(plain.code).toBe(0);
    expect(runCli('run', file, '--json', '--paranoid')).toEqual(plain);
    expect(runCli('run', file, '--paranoid', '--explore', '1').code).toBe(2);
  });
});
