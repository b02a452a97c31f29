/**
 * What a secondary MMU is to the machine it runs on, whoever wrote it: a view the invariant checker can
 * compare with the primary page table, plus the subscription that keeps it coherent (an mmu_notifier's
 * ops, or an interval notifier). `World.attach` registers the subscription on the view's mm and shows the
 * view to the checker; KvmGuest, HmmMirror and IommuSva are attached that way, as a library user's is.
 */
import type { Kernel } from '../mm/kernel.js';
import { MmuIntervalNotifier, type MmuNotifier } from '../notifier/ops.js';
import { mmuIntervalNotifierInsert, mmuNotifierRegister } from '../notifier/register.js';
import type { SecondaryMmuView } from '../notifier/secondary-view.js';
import type { CounterGroup } from '../sim/counters.js';
import { type SetupError, setupError } from './common.js';

/** How a secondary MMU hears of primary changes: a struct mmu_notifier, or an mmu_interval_notifier. */
export type NotifierSubscription = MmuNotifier | MmuIntervalNotifier;

export interface SecondaryMmu extends SecondaryMmuView {
  /** Registered on `mm` when the secondary is attached; null for one that subscribes to nothing. */
  readonly subscription: NotifierSubscription | null;
  /** The full names of its counters (`kvm.vm1.faults`): a run's result lists them, zeros included. */
  counterNames?(): readonly string[];
  /**
   * What its retry protocol reads besides its translations (sequence counts, invalidations in flight):
   * part of the livelock detector's fingerprint of the world.
   */
  retryState?(): readonly number[];
}

/**
 * mmu_notifier_register / mmu_interval_notifier_insert of `s`'s subscription (what the driver's own
 * setup does in the kernel: kvm_init_mmu_notifier, dmirror_fops_open, iommu_sva_bind_device): null, or
 * the setup error it answered.
 */
export function subscribe(kernel: Kernel, s: SecondaryMmu): SetupError | null {
  const sub = s.subscription;
  if (sub === null) return null;
  const errno =
    sub instanceof MmuIntervalNotifier
      ? mmuIntervalNotifierInsert(kernel, sub)
      : mmuNotifierRegister(kernel, s.mm, sub);
  return errno === null ? null : setupError(errno, `${s.name}: mm ${s.mm.id} is exiting`);
}

/**
 * The name of instance `instance` of a kind whose counters are `counters`: `FAMILY:NAME` (`kvm:vm1`),
 * the secondary's `name` in reports and the name the World finds it by.
 */
export function secondaryName(counters: CounterGroup, instance: string): string {
  return `${counters.group}:${instance}`;
}
