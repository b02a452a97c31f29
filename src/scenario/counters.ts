/**
 * Counter names a scenario may test (SCENARIO.md "Counters"; the names are part of the contract) and the
 * `"op value"` comparisons of a `counters:` expectation. Extend the lists here when the model grows a
 * counter; the parser rejects names it does not know, so that a typo fails loudly instead of comparing
 * against nothing.
 */
import type { CounterOp } from './ast.js';
import type { Parsed } from './units.js';

export const GLOBAL_COUNTERS: readonly string[] = [
  ...[
    'anon_read_zero',
    'anon_write',
    'cow_copy',
    'cow_reuse',
    'ksm_cow',
    'sigsegv',
    'shmem_read',
    'shmem_write',
  ].map((c) => `faults.${c}`),
  'tlb.flush_local',
  'tlb.flush_remote',
  ...[
    'invalidate_range_start',
    'invalidate_range_end',
    'change_pte',
    'clear_young',
    'release',
    'use_change_pte',
    'use_change_pte_misuse',
  ].map((c) => `notifier.${c}`),
  ...['pages_shared', 'pages_sharing', 'pages_unshared', 'pages_volatile', 'full_scans', 'pages_scanned'].map(
    (c) => `ksm.${c}`,
  ),
];

/** Per-agent counters are `FAMILY.NAME.COUNTER`, NAME being a vm, device or IOMMU binding of the file. */
export const AGENT_COUNTERS = {
  kvm: ['faults', 'sptes_zapped', 'change_pte_updates', 'change_pte_misses', 'retries', 'remote_tlb_flushes'],
  dev: ['faults', 'invalidations', 'retries'],
  iommu: ['faults', 'iotlb_flushes', 'stuck_writes'],
} as const satisfies Record<string, readonly string[]>;

export type AgentFamily = keyof typeof AGENT_COUNTERS;

/** Which kind of named object a family's NAME refers to. */
export const AGENT_KIND: Readonly<Record<AgentFamily, 'vm' | 'device' | 'iommu'>> = {
  kvm: 'vm',
  dev: 'device',
  iommu: 'iommu',
};

export type CounterName = { global: true } | { global: false; family: AgentFamily; agent: string };

const COUNTER_NAME_EXPECTED =
  'a counter name (faults.*, tlb.*, notifier.*, ksm.*, kvm.VM.*, dev.DEVICE.*, iommu.IOMMU.*)';

function isFamily(word: string): word is AgentFamily {
  return Object.hasOwn(AGENT_COUNTERS, word);
}

/** Classifies a counter name, rejecting unknown ones with the list of what exists. */
export function parseCounterName(name: string): Parsed<CounterName> {
  if (GLOBAL_COUNTERS.includes(name)) return { ok: true, value: { global: true } };
  const parts = name.split('.');
  const [family, agent, counter] = parts;
  if (parts.length === 3 && isFamily(family) && agent !== '') {
    const known: readonly string[] = AGENT_COUNTERS[family];
    if (known.includes(counter)) return { ok: true, value: { global: false, family, agent } };
    return {
      ok: false,
      expected: COUNTER_NAME_EXPECTED,
      problem: `${family} counters are ${known.join(', ')}`,
    };
  }
  const group = GLOBAL_COUNTERS.filter((c) => c.startsWith(`${family}.`));
  const problem =
    group.length > 0
      ? `${family} counters are ${group.map((c) => c.slice(family.length + 1)).join(', ')}`
      : isFamily(family)
        ? `write ${family}.NAME.COUNTER`
        : undefined;
  return { ok: false, expected: COUNTER_NAME_EXPECTED, problem };
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
