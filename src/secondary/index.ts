/** The secondary MMUs: KVM guests, HMM device mirrors and IOMMU SVA bindings (notifier subscribers). */
export {
  accessFrame,
  pageSource,
  type SecondaryAccessError,
  type SecondaryAccessOutcome,
  toSource,
} from './common.js';
export { HMM_COUNTERS, type HmmCounter, HmmMirror } from './hmm/index.js';
export { IOMMU_COUNTERS, type IommuCounter, IommuSva } from './iommu/index.js';
export {
  KVM_COUNTERS,
  type KvmCounter,
  type KvmFaultInjection,
  KvmGuest,
  type KvmGuestOptions,
  type MemslotSpec,
  type Spte,
} from './kvm/index.js';
