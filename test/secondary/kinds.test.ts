/**
 * The registry of secondary MMU kinds: KVM, HMM and SVA bring their counters and steps through it, and
 * a kind registered at run time (as a library user registers one) becomes part of the format the same
 * way — parser, name checks, schema, counter names, `mmsim list`, a run's counters — while a kind that
 * would make a name mean two things is refused.
 */
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Task } from '../../src/mm/kernel.js';
import { counterListing, parseCounterName } from '../../src/scenario/counters.js';
import { registerSecondaryKind } from '../../src/scenario/register-kind.js';
import { runScenario } from '../../src/scenario/run.js';
import { scenarioSchema } from '../../src/scenario/schema.js';
import {
  HMM_KIND,
  KVM_KIND,
  type SecondaryKind,
  SVA_KIND,
  secondaryKinds,
} from '../../src/scenario/secondary-kinds.js';
import { deviceAccessStep } from '../../src/scenario/steps/device-access.js';
import { STEPS, stepOps } from '../../src/scenario/steps/index.js';
import { secondarySetupStep } from '../../src/scenario/steps/secondary-setup.js';
import { type SecondaryMmu, secondaryName } from '../../src/secondary/secondary-mmu.js';
import { type Counters, declareInstanceCounters } from '../../src/sim/counters.js';
import { errorsOf, parseOk } from '../scenario/helpers.js';

const PROBE_COUNTERS = declareInstanceCounters('probe', 'probe', { pokes: 'accesses the probe made' });

/** A secondary that maps nothing and only counts its accesses. */
class Probe implements SecondaryMmu {
  readonly name: string;
  readonly subscription = null;
  constructor(
    readonly instance: string,
    readonly task: Task,
    private readonly counters: Counters,
  ) {
    this.name = secondaryName(PROBE_COUNTERS, instance);
  }
  get mm() {
    return this.task.mm;
  }
  translations() {
    return [];
  }
  counterNames() {
    return [PROBE_COUNTERS.name('pokes', this.instance)];
  }
  poke(): void {
    this.counters.add(PROBE_COUNTERS.name('pokes', this.instance));
  }
}

const PROBE: SecondaryKind = {
  counters: PROBE_COUNTERS,
  label: 'probe',
  steps: {
    probe: secondarySetupStep({
      op: 'probe',
      names: 'probe',
      description: 'A probe that maps nothing.',
      create: (w, name, task) => new Probe(name, task, w.counters),
    }),
    poke: deviceAccessStep({
      op: 'poke',
      field: 'probe',
      names: 'probe',
      description: 'The probe pokes.',
      find: (w, name) => {
        const p = w.secondary(secondaryName(PROBE_COUNTERS, name), Probe);
        return (
          p && {
            task: p.task,
            *access() {
              p.poke();
              return { ok: true };
            },
          }
        );
      },
      missing: (name) => `no probe ${name}`,
    }),
  },
};

const PROBE_FILE = `mmsim: 1
steps:
  - spawn: app
  - mmap: { proc: app, size: 2 pages, prot: rw, as: buf }
  - probe: { name: p0, proc: app }
  - poke: { probe: p0, op: read, addr: buf, pages: 2 }
expect:
  - counters: { probe.p0.pokes: 2 }
`;

describe('secondary MMU kinds', () => {
  it('KVM, HMM and SVA bring their steps and counters through the registry', () => {
    expect(secondaryKinds().slice(0, 3)).toEqual([KVM_KIND, HMM_KIND, SVA_KIND]);
    for (const kind of [KVM_KIND, HMM_KIND, SVA_KIND]) {
      for (const [op, spec] of Object.entries(kind.steps)) expect(STEPS[op as keyof typeof STEPS]).toBe(spec);
      for (const c of kind.counters.counters as readonly string[])
        expect(parseCounterName(`${kind.counters.group}.x.${c}`).ok, c).toBe(true);
    }
  });

  it('a kind registered at run time is part of the format like the built-in ones', () => {
    expect(errorsOf(PROBE_FILE)[0]).toMatch(/unknown operation 'probe'/);
    registerSecondaryKind(PROBE);
    registerSecondaryKind(PROBE); // the same kind again: nothing changes
    expect(secondaryKinds().filter((k) => k === PROBE)).toHaveLength(1);
    expect(stepOps().slice(-2)).toEqual(['probe', 'poke']);
    const scenario = parseOk(PROBE_FILE);
    const r = runScenario(scenario);
    expect(r.ok).toBe(true);
    expect(r.counters['probe.p0.pokes']).toBe(2);
    const validate = new Ajv({ strict: true, strictRequired: false }).compile(scenarioSchema());
    expect(validate(parse(PROBE_FILE)), JSON.stringify(validate.errors)).toBe(true);
    expect(counterListing()).toContainEqual(['probe.NAME.pokes', 'per probe: accesses the probe made']);
    expect(errorsOf(PROBE_FILE.replace('probe: p0, op', 'probe: p1, op'))[0]).toMatch(
      /unknown probe 'p1'.*; define it with a 'probe' step first; known: p0/,
    );
  });

  it('refuses a kind whose operation, counter family or kind of name is taken', () => {
    const clash = (k: Partial<SecondaryKind>) => () => registerSecondaryKind({ ...PROBE, ...k });
    expect(clash({ steps: { ...PROBE.steps, dma: PROBE.steps.poke } })).toThrow(/operation 'dma' is taken/);
    expect(clash({ counters: declareInstanceCounters('kvm', 'probe2', { x: 'x' }) })).toThrow(
      /counter family 'kvm' is taken/,
    );
    expect(clash({ counters: declareInstanceCounters('probe3', 'vm', { x: 'x' }) })).toThrow(
      /the kind of name 'vm' is taken/,
    );
    expect(clash({ counters: declareInstanceCounters('ksm', 'pin', { x: 'x' }) })).toThrow(
      /counter family 'ksm' is taken; the kind of name 'pin' is taken/,
    );
  });
});
