import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toChromeTrace } from '../../src/mm/event-text.js';
import { MmSystem } from '../../src/mm/system.js';
import { Counters } from '../../src/sim/counters.js';
import { Digest, hashBytes, StripeDigest } from '../../src/sim/hash.js';
import { detailFormat, detailText, type EventKind, EventLog, newEvent } from '../../src/sim/log.js';
import { Rng } from '../../src/sim/rng.js';

/** A small workload whose choices come from `seed`; returns the system after it ran. */
function workload(seed: number): MmSystem {
  const rng = new Rng(seed);
  const sys = new MmSystem({ kernel: 'v5.0', ramBytes: 1 << 20 });
  sys.spawn('p');
  const a = sys.mmap('p', 8 * 4096, 'rw') as number;
  for (let i = 0; i < 20; i++) {
    const page = rng.below(8);
    if (rng.below(2) === 0)
      sys.write('p', a + page * 4096 + rng.below(4096), new Uint8Array([rng.below(256)]));
    else sys.read('p', a + page * 4096, 16);
  }
  sys.fork('p', 'c');
  sys.write('c', a + rng.below(8) * 4096, 'child');
  sys.madvise('p', a, 4 * 4096, 'dontneed');
  sys.exit('c');
  sys.exit('p');
  return sys;
}

