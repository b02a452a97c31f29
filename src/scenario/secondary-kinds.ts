/**
 * The kinds of secondary MMU a scenario file can use, each registered with what it brings to the format:
 * its per-instance counters (declared by the secondary's own module) and its scenario steps (a setup step
 * that defines an instance's NAME and attaches it to the World, and the steps that use one). The parser,
 * the name checks, the JSON Schema, `mmsim list` and a run's counters read this registry. KVM, HMM and
 * SVA are registered exactly as a library user's kind is (`registerSecondaryKind`, scenario/register-kind.ts).
 */
import { HMM_COUNTERS } from '../secondary/hmm/counters.js';
import { IOMMU_COUNTERS } from '../secondary/iommu/counters.js';
import { KVM_COUNTERS } from '../secondary/kvm/counters.js';
import type { CounterGroup } from '../sim/counters.js';
import { dev } from './steps/dev.js';
import { device } from './steps/device.js';
import { dma } from './steps/dma.js';
import { guest } from './steps/guest.js';
import { iommu } from './steps/iommu.js';
import type { StepSpec } from './steps/spec.js';
import { vm } from './steps/vm.js';

export interface SecondaryKind {
  /**
   * Its per-instance counters (`declareInstanceCounters(FAMILY, NAMES, ...)`): `FAMILY.NAME.counter`.
   * FAMILY also prefixes an instance's view name (`FAMILY:NAME`); NAMES is the kind of name an instance
   * has in a file (`vm`), defined by the kind's setup step.
   */
  readonly counters: CounterGroup;
  /** What messages call one instance ('vm', 'IOMMU binding'). */
  readonly label: string;
  /**
   * Its scenario steps by operation, in the order messages and the schema list them: one defines an
   * instance (`defines: {name: NAMES}`), the others use one.
   */
  // biome-ignore lint/suspicious/noExplicitAny: each step has its own step type
  readonly steps: Readonly<Record<string, StepSpec<any>>>;
}

/** KVM guests (`vm`, `guest`): secondary/kvm. */
export const KVM_KIND = {
  counters: KVM_COUNTERS,
  label: 'vm',
  steps: { vm, guest },
} as const satisfies SecondaryKind;

/** HMM device mirrors (`device`, `dev`): secondary/hmm. */
export const HMM_KIND = {
  counters: HMM_COUNTERS,
  label: 'device',
  steps: { device, dev },
} as const satisfies SecondaryKind;

/** IOMMU SVA bindings (`iommu`, `dma`): secondary/iommu. */
export const SVA_KIND = {
  counters: IOMMU_COUNTERS,
  label: 'IOMMU binding',
  steps: { iommu, dma },
} as const satisfies SecondaryKind;

const kinds: SecondaryKind[] = [KVM_KIND, HMM_KIND, SVA_KIND];

/** Every registered kind: the three built in, then a library user's, in the order they were registered. */
export function secondaryKinds(): readonly SecondaryKind[] {
  return kinds;
}

/** Appends a kind already checked by registerSecondaryKind (scenario/register-kind.ts). */
export function addSecondaryKind(kind: SecondaryKind): void {
  kinds.push(kind);
}

/** The kind of name an instance of `kind` has in a file (`vm`, `device`, `iommu`). */
export function namesOf(kind: SecondaryKind): string {
  return kind.counters.instance ?? kind.counters.group;
}

/** The kind whose instances have names of kind `names`. */
export function kindNaming(names: string): SecondaryKind | undefined {
  return kinds.find((k) => namesOf(k) === names);
}

/** Is `op` a step of some secondary MMU kind (a setup or an access step)? */
export function isSecondaryStep(op: string): boolean {
  return kinds.some((k) => Object.hasOwn(k.steps, op));
}

/** The operation of the step that defines an instance of `kind` (its setup step). */
export function setupOp(kind: SecondaryKind): string | undefined {
  const names = namesOf(kind);
  return Object.entries(kind.steps).find(([, s]) => Object.values(s.defines ?? {}).includes(names))?.[0];
}
