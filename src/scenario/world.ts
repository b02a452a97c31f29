/**
 * A World is one simulated machine with everything on it: the primary MMU (MmSystem), KSM, the secondary
 * MMUs attached to it (KVM guests, device mirrors, IOMMU bindings, a user's own), the invariant checker
 * and the USE_CHANGE_PTE validator. Scenario files, experiments and library users all drive a World.
 */

import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { Task } from '../mm/kernel.js';
import { Ksm, type KsmConfig } from '../mm/ksm/index.js';
import { MmSystem } from '../mm/system.js';
import { InvariantChecker } from '../notifier/invariants.js';
import { type UseChangePteRule, UseChangePteValidator } from '../notifier/validator.js';
import { Violations } from '../notifier/violations.js';
import { isSetupError, type SetupError } from '../secondary/common.js';
import { type SecondaryMmu, subscribe } from '../secondary/secondary-mmu.js';
import { ModelBug } from '../sim/exec.js';
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
  private readonly attached = new Map<string, SecondaryMmu>();
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
          ksmStructureProblems: () => this.ksm.structureProblems(),
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
    // every name reported is a counter (0 until bumped): the counters' own sorted view, kept until a
    // counter is created, is then the answer (the model checker asks after every execution)
    for (const n of GLOBAL_COUNTERS) this.counters.slot(n);
    for (const s of this.attached.values()) for (const n of s.counterNames?.() ?? []) this.counters.slot(n);
    return this.counters.snapshot();
  }

  /**
   * Puts a secondary MMU on this machine: registers its notifier subscription on its mm and lets the
   * invariant checker compare its translations with the primary MMU from now on; its counters join the
   * run's result. Every kind is attached this way (KVM, HMM, SVA, or a library user's own).
   * A secondary that installs a translation tells `kernel.secondaryMapped(mm, address)`, so that an
   * incremental check looks at it. Answers the secondary, or the setup error its registration met (ESRCH:
   * the process is exiting); a setup error given (what KvmGuest.create or a kind's create answered) is
   * answered as it is, so a setup and its attach are one expression. `expectSetup` unwraps the answer where
   * the setup is known to be valid.
   */
  attach<T extends SecondaryMmu>(secondary: T | SetupError): T | SetupError {
    if (isSetupError(secondary)) return secondary;
    if (this.attached.has(secondary.name))
      throw new ModelBug(`a secondary MMU named ${secondary.name} is already attached`);
    const refused = subscribe(this.kernel, secondary);
    if (refused !== null) return refused;
    this.attached.set(secondary.name, secondary);
    return secondary;
  }

  /** The attached secondary MMU named `name` ('kvm:vm1') if it is a `type`. */
  secondary<T extends SecondaryMmu>(name: string, type: abstract new (...args: never[]) => T): T | undefined {
    const s = this.attached.get(name);
    return s instanceof type ? s : undefined;
  }

  /** The attached secondary MMUs of one class, in the order they were attached. */
  secondariesOf<T extends SecondaryMmu>(type: abstract new (...args: never[]) => T): T[] {
    return [...this.attached.values()].filter((s): s is T => s instanceof type);
  }

  /** Every attached secondary MMU, in the order they were attached. */
  secondaries(): Iterable<SecondaryMmu> {
    return this.attached.values();
  }

  task(name: string): Task {
    return this.sys.task(name);
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
