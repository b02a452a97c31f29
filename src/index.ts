/**
 * mmsim's public API: running scenarios, driving a World by hand, the experiments, and everything a
 * secondary MMU of one's own needs (examples/custom-secondary is written against this and nothing else).
 */

// ---- scenarios, the World, experiments, profiles
export { run, type Scenario, ScenarioError } from './api.js';
export { EXPERIMENTS, findExperiment } from './experiments/index.js';
export type { Experiment, ExperimentResult } from './experiments/types.js';
// ---- the machine a secondary MMU runs on: pages, ptes, the kernel, mms, faults
export { ZERO_PFN } from './hw/frames.js';
export { PAGE_SHIFT, PAGE_SIZE } from './hw/page.js';
export {
  pteAccessible,
  pteDirty,
  ptePfn,
  ptePresent,
  pteSpecial,
  pteWrite,
} from './hw/pte.js';
export {
  KERNEL_NAMES,
  type KernelName,
  type KernelProfile,
  PROFILES,
  type ProfileOverrides,
  withOverrides,
} from './kernel/profiles.js';
export type { StoreSource } from './mm/access.js';
export { toChromeTrace } from './mm/event-text.js';
export {
  FAULT_FLAG_WRITE,
  VM_FAULT_DONE,
  VM_FAULT_ERROR,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  type VmFaultResult,
} from './mm/fault.js';
export type { AccessRecord, Errno, Kernel, KernelObserver, Task } from './mm/kernel.js';
export { handleMmFault } from './mm/memory.js';
export type { Mm } from './mm/mm.js';
// ---- the mmu_notifier contract and the invariant checker's view of a secondary
export {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFIER_USE_CHANGE_PTE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_UNMAP,
  type NotifierRange,
} from './mm/notifier-port.js';
export { VM_READ, VM_WRITE, type Vma } from './mm/vma.js';
export { InvariantChecker } from './notifier/invariants.js';
export type { MmuIntervalNotifierOps, MmuNotifier, MmuNotifierOps } from './notifier/ops.js';
export { MmuIntervalNotifier } from './notifier/ops.js';
export { mmuNotifierRangeBlockable, mmuNotifierRangeUseChangePte } from './notifier/range.js';
export {
  mmuIntervalCheckRetry,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
  mmuNotifierUnregister,
} from './notifier/register.js';
export type { SecondaryMmuView, SecondaryTranslation } from './notifier/secondary-view.js';
export type { Violation } from './notifier/violations.js';
export type { ScenarioDocument, ScenarioExpectation, ScenarioStep } from './scenario/document.js';
export { formatError, parseScenario } from './scenario/parse.js';
// ---- a kind of secondary in scenario files: its counters and steps (KVM, HMM and SVA are registered so)
export { registerSecondaryKind } from './scenario/register-kind.js';
export type { ExpectationResult, RunOptions, RunResult, ViolationResult } from './scenario/run.js';
export {
  HMM_KIND,
  KVM_KIND,
  type SecondaryKind,
  SVA_KIND,
  secondaryKinds,
} from './scenario/secondary-kinds.js';
export {
  type AccessingDevice,
  type DeviceAccessKind,
  type DeviceAccessStep,
  deviceAccessStep,
} from './scenario/steps/device-access.js';
export {
  type SecondarySetup,
  type SecondarySetupStep,
  secondarySetupStep,
} from './scenario/steps/secondary-setup.js';
export type { StepSpec } from './scenario/steps/spec.js';
export { World, type WorldOptions } from './scenario/world.js';
// ---- writing a secondary MMU: the contract World.attach takes, counters, the access helpers
export {
  accessFrame,
  CountedSecondary,
  expectSetup,
  isSetupError,
  logSecondary,
  type SecondaryAccessError,
  type SecondaryAccessOutcome,
  type SetupError,
  setupError,
} from './secondary/common.js';
export { HmmMirror } from './secondary/hmm/index.js';
export { IommuSva } from './secondary/iommu/index.js';
export { KvmGuest } from './secondary/kvm/index.js';
export { type NotifierSubscription, type SecondaryMmu, secondaryName } from './secondary/secondary-mmu.js';
export { type CounterGroup, declareInstanceCounters } from './sim/counters.js';
// ---- paths, agents, locks, preemption points (sim/exec.ts)
export {
  type Agent,
  Lock,
  lock,
  lockShared,
  ModelBug,
  type Path,
  type Pause,
  preempt,
  preemptPoint,
  resume,
  retryPoint,
  runToCompletion,
  tryLock,
  unlock,
  unlockShared,
} from './sim/exec.js';
export { Scheduler } from './sim/scheduler.js';
