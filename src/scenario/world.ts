/**
 * A World is one simulated machine with everything on it: the primary MMU (MmSystem), KSM, the guests,
 * device mirrors and IOMMU bindings, the invariant checker and the USE_CHANGE_PTE validator. Scenario
 * files, experiments and library users all drive a World.
 */

import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { Task } from '../mm/kernel.js';
import { Ksm, type KsmConfig } from '../mm/ksm/index.js';
import { MmSystem } from '../mm/system.js';
import { InvariantChecker } from '../notifier/invariants.js';
import type { SecondaryMmuView } from '../notifier/secondary-view.js';
import { type UseChangePteRule, UseChangePteValidator } from '../notifier/validator.js';
import { Violations } from '../notifier/violations.js';
import { CountedSecondary, isSetupError, type SetupError } from '../secondary/common.js';
import { HmmMirror } from '../secondary/hmm/index.js';
import { IommuSva } from '../secondary/iommu/index.js';
import { KvmGuest } from '../secondary/kvm/index.js';
import { Rng } from '../sim/rng.js';
import { GLOBAL_COUNTERS } from './counters.js';

export interface WorldOptions {
  kernel: KernelName;
  seed?: number;
  ramBytes?: number;
  cpus?: number;
  /** Keep the event log (default true). */
  recording?: boolean;
  ksm?: Partial<KsmConfig>;
  /** Check invariants at all (default true): access-time checks always, sweeps when asked. */
  checks?: boolean;
  changePteRule?: UseChangePteRule;
  /** What-if changes to the kernel profile (e.g. { kvmChangePteBumpsSeq: false }). */
  profileOverrides?: ProfileOverrides;
}

export class World {
  readonly sys: MmSystem;
  readonly ksm: Ksm;
  readonly checker: InvariantChecker | null;
  readonly validator: UseChangePteValidator;
  /** The broken invariants seen so far, with the scenario step each was seen in. */
  readonly violations: Violations;
  readonly rng: Rng;
  readonly guests = new Map<string, KvmGuest>();
  readonly devices = new Map<string, HmmMirror>();
  readonly iommus = new Map<string, IommuSva>();
  readonly seed: number;

  constructor(readonly options: WorldOptions) {
    this.seed = options.seed ?? 1;
    this.rng = new Rng(this.seed);
    this.sys = new MmSystem({
      kernel: options.kernel,
      ramBytes: options.ramBytes,
      cpus: options.cpus,
      recording: options.recording,
      profileOverrides: options.profileOverrides,
    });
    const k = this.sys.kernel;
    this.ksm = new Ksm(k, options.ksm);
    this.sys.ksm = this.ksm.hooks;
    this.violations = new Violations(k);
    k.observers.push(this.violations);
    this.validator = new UseChangePteValidator(k, this.violations, options.changePteRule ?? 'v2');
    k.observers.push(this.validator);
    if (options.checks === false) this.checker = null;
    else {
      this.checker = new InvariantChecker(
        k,
        {
          secondaries: () => this.secondaries(),
          pinnedRefs: () => {
            // gup/pin handles, plus the reference ksmd holds while it is paused inside a page
            const refs = this.sys.pinnedRefs();
            for (const [pfn, n] of this.ksm.heldRefs()) refs.set(pfn, (refs.get(pfn) ?? 0) + n);
            return refs;
          },
          ksmProblems: () => this.ksm.problems(),
          ksmVersion: () => this.ksm.version,
          ksmFrameProblems: (pfns, ptesOf) => this.ksm.frameProblems(pfns, ptesOf),
          ksmMappingProblem: (mm, vpn, pte) => this.ksm.mappingProblem(mm, vpn, pte),
        },
        this.violations,
      );
      k.observers.push(this.checker);
    }
  }

  get kernel() {
    return this.sys.kernel;
  }

  get counters() {
    return this.sys.kernel.counters;
  }

  /**
   * Every declared counter that applies to this machine, zeros included: the machine-wide ones and those
   * of each secondary MMU on it (plus any other counter that was created), sorted by name.
   */
  counterValues(): Record<string, number> {
    const names = new Set<string>(GLOBAL_COUNTERS);
    for (const s of this.secondaries())
      if (s instanceof CountedSecondary) for (const n of s.counterNames()) names.add(n);
    for (const n of Object.keys(this.counters.snapshot())) names.add(n);
    const out: Record<string, number> = {};
    for (const n of [...names].sort()) out[n] = this.counters.get(n);
    return out;
  }

  *secondaries(): Iterable<SecondaryMmuView> {
    yield* this.guests.values();
    yield* this.devices.values();
    yield* this.iommus.values();
  }

  task(name: string): Task {
    return this.sys.task(name);
  }

  /** A KVM guest whose memory is `proc`'s mapping. */
  addVm(
    name: string,
    proc: string,
    memslots: { gfn: number; addr: number; size: number }[],
    vcpus = 1,
  ): KvmGuest | SetupError {
    const g = KvmGuest.create(this.kernel, name, this.task(proc), memslots, { vcpus });
    if (!isSetupError(g)) this.guests.set(name, g);
    return g;
  }

  addDevice(name: string, proc: string): HmmMirror {
    const d = new HmmMirror(this.kernel, name, this.task(proc));
    this.devices.set(name, d);
    return d;
  }

  /** An IOMMU SVA binding; EOPNOTSUPP on kernels without ->invalidate_range (IommuSva.bind decides). */
  addIommu(name: string, proc: string): IommuSva | SetupError {
    const d = IommuSva.bind(this.kernel, name, this.task(proc));
    if (!isSetupError(d)) this.iommus.set(name, d);
    return d;
  }

  /**
   * Check every invariant where something changed since the last check (no-op when checks are off):
   * the same reports a full sweep would make now, at the cost of what changed.
   */
  checkNow(): number {
    return this.checker?.checkNow() ?? 0;
  }

  /** Sweep every invariant over the whole machine (the end of a run, `--paranoid`). */
  checkAll(): number {
    return this.checker?.checkAll() ?? 0;
  }
}
