/**
 * The counters a scenario may test (SCENARIO.md "Counters"; the names are part of the contract), gathered
 * from the subsystems that declare them, and the `"op value"` comparisons of a `counters:` expectation.
 * The parser, the JSON Schema, `mmsim list` and a run's result all read this one list, so a counter a
 * run reports is one a file may test. The parser rejects names it does not know, so that a typo fails
 * loudly instead of comparing against nothing.
 */

import { TLB_COUNTERS } from '../hw/counters.js';
import { FAULT_COUNTERS } from '../mm/counters.js';
import { KSM_COUNTERS } from '../mm/ksm/counters.js';
import { NOTIFIER_COUNTERS } from '../mm/notifier-counters.js';
import type { CounterGroup } from '../sim/counters.js';
import type { CounterOp } from './ast.js';
import { namesOf, type SecondaryKind, secondaryKinds } from './secondary-kinds.js';
import { NAME_PATTERN, type Parsed } from './units.js';

/** Groups kept once per machine (`faults.cow_copy`). */
export const MACHINE_COUNTER_GROUPS: readonly CounterGroup[] = [
  FAULT_COUNTERS,
  TLB_COUNTERS,
  NOTIFIER_COUNTERS,
  KSM_COUNTERS,
];

/** Groups kept per secondary MMU (`kvm.NAME.faults`), one per registered kind (secondary-kinds.ts). */
export function instanceCounterGroups(): readonly CounterGroup[] {
  return secondaryKinds().map((k) => k.counters);
}

/** Every machine-wide counter's full name. */
export const GLOBAL_COUNTERS: readonly string[] = MACHINE_COUNTER_GROUPS.flatMap((g) =>
  g.counters.map((c) => g.name(c)),
);

export type CounterName = { global: true } | { global: false; family: string; agent: string };

function counterNameExpected(): string {
  return `a counter name (${[
    ...MACHINE_COUNTER_GROUPS.map((g) => `${g.group}.*`),
    ...instanceCounterGroups().map((g) => `${g.group}.${(g.instance ?? '').toUpperCase()}.*`),
  ].join(', ')})`;
}

/** The kind whose per-instance counters are `FAMILY.NAME.COUNTER`. */
function kindOfFamily(family: string): SecondaryKind | undefined {
  return secondaryKinds().find((k) => k.counters.group === family);
}

/** The kind of name NAME is in `FAMILY.NAME.COUNTER` (a vm, a device, an IOMMU binding...). */
export function agentNameKind(family: string): string | undefined {
  const kind = kindOfFamily(family);
  return kind && namesOf(kind);
}

/** Classifies a counter name, rejecting unknown ones with the list of what exists. */
export function parseCounterName(name: string): Parsed<CounterName> {
  if (GLOBAL_COUNTERS.includes(name)) return { ok: true, value: { global: true } };
  const parts = name.split('.');
  const [family, agent, counter] = parts;
  const kind = kindOfFamily(family);
  if (parts.length === 3 && kind !== undefined && agent !== '') {
    const known = kind.counters.counters;
    if (known.includes(counter)) return { ok: true, value: { global: false, family, agent } };
    return {
      ok: false,
      expected: counterNameExpected(),
      problem: `${family} counters are ${known.join(', ')}`,
    };
  }
  const group = GLOBAL_COUNTERS.filter((c) => c.startsWith(`${family}.`));
  const problem =
    group.length > 0
      ? `${family} counters are ${group.map((c) => c.slice(family.length + 1)).join(', ')}`
      : kind !== undefined
        ? `write ${family}.NAME.COUNTER`
        : undefined;
  return { ok: false, expected: counterNameExpected(), problem };
}

/** The JSON Schema pattern of a counter name: exactly the names parseCounterName accepts. */
export function counterNamePattern(): string {
  const instanceName = NAME_PATTERN.source.replace(/^\^|\$$/g, '');
  const alternatives = [
    ...MACHINE_COUNTER_GROUPS.map((g) => `${g.group}\\.(${g.counters.join('|')})`),
    ...instanceCounterGroups().map((g) => `${g.group}\\.${instanceName}\\.(${g.counters.join('|')})`),
  ];
  return `^(${alternatives.join('|')})$`;
}

/** Every declared counter with what it counts, for `mmsim list`: [name, meaning]. */
export function counterListing(): [string, string][] {
  return [...MACHINE_COUNTER_GROUPS, ...instanceCounterGroups()].flatMap((g) =>
    g.counters.map((c): [string, string] => [
      g.instance === null ? g.name(c) : `${g.group}.NAME.${c}`,
      g.instance === null ? g.meanings[c] : `per ${g.instance}: ${g.meanings[c]}`,
    ]),
  );
}

export const COMPARISON_EXPECTED = 'a count or a comparison such as ">= 1" (ops: == != < <= > >=)';

/** `3`, `"== 3"`, `">=1"`, `"!= 0"`. */
export function parseComparison(text: string): Parsed<{ op: CounterOp; value: number }> {
  const match = /^\s*(==|!=|<=|>=|<|>)?\s*(-?\d+)\s*$/.exec(text);
  if (!match) {
    const problem = /^\s*=\s*\d/.test(text) ? "use '==' for equality" : undefined;
    return { ok: false, expected: COMPARISON_EXPECTED, problem };
  }
  const op = (match[1] ?? '==') as CounterOp;
  const value = Number(match[2]);
  if (!Number.isSafeInteger(value)) return { ok: false, expected: COMPARISON_EXPECTED, problem: 'too large' };
  return { ok: true, value: { op, value } };
}
