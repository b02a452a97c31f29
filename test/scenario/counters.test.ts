/**
 * Counters are declared once, by the subsystem that keeps them: every counter a run can report is one a
 * scenario may test (the parser and the schema accept it), every declared counter is reported, zeros
 * included, and nothing else is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/api.js';
import { KERNEL_NAMES } from '../../src/kernel/profiles.js';
import {
  counterListing,
  GLOBAL_COUNTERS,
  instanceCounterGroups,
  parseCounterName,
} from '../../src/scenario/counters.js';
import { scenarioSchema } from '../../src/scenario/schema.js';
import { examples } from './helpers.js';

const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(scenarioSchema());

/** Whether the parser and the schema accept a `counters:` expectation naming `name`. */
function accepted(name: string): { parser: boolean; schema: boolean } {
  return {
    parser: parseCounterName(name).ok,
    schema: validate({ mmsim: 1, expect: [{ counters: { [name]: 0 } }] }) as boolean,
  };
}

/** A run with one secondary MMU of every kind, named after its counter group. */
const everyKind = `
mmsim: 1
steps:
  - spawn: p
  - mmap: { proc: p, size: 4 pages, prot: rw, as: buf }
  - vm: { name: kvm1, proc: p, memslots: [{ gfn: 0, addr: buf, size: 4 pages }] }
  - device: { name: dev1, proc: p }
  - iommu: { name: iommu1, proc: p }
  - write: { proc: p, addr: buf, fill: 1 }
`;

const shipped = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));

describe('declared counters', () => {
  it('every counter a run reports is accepted by the parser and the schema', () => {
    const reported = new Set<string>();
    const results = [
      ...[...shipped('examples'), ...examples().map(([, text]) => text)].map((text) => run(text)),
      ...KERNEL_NAMES.map((kernel) => run(everyKind, { kernel })),
    ];
    for (const r of results) for (const name of Object.keys(r.counters)) reported.add(name);
    const refused = [...reported].filter((n) => {
      const a = accepted(n);
      return !a.parser || !a.schema;
    });
    expect(refused).toEqual([]);
  });

  it('every declared counter is accepted, and reported (zeros included) where it applies', () => {
    const counters = run(everyKind).counters;
    const declared = [
      ...GLOBAL_COUNTERS,
      ...instanceCounterGroups().flatMap((g) => g.counters.map((c) => g.name(c, `${g.group}1`))),
    ];
    for (const name of declared) {
      expect(accepted(name), name).toEqual({ parser: true, schema: true });
      expect(counters[name], name).toBeTypeOf('number');
    }
    expect(Object.keys(counters).sort()).toEqual([...declared].sort());
  });

  it('reports a counter that never moved as 0', () => {
    const r = run('mmsim: 1\nsteps: [{spawn: p}]\n', { kernel: 'v5.0' });
    expect(r.counters['notifier.use_change_pte']).toBe(0);
    expect(r.counters['faults.cow_copy']).toBe(0);
    expect(r.counters['ksm.stable_node_chains']).toBe(0);
  });

  it('rejects names nobody declares', () => {
    for (const name of ['ksm.pages', 'kvm.faults', 'kvm.vm1.nope', 'faults.cow', 'tlb', 'dev.a.b.faults'])
      expect(accepted(name), name).toEqual({ parser: false, schema: false });
  });

  it('mmsim list shows every declared counter with its meaning', () => {
    const listing = counterListing();
    expect(listing.length).toBe(
      GLOBAL_COUNTERS.length + instanceCounterGroups().reduce((n, g) => n + g.counters.length, 0),
    );
    for (const [name, meaning] of listing) {
      expect(name).toMatch(/^[a-z]+\.(NAME\.)?[a-z_]+$/);
      expect(meaning.length, name).toBeGreaterThan(10);
    }
  });
});
