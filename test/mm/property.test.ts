/**
 * Property test (issue 2, docs/INVARIANTS.md items 3 and 4): random sequences of mmap, munmap, mprotect,
 * madvise(DONTNEED), fork, exit, read, write, gup/unpin (and, on v6.10, DMA writes through write pins)
 * over several processes. After every step the invariant checker sweeps coherence, data and accounting;
 * independently, a reference model (the bytes each process last wrote at each address) predicts every
 * access's outcome and bytes. When every process has exited, no frame (and no content) is left.
 * fast-check shrinks a failure to a minimal sequence of op records.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pteMkwrite } from '../../src/hw/pte.js';
import type { KernelName } from '../../src/kernel/profiles.js';
import type { AccessOutcome } from '../../src/mm/access.js';
import { type GupResult, getUserPages, putUserPages } from '../../src/mm/gup.js';
import { MmSystem } from '../../src/mm/system.js';
import { InvariantChecker } from '../../src/notifier/invariants.js';
import { UseChangePteValidator } from '../../src/notifier/validator.js';
import { Violations } from '../../src/notifier/violations.js';
import { runToCompletion } from '../../src/sim/exec.js';
import { dmaWrite, PAGE } from './helpers.js';

// ---- the op records fast-check generates (indices are taken modulo what exists, so shrinking keeps them valid) ----

type ProtName = 'rw' | 'r' | 'w' | 'none' | 'rwx' | 'x';
type Op =
  | { op: 'spawn' }
  | { op: 'mmap'; p: number; pages: number; prot: ProtName; shared: boolean }
  | { op: 'munmap'; p: number; r: number; first: number; count: number }
  | { op: 'dontneed'; p: number; r: number; first: number; count: number }
  | { op: 'mprotect'; p: number; r: number; first: number; count: number; prot: ProtName }
  | { op: 'fork' | 'exit'; p: number }
  | { op: 'read'; p: number; r: number; page: number; off: number; len: number }
  | { op: 'write'; p: number; r: number; page: number; off: number; len: number; seed: number }
  | { op: 'gup'; p: number; r: number; page: number; count: number; write: boolean; pin: boolean }
  | { op: 'unpin'; i: number }
  | { op: 'dma'; i: number; page: number; off: number; len: number; seed: number };

const proc = fc.nat(7);
const region = fc.nat(7);
const protArb = fc.constantFrom<ProtName>('rw', 'rw', 'rw', 'rw', 'r', 'w', 'none', 'rwx', 'x');
/** A page of a mapping: 0..8 pick a page inside it (modulo its size), 9 the page just past its end. */
const pageArb = fc.nat(9);
const offArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 4095 }) },
  { weight: 1, arbitrary: fc.integer({ min: 4000, max: 4095 }) },
);
const lenArb = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 300 }), fc.constant(4096));

function opArb(withDma: boolean): fc.Arbitrary<Op> {
  const range = { p: proc, r: region, first: pageArb, count: fc.integer({ min: 1, max: 3 }) };
  const arbs: fc.WeightedArbitrary<Op>[] = [
    { weight: 1, arbitrary: fc.constant({ op: 'spawn' as const }) },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('mmap' as const),
        p: proc,
        pages: fc.integer({ min: 1, max: 4 }),
        prot: protArb,
        shared: fc.nat(3).map((x) => x === 0),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('munmap' as const), ...range }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('dontneed' as const), ...range }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('mprotect' as const), ...range, prot: protArb }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('fork' as const), p: proc }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), p: proc }) },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('read' as const),
        p: proc,
        r: region,
        page: pageArb,
        off: offArb,
        len: lenArb,
      }),
    },
    {
      weight: 10,
      arbitrary: fc.record({
        op: fc.constant('write' as const),
        p: proc,
        r: region,
        page: pageArb,
        off: offArb,
        len: lenArb,
        seed: fc.nat(255),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('gup' as const),
        p: proc,
        r: region,
        page: pageArb,
        count: fc.integer({ min: 1, max: 2 }),
        write: fc.nat(3).map((x) => x > 0),
        pin: fc.nat(3).map((x) => x > 0),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('unpin' as const), i: fc.nat(7) }) },
  ];
  if (withDma) {
    arbs.push({
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('dma' as const),
        i: fc.nat(7),
        page: fc.nat(2),
        off: offArb,
        len: fc.integer({ min: 1, max: 64 }),
        seed: fc.nat(255),
      }),
    });
  }
  return fc.oneof(...arbs);
}

