/** mmsim's public API. */
export { run, type Scenario, ScenarioError } from './api.js';
export { EXPERIMENTS, findExperiment } from './experiments/index.js';
export type { Experiment, ExperimentResult } from './experiments/types.js';
export { KERNEL_NAMES, type KernelName, type KernelProfile, PROFILES } from './kernel/profiles.js';
export { InvariantChecker } from './notifier/invariants.js';
export type { MmuIntervalNotifierOps, MmuNotifier, MmuNotifierOps } from './notifier/ops.js';
export { MmuIntervalNotifier } from './notifier/ops.js';
export {
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
} from './notifier/register.js';
export type { SecondaryMmuView, SecondaryTranslation } from './notifier/secondary-view.js';
export type { ScenarioDocument, ScenarioExpectation, ScenarioStep } from './scenario/document.js';
export { formatError, parseScenario } from './scenario/parse.js';
export type { ExpectationResult, RunOptions, RunResult, ViolationResult } from './scenario/run.js';
export { World, type WorldOptions } from './scenario/world.js';
export { HmmMirror } from './secondary/hmm/index.js';
export { IommuSva } from './secondary/iommu/index.js';
export { KvmGuest } from './secondary/kvm/index.js';
export { toChromeTrace } from './sim/log.js';
export { Scheduler } from './sim/scheduler.js';
