/**
 * Property: whatever mix of writes, forks, exits, madvise, pins and ksmd scans runs, no process ever
 * reads anything but what it last wrote (KSM is invisible to data), KSM's counters always equal a
 * recount of its trees, and every invariant of docs/INVARIANTS.md holds after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KernelName } from '../../src/kernel/profiles.js';
import { addr, data, ksmHarness, PAGE } from './helpers.js';

const PAGES = 6;
const MAX_PROCS = 4;
const HEAD = 8;

type Op =
  | { op: 'fill'; p: number; page: number; byte: number }
  | { op: 'poke'; p: number; page: number; off: number; byte: number }
  | { op: 'fork'; p: number }
  | { op: 'exit'; p: number }
  | { op: 'scan'; pages: number }
  | { op: 'fullScan' }
  | { op: 'madvise'; p: number; from: number; len: number; advice: 'mergeable' | 'unmergeable' | 'dontneed' }
  | { op: 'pin'; p: number; page: number }
  | { op: 'unpin' };

const proc = fc.nat(MAX_PROCS - 1);
const page = fc.nat(PAGES - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('fill' as const), p: proc, page, byte: fc.nat(2) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('poke' as const),
      p: proc,
      page,
      off: fc.nat(HEAD - 1),
      byte: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fork' as const), p: proc }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), p: proc }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('scan' as const), pages: fc.integer({ min: 1, max: 20 }) }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('fullScan' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('madvise' as const),
      p: proc,
      from: page,
      len: fc.integer({ min: 1, max: PAGES }),
      advice: fc.constantFrom('mergeable' as const, 'unmergeable' as const, 'dontneed' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pin' as const), p: proc, page }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unpin' as const) }) },
);

/** What a process should read: per page, its first HEAD bytes and the byte filling the rest. */
interface PageModel {
  head: number[];
  rest: number;
}
const zeroPage = (): PageModel => ({ head: Array(HEAD).fill(0), rest: 0 });

function run(kernel: KernelName, useZeroPages: boolean, maxPageSharing: number, ops: Op[]): void {
  const h = ksmHarness(kernel, { useZeroPages, maxPageSharing, pagesToScan: 7 }, { ramBytes: 4 << 20 });
  const sys = h.sys;
  const base = addr(h.spawnWithMap('p0', PAGES));
  h.step(() => sys.madvise('p0', base, PAGES * PAGE, 'mergeable'));
  const live: string[] = ['p0'];
  const model = new Map<string, PageModel[]>([['p0', Array.from({ length: PAGES }, zeroPage)]]);
  const pins: { name: string; proc: string }[] = [];
  let nextProc = 1;
  let nextPin = 0;
  const check = (): void => {
    h.clean();
    for (const name of live) {
      const m = model.get(name)!;
      for (let i = 0; i < PAGES; i++) {
        const got = Array.from(data(sys.read(name, base + i * PAGE, HEAD + 4)));
        expect(got, `${name} page ${i}`).toEqual([...m[i].head, ...Array(4).fill(m[i].rest)]);
      }
    }
    h.clean();
  };
  for (const o of ops) {
    const who = 'p' in o ? live[o.p % live.length] : '';
    switch (o.op) {
      case 'fill':
        h.fill(who, base + o.page * PAGE, 1, () => o.byte);
        model.get(who)![o.page] = { head: Array(HEAD).fill(o.byte), rest: o.byte };
        break;
      case 'poke':
        sys.write(who, base + o.page * PAGE + o.off, new Uint8Array([o.byte]));
        model.get(who)![o.page].head[o.off] = o.byte;
        break;
      case 'fork': {
        if (live.length >= MAX_PROCS) break;
        const child = `p${nextProc++}`;
        expect(typeof sys.fork(who, child)).toBe('object');
        live.push(child);
        model.set(
          child,
          model.get(who)!.map((pm) => ({ head: [...pm.head], rest: pm.rest })),
        );
        break;
      }
      case 'exit': {
        if (live.length <= 1) break;
        sys.exit(who);
        live.splice(live.indexOf(who), 1);
        model.delete(who);
        for (let i = pins.length - 1; i >= 0; i--) if (pins[i].proc === who) pins.splice(i, 1);
        break;
      }
      case 'scan':
        h.ksm.scan(o.pages);
        break;
      case 'fullScan':
        h.ksm.runFullScans(1);
        break;
      case 'madvise': {
        const len = Math.min(o.len, PAGES - o.from);
        expect(sys.madvise(who, base + o.from * PAGE, len * PAGE, o.advice)).toBeNull();
        if (o.advice === 'dontneed')
          for (let i = o.from; i < o.from + len; i++) model.get(who)![i] = zeroPage();
        break;
      }
      case 'pin': {
        const name = `pin${nextPin++}`;
        if (sys.gup(who, base + o.page * PAGE, 1, { write: true, pin: true, name }) === null) {
          pins.push({ name, proc: who });
        }
        break;
      }
      case 'unpin': {
        const pin = pins.shift();
        if (pin !== undefined) expect(sys.unpin(pin.name)).toBeNull();
        break;
      }
    }
    check();
  }
  // and at the end, everything settles: full scans leave the data as it was
  h.ksm.runFullScans(3);
  check();
  for (const name of [...live]) sys.exit(name);
  h.ksm.runFullScans(1);
  h.clean();
  expect(h.c('pages_shared') + h.c('pages_sharing') + h.c('pages_unshared') + h.c('pages_volatile')).toBe(0);
  expect(sys.kernel.frames.used).toBe(0);
}

describe('KSM never changes what a process reads', () => {
  it('random writes, forks, exits, madvise, pins and scans (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<KernelName>('v5.0', 'v3.2', 'rfc-2019', 'v6.10'),
        fc.boolean(),
        fc.constantFrom(2, 3, 256),
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        (kernel, useZeroPages, maxPageSharing, ops) => run(kernel, useZeroPages, maxPageSharing, ops),
      ),
      { numRuns: 400 },
    );
  });

  it('many identical pages, heavy sharing limits, then every process writes one (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.array(fc.nat(PAGES - 1), { maxLength: 8 }),
        (limit, writes) => {
          const ops: Op[] = [];
          for (let i = 0; i < PAGES; i++) ops.push({ op: 'fill', p: 0, page: i, byte: 1 });
          ops.push({ op: 'fork', p: 0 }, { op: 'fork', p: 0 }, { op: 'fullScan' }, { op: 'fullScan' });
          writes.forEach((pg, i) => {
            ops.push({ op: 'poke', p: i, page: pg, off: 3, byte: 2 }, { op: 'scan', pages: 5 });
          });
          run('v5.0', false, limit, ops);
        },
      ),
      { numRuns: 40 },
    );
  });
});
