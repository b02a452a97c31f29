/**
 * The kinds of secondary MMU a scenario file can set up, each registered with its counters (declared by
 * the secondary's own module) and the kind of name its instances have. KVM, HMM and SVA are registered
 * here exactly as another kind would be.
 */
import { HMM_COUNTERS } from '../secondary/hmm/counters.js';
import { IOMMU_COUNTERS } from '../secondary/iommu/counters.js';
import { KVM_COUNTERS } from '../secondary/kvm/counters.js';
import type { CounterGroup } from '../sim/counters.js';
import type { NameKind } from './ast.js';

export interface SecondaryKind {
  /** Per-instance counters: `group.NAME.counter`. */
  readonly counters: CounterGroup;
  /** What an instance's NAME names in the file (defined by the kind's setup step). */
  readonly names: Exclude<NameKind, 'mapping'>;
}

export const SECONDARY_KINDS: readonly SecondaryKind[] = [
  { counters: KVM_COUNTERS, names: 'vm' },
  { counters: HMM_COUNTERS, names: 'device' },
  { counters: IOMMU_COUNTERS, names: 'iommu' },
];