// ---- the reference model ----

interface ShmObj {
  pages: Map<number, Uint8Array>;
}

interface RefPage {
  prot: ProtName;
  shm: { obj: ShmObj; index: number } | null;
  /** Private bytes (null: never written, or dropped — reads as zeroes). */
  data: Uint8Array | null;
}

interface RefProc {
  name: string;
  pages: Map<number, RefPage>;
  /** Mappings as created (start address, pages); kept after munmap so accesses there are tried too. */
  regions: { start: number; pages: number }[];
}

interface RefPin {
  proc: string;
  write: boolean;
  vpns: number[];
  result: GupResult;
  /** The pinning process still maps these pages as pinned (v6.10's promise); DMA is tried only then. */
  attached: boolean;
}

const canAccess = (prot: ProtName, write: boolean): boolean => (write ? prot.includes('w') : prot !== 'none');
const gupAllowed = (prot: ProtName, write: boolean): boolean => prot.includes(write ? 'w' : 'r');

function pageBytes(pg: RefPage): Uint8Array | undefined {
  return pg.shm !== null ? pg.shm.obj.pages.get(pg.shm.index) : (pg.data ?? undefined);
}

function writable(pg: RefPage): Uint8Array {
  if (pg.shm !== null) {
    let b = pg.shm.obj.pages.get(pg.shm.index);
    if (b === undefined) pg.shm.obj.pages.set(pg.shm.index, (b = new Uint8Array(PAGE)));
    return b;
  }
  pg.data ??= new Uint8Array(PAGE);
  return pg.data;
}

function pattern(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  // mostly varied bytes; seed 0 writes zeroes and seeds below 8 one repeated byte (fill pages)
  for (let i = 0; i < len; i++) out[i] = seed === 0 ? 0 : seed < 8 ? seed : (seed * 7 + i * 13) & 255;
  return out;
}

interface RunOptions {
  kernel: KernelName;
  frames: number;
  /** RAM is tight: allocation may fail with ENOMEM, and writes stay within one page. */
  tight: boolean;
  /** Collect how often each op ran, and (at the end) the kernel's counters. */
  stats?: Map<string, number>;
}

