/**
 * docs/FIDELITY.md and src/oracle/fidelity.ts account for every behaviour the profiles know to differ:
 * each profile field that is not the same in every profile is a modelled difference the oracle explains,
 * a knob it sets on the real side, or outside what it compares; and the document names each one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type KernelProfile, PROFILES } from '../../src/kernel/profiles.js';
import {
  KNOB_FIELDS,
  MODELLED_DIFFERENCES,
  nearestProfile,
  OUTSIDE_THE_ORACLE,
  UNMODELLED,
} from '../../src/oracle/fidelity.js';

const profiles = Object.values(PROFILES);
const fields = Object.keys(PROFILES['v6.18']).filter(
  (f) => f !== 'name' && f !== 'description',
) as (keyof KernelProfile)[];
const varying = fields.filter((f) =>
  profiles.some((p) => JSON.stringify(p[f]) !== JSON.stringify(profiles[0][f])),
);
const doc = readFileSync('docs/FIDELITY.md', 'utf8');

describe('fidelity accounting', () => {
  it('every field that differs between profiles is explained, set as a knob, or outside the oracle', () => {
    const accounted = new Set<string>([
      ...MODELLED_DIFFERENCES.map((d) => d.field),
      ...KNOB_FIELDS.map((k) => k.field),
      ...OUTSIDE_THE_ORACLE,
    ]);
    expect(varying.filter((f) => !accounted.has(f))).toEqual([]);
    // and each field is accounted once
    const all = [
      ...MODELLED_DIFFERENCES.map((d) => d.field),
      ...KNOB_FIELDS.map((k) => k.field),
      ...OUTSIDE_THE_ORACLE,
    ];
    expect(all.length).toBe(accounted.size);
  });

  it('docs/FIDELITY.md names every modelled difference, knob field and unmodelled behaviour', () => {
    for (const f of [...MODELLED_DIFFERENCES.map((d) => d.field), ...KNOB_FIELDS.map((k) => k.field)])
      expect(doc, f).toContain(`\`${f}\``);
    for (const k of KNOB_FIELDS) expect(doc).toContain(k.knob);
    expect(UNMODELLED.length).toBeGreaterThan(0);
  });

  it('the running 6.18 compares with v6.18; 6.10 to 6.17 with v6.10; 5.x with v5.0', () => {
    expect(nearestProfile([6, 18])).toBe('v6.18');
    expect(nearestProfile([6, 19])).toBe('v6.18');
    expect(nearestProfile([6, 12])).toBe('v6.10');
    expect(nearestProfile([5, 15])).toBe('v5.0');
    expect(nearestProfile([4, 19])).toBe('v3.2');
  });
});