describe('EventLog', () => {
  it('the same run twice gives the same digest; another seed gives another', () => {
    const h1 = workload(1).kernel.machine.log.hash();
    const h2 = workload(1).kernel.machine.log.hash();
    const h3 = workload(2).kernel.machine.log.hash();
    expect(h1).toMatch(/^[0-9a-f]{16}$/);
    expect(h2).toBe(h1);
    expect(h3).not.toBe(h1);
    expect(workload(1).kernel.machine.log.events.length).toBeGreaterThan(20);
  });

  it('the digest covers every field: one differing detail changes it', () => {
    const base = { agent: 'p', cpu: 0, kind: 'pte' as const, what: 'set_pte_at', mm: 1, start: 4096 };
    const a = new EventLog(true);
    const b = new EventLog(true);
    a.record(base);
    b.record(base);
    expect(a.hash()).toBe(b.hash());
    a.record({ ...base, newPte: 0x1067 });
    b.record({ ...base, newPte: 0x2067 });
    expect(a.hash()).not.toBe(b.hash());
  });

  it('the digest sees strings by their characters, however often they were seen before', () => {
    const log = (whats: string[]): string => {
      const l = new EventLog(true);
      for (const what of whats) l.record({ agent: 'p', cpu: 0, kind: 'pte', what });
      return l.hash();
    };
    expect(log(['a', 'b', 'a'])).toBe(log(['a', 'b', 'a']));
    expect(log(['a', 'b', 'a'])).not.toBe(log(['a', 'b', 'b']));
    expect(log(['a', 'a'])).not.toBe(log(['b', 'b']));
    // a string first seen here and one numbered before are still told apart
    expect(log(['x', 'a', 'x'])).not.toBe(log(['x', 'a', 'a']));
  });

  it('a detail format is made only when shown; the digest covers its name and numbers', () => {
    let made = 0;
    const f = detailFormat('test: two numbers', (x, y, _z, s) => {
      made++;
      return `${x}+${y} ${s}`;
    });
    const g = detailFormat('test: the same words', (x, y, _z, s) => `${x}+${y} ${s}`);
    expect(() => detailFormat('test: two numbers', () => '')).toThrow(/twice/);
    const hash = (format: typeof f, x: number, detail = 'by'): string => {
      const l = new EventLog(true);
      l.record({ agent: 'p', cpu: 0, kind: 'ksm', what: 'w', format, x, y: 2, detail });
      return l.hash();
    };
    expect(made).toBe(0);
    expect(hash(f, 1)).toBe(hash(f, 1));
    expect(hash(f, 1)).not.toBe(hash(f, 3));
    expect(hash(f, 1)).not.toBe(hash(f, 1, 'other'));
    expect(hash(f, 1)).not.toBe(hash(g, 1));
    expect(made).toBe(0);
    expect(
      detailText({ seq: 0, agent: 'p', cpu: 0, kind: 'ksm', what: 'w', format: f, x: 1, y: 2, detail: 'by' }),
    ).toBe('1+2 by');
    expect(made).toBe(1);
  });

  it('a log and the same log with one field of one event changed hash apart, whatever repeats', () => {
    // few values per field, so that events repeat each other's strings (the log's shortcuts)
    const values = {
      agent: ['ksmd', 'kvm'],
      kind: ['pte', 'notify'],
      what: ['zap', 'map', 'flush'],
      mm: [undefined, 1],
      start: [undefined, 0x7f00_0000_1000, 0.5],
      event: [undefined, 'CLEAR'],
      flags: [undefined, 'BLOCKABLE', 'NONE'],
      detail: [undefined, 'by', 'other'],
      phase: [undefined, 'B', 'E'],
    } as const;
    type Name = keyof typeof values;
    type Fields = { [N in Name]: (typeof values)[N][number] };
    const names = Object.keys(values) as Name[];
    const fields = fc.record(
      Object.fromEntries(names.map((n) => [n, fc.constantFrom(...values[n])])) as {
        [N in Name]: fc.Arbitrary<Fields[N]>;
      },
    );
    const hash = (events: Fields[]): string => {
      const log = new EventLog(true);
      for (const f of events) {
        const e = newEvent(f.agent, 0, f.kind as EventKind, f.what, f.mm, f.start);
        e.event = f.event;
        e.flags = f.flags;
        e.detail = f.detail;
        e.phase = f.phase;
        log.record(e);
      }
      return log.hash();
    };
    const change = fc.record({ at: fc.nat(), field: fc.constantFrom(...names), to: fc.nat() });
    fc.assert(
      fc.property(fc.array(fields, { minLength: 1, maxLength: 12 }), change, (a, { at, field, to }) => {
        const b = a.map((e) => ({ ...e }));
        const changed = b[at % b.length] as Record<Name, unknown>;
        changed[field] = values[field][to % values[field].length];
        expect(hash(a) === hash(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('past the table of numbered strings, a string goes in by its characters every time', () => {
    const log = (last: string[]): string => {
      const l = new EventLog(true);
      for (let i = 0; i < 70_000; i++) l.record(newEvent('a', 0, 'pte', `w${i}`));
      for (const what of last) l.record(newEvent('a', 0, 'pte', what));
      return l.hash();
    };
    expect(log(['x', 'y', 'x'])).toBe(log(['x', 'y', 'x']));
    expect(log(['x', 'y', 'x'])).not.toBe(log(['x', 'y', 'y']));
    expect(log(['w69999', 'x'])).not.toBe(log(['w69998', 'x']));
  });

  it('with recording off only the sequence advances; keep bounds memory, not the digest', () => {
    const off = new EventLog(false);
    off.record({ agent: 'x', cpu: 0, kind: 'step', what: 's' });
    expect(off.length).toBe(1);
    expect(off.events).toEqual([]);
    expect(off.hash()).toBe(new EventLog(false).hash());
    const kept = new EventLog(true, 2);
    const all = new EventLog(true);
    for (let i = 0; i < 5; i++) {
      kept.record({ agent: 'x', cpu: 0, kind: 'step', what: `s${i}` });
      all.record({ agent: 'x', cpu: 0, kind: 'step', what: `s${i}` });
    }
    expect(kept.events.map((e) => e.seq)).toEqual([0, 1]);
    expect(kept.length).toBe(5);
    expect(kept.hash()).toBe(all.hash());
  });

  it('a system with recording off counts the same faults as one with it on', () => {
    const run = (recording: boolean): Record<string, number> => {
      const sys = new MmSystem({ kernel: 'v5.0', ramBytes: 1 << 20, recording });
      sys.spawn('p');
      const a = sys.mmap('p', 4 * 4096, 'rw') as number;
      sys.read('p', a, 1);
      sys.write('p', a + 4096, 'x');
      sys.fork('p', 'c');
      sys.write('c', a + 4096, 'y');
      expect(sys.kernel.machine.log.events.length > 0).toBe(recording);
      return sys.kernel.counters.snapshot();
    };
    expect(run(false)).toEqual(run(true));
  });

  it('exports Chrome trace events, one track per agent', () => {
    const sys = workload(3);
    const trace = toChromeTrace(sys.kernel.machine.log.events) as {
      traceEvents: { ph: string; tid: number }[];
    };
    expect(trace.traceEvents.length).toBeGreaterThan(sys.kernel.machine.log.events.length);
    const names = trace.traceEvents.filter((e) => e.ph === 'M').length;
    expect(names).toBe(1 + 2); // the process and two agents (p, c)
    JSON.stringify(trace);
  });
});

describe('Digest, Counters, Rng', () => {
  it('Digest is deterministic and order sensitive', () => {
    const d = (xs: number[]): string => {
      const g = new Digest();
      for (const x of xs) g.number(x);
      return g.hex();
    };
    expect(d([1, 2])).toBe(d([1, 2]));
    expect(d([1, 2])).not.toBe(d([2, 1]));
    expect(d([2 ** 40])).not.toBe(d([0]));
    const s = new Digest();
    s.string('ab');
    const t = new Digest();
    t.string('ba');
    expect(s.hex()).not.toBe(t.hex());
    expect(hashBytes(new Uint8Array(8))).toBe(hashBytes(new Uint8Array(8)));
  });

  it('StripeDigest is deterministic, order sensitive, and pads strings unambiguously', () => {
    const d = (...stripes: number[][]): string => {
      const g = new StripeDigest();
      for (const s of stripes) g.stripes(Int32Array.from(s), s.length);
      return g.hex();
    };
    expect(d([1, 2, 3, 4])).toMatch(/^[0-9a-f]{16}$/);
    expect(d([1, 2, 3, 4])).toBe(d([1, 2, 3, 4]));
    expect(d([1, 2, 3, 4])).not.toBe(d([2, 1, 3, 4]));
    expect(d([1, 2, 3, 4], [5, 6, 7, 8])).not.toBe(d([5, 6, 7, 8], [1, 2, 3, 4]));
    expect(d([0, 0, 0, 0])).not.toBe(d());
    const s = (...xs: string[]): string => {
      const g = new StripeDigest();
      for (const x of xs) g.string(1, x);
      return g.hex();
    };
    expect(s('ab')).toBe(s('ab'));
    expect(s('ab')).not.toBe(s('ba'));
    expect(s('a')).not.toBe(s('a\0'));
    expect(s('', 'a')).not.toBe(s('a', ''));
    expect(s('abcdefghijk')).not.toBe(s('abcdefghijl'));
  });

  it('Counters: slots are stable, snapshots sorted, unknown names read 0', () => {
    const c = new Counters();
    const s = c.slot('b.x');
    c.values[s] += 2;
    c.add('a.y');
    c.add('b.x', 3);
    expect(c.slot('b.x')).toBe(s);
    expect(c.get('b.x')).toBe(5);
    expect(c.get('nope')).toBe(0);
    expect(c.has('nope')).toBe(false);
    expect(Object.keys(c.snapshot())).toEqual(['a.y', 'b.x']);
  });

  it('Rng: same seed same stream, below(n) in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 10 }, () => a.nextU32());
    expect(Array.from({ length: 10 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 10 }, () => c.nextU32())).not.toEqual(xs);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[a.below(6)]++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });
});