/** Run one sequence; throws (through expect) at the first disagreement. */
function runSequence(ops: readonly Op[], o: RunOptions): void {
  const sys = new MmSystem({ kernel: o.kernel, ramBytes: o.frames * PAGE, cpus: 2, recording: false });
  const k = sys.kernel;
  const pins: RefPin[] = [];
  const pinnedRefs = (): Map<number, number> => {
    const m = new Map<number, number>();
    for (const p of pins) for (const pfn of p.result.pfns) m.set(pfn, (m.get(pfn) ?? 0) + p.result.refs);
    return m;
  };
  const violations = new Violations(k);
  const checker = new InvariantChecker(k, { secondaries: () => [], pinnedRefs }, violations);
  k.observers.push(violations, checker, new UseChangePteValidator(k, violations));
  const procs: RefProc[] = [];
  let nextName = 0;
  const spawn = (): void => {
    const name = `p${nextName++}`;
    sys.spawn(name);
    procs.push({ name, pages: new Map(), regions: [] });
  };
  spawn();

  const enomemOk = (what: string): void => {
    if (!o.tight) throw new Error(`${what}: ENOMEM with ample RAM`);
    count(o, 'ENOMEM');
  };
  const detach = (name: string, fromVpn: number, toVpn: number): void => {
    for (const pin of pins)
      if (pin.proc === name && pin.vpns.some((v) => v >= fromVpn && v < toVpn)) pin.attached = false;
  };
  /** Resolve (p, r, page) to a process and an address (regions may have been unmapped since). */
  const target = (p: number, r: number, page: number): { rp: RefProc; address: number } | undefined => {
    if (procs.length === 0) return undefined;
    const rp = procs[p % procs.length];
    if (rp.regions.length === 0) return undefined;
    const reg = rp.regions[r % rp.regions.length];
    return { rp, address: reg.start + (page < 9 ? page % reg.pages : reg.pages) * PAGE };
  };

  const step = (op: Op): void => {
    switch (op.op) {
      case 'spawn':
        spawn();
        return;
      case 'mmap': {
        if (procs.length === 0) return;
        const rp = procs[op.p % procs.length];
        const r = sys.mmap(rp.name, op.pages * PAGE, op.prot, { shared: op.shared });
        if (typeof r !== 'number') throw new Error(`mmap failed: ${r}`);
        expect(r % PAGE).toBe(0);
        const obj: ShmObj | null = op.shared ? { pages: new Map() } : null;
        for (let i = 0; i < op.pages; i++) {
          const vpn = r / PAGE + i;
          expect(rp.pages.has(vpn), 'mmap returned an address already mapped').toBe(false);
          rp.pages.set(vpn, { prot: op.prot, shm: obj === null ? null : { obj, index: i }, data: null });
        }
        rp.regions.push({ start: r, pages: op.pages });
        return;
      }
      case 'munmap':
      case 'dontneed':
      case 'mprotect': {
        const t = target(op.p, op.r, op.first);
        if (t === undefined) return;
        const { rp, address } = t;
        const vpn0 = address / PAGE;
        const vpns = Array.from({ length: op.count }, (_, i) => vpn0 + i);
        if (op.op === 'munmap') {
          expect(sys.munmap(rp.name, address, op.count * PAGE)).toBeNull();
          for (const v of vpns) rp.pages.delete(v);
        } else if (op.op === 'dontneed') {
          // the mapped pages are dropped; any hole makes it ENOMEM
          const all = vpns.every((v) => rp.pages.has(v));
          expect(sys.madvise(rp.name, address, op.count * PAGE, 'dontneed')).toBe(all ? null : 'ENOMEM');
          for (const v of vpns) {
            const pg = rp.pages.get(v);
            if (pg !== undefined && pg.shm === null) pg.data = null;
          }
        } else {
          // pages change in address order until the first hole, which is ENOMEM
          const all = vpns.every((v) => rp.pages.has(v));
          expect(sys.mprotect(rp.name, address, op.count * PAGE, op.prot)).toBe(all ? null : 'ENOMEM');
          for (const v of vpns) {
            const pg = rp.pages.get(v);
            if (pg === undefined) break;
            pg.prot = op.prot;
          }
        }
        detach(rp.name, vpn0, vpn0 + op.count);
        return;
      }
      case 'fork': {
        if (procs.length === 0 || procs.length >= 8) return;
        const parent = procs[op.p % procs.length];
        const name = `p${nextName++}`;
        const r = sys.fork(parent.name, name);
        if (typeof r === 'string') {
          expect(r).toBe('ENOMEM');
          enomemOk('fork');
          expect(k.tasks.has(name)).toBe(false);
          return;
        }
        const pages = new Map<number, RefPage>();
        for (const [vpn, pg] of parent.pages)
          pages.set(vpn, { ...pg, data: pg.data === null ? null : pg.data.slice() });
        procs.push({ name, pages, regions: parent.regions.map((x) => ({ ...x })) });
        return;
      }
      case 'exit': {
        if (procs.length === 0) return;
        const i = op.p % procs.length;
        const rp = procs[i];
        for (let j = pins.length - 1; j >= 0; j--) {
          if (pins[j].proc === rp.name) {
            putUserPages(k, pins[j].result);
            pins.splice(j, 1);
          }
        }
        sys.exit(rp.name);
        procs.splice(i, 1);
        return;
      }
      case 'read': {
        const t = target(op.p, op.r, op.page);
        if (t === undefined) return;
        const { rp } = t;
        const address = t.address + op.off;
        const got = sys.read(rp.name, address, op.len);
        const want = new Uint8Array(op.len);
        let fault = false;
        for (let done = 0; done < op.len; ) {
          const a = address + done;
          const chunk = Math.min(PAGE - (a % PAGE), op.len - done);
          const pg = rp.pages.get(Math.floor(a / PAGE));
          if (pg === undefined || !canAccess(pg.prot, false)) {
            fault = true;
            break;
          }
          const b = pageBytes(pg);
          if (b !== undefined) want.set(b.subarray(a % PAGE, (a % PAGE) + chunk), done);
          done += chunk;
        }
        // a shared page is allocated on first touch: with tight RAM that may fail before any SIGSEGV
        if (!got.ok && got.error === 'ENOMEM') enomemOk('read');
        else if (fault) expect(got).toEqual({ ok: false, error: 'SIGSEGV' });
        else expectBytes(got, want, `${rp.name} read ${op.len} at 0x${address.toString(16)}`);
        return;
      }
      case 'write': {
        const t = target(op.p, op.r, op.page);
        if (t === undefined) return;
        const { rp } = t;
        const address = t.address + (op.len === 4096 ? 0 : op.off);
        const len = o.tight ? Math.min(op.len, PAGE - (address % PAGE)) : op.len;
        const bytes = pattern(op.seed, len);
        const got = sys.write(rp.name, address, bytes);
        if (!got.ok && got.error === 'ENOMEM') {
          enomemOk('write'); // within one page: nothing was stored
          return;
        }
        let fault = false;
        for (let done = 0; done < len; ) {
          const a = address + done;
          const chunk = Math.min(PAGE - (a % PAGE), len - done);
          const pg = rp.pages.get(Math.floor(a / PAGE));
          if (pg === undefined || !canAccess(pg.prot, true)) {
            fault = true; // the pages before this one were stored
            break;
          }
          writable(pg).set(bytes.subarray(done, done + chunk), a % PAGE);
          done += chunk;
        }
        expect(got).toEqual(fault ? { ok: false, error: 'SIGSEGV' } : { ok: true });
        count(o, fault ? 'write:SIGSEGV' : 'write:ok');
        return;
      }
      case 'gup': {
        const t = target(op.p, op.r, op.page);
        if (t === undefined) return;
        const { rp, address } = t;
        const task = sys.task(rp.name);
        const r = runToCompletion(getUserPages(k, task.agent, task.mm, address, op.count, op));
        const vpns = Array.from({ length: op.count }, (_, i) => address / PAGE + i);
        const ok = vpns.every((v) => {
          const pg = rp.pages.get(v);
          return pg !== undefined && gupAllowed(pg.prot, op.write);
        });
        if (r === 'ENOMEM') {
          enomemOk('gup');
          return;
        }
        if (!ok) {
          expect(r).toBe('EFAULT');
          count(o, 'gup:EFAULT');
          return;
        }
        if (typeof r === 'string') throw new Error(`gup: ${r}, expected success`);
        expect(r.pfns.length).toBe(op.count);
        pins.push({ proc: rp.name, write: op.write, vpns, result: r, attached: op.write && op.pin });
        return;
      }
      case 'unpin': {
        if (pins.length === 0) return;
        const [pin] = pins.splice(op.i % pins.length, 1);
        putUserPages(k, pin.result);
        return;
      }
      case 'dma': {
        const live = pins.filter((p) => p.attached);
        if (live.length === 0) return;
        const pin = live[op.i % live.length];
        const j = op.page % pin.vpns.length;
        const rp = procs.find((p) => p.name === pin.proc)!;
        const pg = rp.pages.get(pin.vpns[j])!;
        const off = Math.min(op.off, PAGE - op.len);
        const bytes = pattern(op.seed, op.len);
        count(o, 'dma:done');
        dmaWrite(k, 'dev0', sys.task(rp.name).mm, pin.vpns[j] * PAGE + off, pin.result.pfns[j], bytes);
        writable(pg).set(bytes, off);
        return;
      }
    }
  };

  const assertClean = (where: string): void => {
    checker.checkNow();
    if (violations.length > 0) {
      const v = violations.list[0];
      throw new Error(`${where}: ${v.invariant}: ${v.message}`);
    }
  };

  ops.forEach((op, i) => {
    step(op);
    count(o, op.op);
    assertClean(`after op ${i} ${JSON.stringify(op)}`);
  });

  // every mapped page of every process reads back what the reference holds
  for (const rp of procs) {
    for (const [vpn, pg] of rp.pages) {
      if (!canAccess(pg.prot, false)) continue;
      const got = sys.read(rp.name, vpn * PAGE, PAGE);
      if (!got.ok && got.error === 'ENOMEM') {
        enomemOk('final read');
        continue;
      }
      expectBytes(
        got,
        pageBytes(pg) ?? new Uint8Array(PAGE),
        `${rp.name} final read of 0x${(vpn * PAGE).toString(16)}`,
      );
    }
  }
  assertClean('after the final reads');

  if (o.stats)
    for (const [name, v] of Object.entries(k.counters.snapshot()))
      o.stats.set(name, (o.stats.get(name) ?? 0) + v);
  // when every mm has gone (and every pin with it), no frame and no content is left
  while (procs.length > 0) step({ op: 'exit', p: 0 });
  expect(pins.length).toBe(0);
  assertClean('after every exit');
  expect(k.frames.used, 'frames leaked').toBe(0);
  expect(k.mms.size).toBe(0);
  k.contents.clearMemo();
  expect(k.contents.explicitCount, 'contents leaked').toBe(0);
}

