/** Footprints: a transition's accesses as sorted distinct keys with their modes, and when two conflict. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Access,
  conflicts,
  discardFootprint,
  type Footprint,
  FootprintKind,
  footprintKey,
  noteAccess,
  takeFootprint,
} from '../../src/sim/footprint.js';

const key = (index: number) => footprintKey(FootprintKind.Pte, 7, index);
const access = fc.record({
  index: fc.integer({ min: 0, max: 2 ** 36 - 1 }),
  mode: fc.constantFrom(Access.Read, Access.Mark, Access.Write, Access.Touch),
});

function footprintOf(accesses: readonly { index: number; mode: Access }[]): Footprint {
  discardFootprint();
  for (const a of accesses) noteAccess(key(a.index), a.mode);
  return takeFootprint();
}

describe('takeFootprint', () => {
  it('gives each distinct key once, ascending, with every mode it was used in, short or long', () => {
    fc.assert(
      fc.property(
        fc.array(access, { maxLength: 150 }),
        fc.array(fc.nat(40), { maxLength: 150 }),
        (accesses, repeats) => {
          // some keys come back: footprints repeat a pte or a lock
          const all = [...accesses, ...repeats.filter((r) => r < accesses.length).map((r) => accesses[r])];
          const fp = footprintOf(all);
          const want = new Map<number, number>();
          for (const a of all) want.set(key(a.index), (want.get(key(a.index)) ?? 0) | (1 << a.mode));
          const keys = [...want.keys()].sort((a, b) => a - b);
          expect([...fp.keys]).toEqual(keys);
          expect([...fp.modes]).toEqual(keys.map((k) => want.get(k)));
          expect(takeFootprint().keys.length).toBe(0); // the next one starts empty
        },
      ),
    );
  });

  it('conflicts: a write with anything, a read with a mark, never two reads or two marks', () => {
    const at = (mode: Access) => footprintOf([{ index: 3, mode }]);
    const elsewhere = footprintOf([{ index: 4, mode: Access.Write }]);
    expect(conflicts(at(Access.Write), at(Access.Read))).toBe(true);
    expect(conflicts(at(Access.Read), at(Access.Mark))).toBe(true);
    expect(conflicts(at(Access.Read), at(Access.Read))).toBe(false);
    expect(conflicts(at(Access.Mark), at(Access.Mark))).toBe(false);
    expect(conflicts(at(Access.Touch), at(Access.Write))).toBe(true);
    expect(conflicts(at(Access.Touch), at(Access.Read))).toBe(false);
    expect(conflicts(at(Access.Write), elsewhere)).toBe(false);
  });
});
