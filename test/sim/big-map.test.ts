/**
 * BigMap behaves exactly as a Map (iteration order included) however many inner Maps it spills into;
 * spilling is exercised with a tiny `spill` instead of 2^24 real entries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BigMap } from '../../src/sim/big-map.js';

type Op = { op: 'set'; k: number; v: number } | { op: 'delete'; k: number } | { op: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), k: fc.nat(20), v: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), k: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

describe('BigMap', () => {
  it('is a Map: same answers and iteration order under random operations (spill 3)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const big = new BigMap<number, number>(3);
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            big.set(o.k, o.v);
            ref.set(o.k, o.v);
          } else if (o.op === 'delete') expect(big.delete(o.k)).toBe(ref.delete(o.k));
          else {
            big.clear();
            ref.clear();
          }
          expect(big.size).toBe(ref.size);
        }
        expect([...big]).toEqual([...ref]);
        expect([...big.keys()]).toEqual([...ref.keys()]);
        expect([...big.values()]).toEqual([...ref.values()]);
        for (let k = 0; k <= 20; k++) {
          expect(big.get(k)).toBe(ref.get(k));
          expect(big.has(k)).toBe(ref.has(k));
        }
        const seen: [number, number][] = [];
        big.forEach((v, k) => {
          seen.push([k, v]);
        });
        expect(seen).toEqual([...ref]);
      }),
      { numRuns: 500, seed: 24 },
    );
  });

  it('holds more entries than one inner Map may', () => {
    const big = new BigMap<number, number>(1000);
    for (let i = 0; i < 10_000; i++) big.set(i * 4096, i);
    expect(big.size).toBe(10_000);
    expect(big.get(9_999 * 4096)).toBe(9_999);
  });

  it('spills below V8 limit by default, and refuses a spill at or above it', () => {
    expect(() => new BigMap(2 ** 24)).toThrow(RangeError);
    expect(() => new BigMap()).not.toThrow();
  });
});