function count(o: RunOptions, what: string): void {
  o.stats?.set(what, (o.stats.get(what) ?? 0) + 1);
}

function expectBytes(got: AccessOutcome, want: Uint8Array, what: string): void {
  if (!got.ok) throw new Error(`${what}: ${got.error}, expected data`);
  const d = got.data!;
  for (let i = 0; i < want.length; i++) {
    if (d[i] !== want[i]) throw new Error(`${what}: byte ${i} is ${d[i]}, the reference says ${want[i]}`);
  }
  expect(d.length).toBe(want.length);
}

/** A run: a first mapping (so most ops have something to act on), then up to `max` ops of any kind. */
const seqArb = (withDma: boolean, max = 40): fc.Arbitrary<Op[]> =>
  fc
    .tuple(
      fc.record({
        op: fc.constant('mmap' as const),
        p: fc.constant(0),
        pages: fc.integer({ min: 1, max: 4 }),
        prot: protArb,
        shared: fc.nat(3).map((x) => x === 0),
      }),
      fc.array(opArb(withDma), { minLength: 1, maxLength: max, size: 'max' }),
    )
    .map(([first, rest]) => [first as Op, ...rest]);

describe('property: random mm operations keep data and accounting', () => {
  it('v5.0, ample RAM: 1,000 runs', () => {
    fc.assert(
      fc.property(seqArb(false), (ops) => runSequence(ops, { kernel: 'v5.0', frames: 1024, tight: false })),
      { numRuns: 1000 },
    );
  });

  it('v6.10, ample RAM, with DMA writes through write pins: 500 runs', () => {
    fc.assert(
      fc.property(seqArb(true), (ops) => runSequence(ops, { kernel: 'v6.10', frames: 1024, tight: false })),
      { numRuns: 500 },
    );
  });

  it('v5.0 and v6.10 with 8 frames of RAM: ENOMEM is reported and nothing leaks: 300 runs each', () => {
    for (const kernel of ['v5.0', 'v6.10'] as const) {
      fc.assert(
        fc.property(seqArb(kernel === 'v6.10'), (ops) =>
          runSequence(ops, { kernel, frames: 8, tight: true }),
        ),
        { numRuns: 300 },
      );
    }
  });

  it('the generator reaches every path: COW copies and reuses, SIGSEGV, EFAULT, ENOMEM, DMA', () => {
    const stats = new Map<string, number>();
    const run = (kernel: KernelName, frames: number, tight: boolean): void => {
      for (const ops of fc.sample(seqArb(kernel === 'v6.10'), { numRuns: 150, seed: 3 }))
        runSequence(ops, { kernel, frames, tight, stats });
    };
    run('v5.0', 1024, false);
    run('v6.10', 1024, false);
    run('v6.10', 8, true);
    run('v5.0', 8, true);
    const expected = [
      'faults.anon_read_zero',
      'faults.anon_write',
      'faults.cow_copy',
      'faults.cow_reuse',
      'faults.shmem_read',
      'faults.shmem_write',
      'faults.sigsegv',
      'write:ok',
      'write:SIGSEGV',
      'gup:EFAULT',
      'ENOMEM',
      'dma:done',
      'fork',
      'exit',
      'munmap',
      'dontneed',
      'mprotect',
      'unpin',
      'spawn',
    ];
    for (const name of expected) expect(stats.get(name) ?? 0, name).toBeGreaterThan(5);
    expect(stats.get('write:ok')!).toBeGreaterThan(stats.get('write:SIGSEGV')!);
  });

  it('the property fails (and shrinks) when the model is broken: a lost COW is caught', () => {
    // Sabotage: fork forgets to write-protect the parent, so parent and child write one shared page.
    const broken = (ops: Op[]): boolean => {
      try {
        runSequence(ops, { kernel: 'v5.0', frames: 1024, tight: false });
        return true;
      } catch {
        return false;
      }
    };
    const seq: Op[] = [
      { op: 'mmap', p: 0, pages: 1, prot: 'rw', shared: false },
      { op: 'write', p: 0, r: 0, page: 0, off: 0, len: 4, seed: 100 },
      { op: 'fork', p: 0 },
      { op: 'write', p: 0, r: 0, page: 0, off: 0, len: 4, seed: 200 },
      { op: 'read', p: 1, r: 0, page: 0, off: 0, len: 4 },
    ];
    expect(broken(seq)).toBe(true);
    // the same sequence against a sabotaged kernel (the parent's write lands in the frame the child maps)
    const orig = MmSystem.prototype.fork;
    MmSystem.prototype.fork = function (this: MmSystem, p: string, c: string) {
      const r = orig.call(this, p, c);
      // undo the write-protection: make the parent's ptes writable again behind the kernel's back
      const mm = this.task(p).mm;
      for (const v of mm.vmas)
        mm.pt.forEachMapped(v.start / PAGE, v.end / PAGE, (vpn, pte) => {
          mm.pt.set(vpn, pteMkwrite(pte));
        });
      return r;
    };
    try {
      expect(broken(seq)).toBe(false);
      const out = fc.check(
        fc.property(seqArb(false), (ops) => runSequence(ops, { kernel: 'v5.0', frames: 1024, tight: false })),
        { numRuns: 500, seed: 7 },
      );
      expect(out.failed).toBe(true);
      // shrinking leaves a short counterexample: map, write, fork, write in the parent (or similar)
      expect(out.counterexample![0].length).toBeLessThanOrEqual(8);
    } finally {
      MmSystem.prototype.fork = orig;
    }
  });
});

it.skipIf(!process.env.MMSIM_STRESS)('stress', () => {
  const n = Number(process.env.MMSIM_STRESS);
  for (const kernel of ['v5.0', 'v6.10', 'v3.2', 'rfc-2019'] as const) {
    fc.assert(
      fc.property(seqArb(kernel === 'v6.10'), (ops) =>
        runSequence(ops, { kernel, frames: 1024, tight: false }),
      ),
      { numRuns: n },
    );
    fc.assert(
      fc.property(seqArb(kernel === 'v6.10'), (ops) => runSequence(ops, { kernel, frames: 8, tight: true })),
      { numRuns: n },
    );
  }
});
