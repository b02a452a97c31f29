/**
 * A checked machine for the secondary-MMU tests: a World (the invariant checker, the USE_CHANGE_PTE
 * validator and KSM on it; secondaries attached as any user's are), and `step()`, which runs one
 * operation, checks the invariants and — unless violations are expected — fails with a report naming
 * the invariant, the step, the agents, the addresses and the replayable list of steps that led there.
 */

import type { KernelName, ProfileOverrides } from '../../src/kernel/profiles.js';
import type { Kernel, Task } from '../../src/mm/kernel.js';
import type { Ksm, KsmConfig } from '../../src/mm/ksm/index.js';
import type { MmSystem } from '../../src/mm/system.js';
import type { InvariantChecker } from '../../src/notifier/invariants.js';
import type { UseChangePteRule, UseChangePteValidator } from '../../src/notifier/validator.js';
import type { Violation, Violations } from '../../src/notifier/violations.js';
import { World } from '../../src/scenario/world.js';
import { expectSetup } from '../../src/secondary/common.js';
import type { SecondaryMmu } from '../../src/secondary/secondary-mmu.js';
import type { Path, Pause } from '../../src/sim/exec.js';
import { resume } from '../../src/sim/exec.js';

export interface HarnessOptions {
  ramBytes?: number;
  cpus?: number;
  /** Record the event log (default true: reports quote it). */
  recording?: boolean;
  changePteRule?: UseChangePteRule;
  /** Do not throw when a step breaks an invariant (fault-injection tests look at them instead). */
  expectViolations?: boolean;
  /** KSM's knobs (ksmd runs only when a test scans). */
  ksm?: Partial<KsmConfig>;
  /** What-if changes to the kernel profile. */
  profile?: ProfileOverrides;
}

export class Harness {
  readonly world: World;
  /** The steps run so far, in order: the replayable trace. */
  readonly steps: string[] = [];
  readonly expectViolations: boolean;

  constructor(
    readonly kernelName: KernelName,
    opts: HarnessOptions = {},
  ) {
    this.world = new World({
      kernel: kernelName,
      ramBytes: opts.ramBytes ?? 64 * 1024 * 1024,
      cpus: opts.cpus ?? 2,
      recording: opts.recording ?? true,
      changePteRule: opts.changePteRule ?? 'v2',
      ksm: opts.ksm,
      profileOverrides: opts.profile,
    });
    this.expectViolations = opts.expectViolations ?? false;
    // fault-injection tests look for every invariant a broken secondary breaks, not just the first ones
    if (this.expectViolations) this.checker.maxReports = 100_000;
  }

  get sys(): MmSystem {
    return this.world.sys;
  }

  get k(): Kernel {
    return this.world.kernel;
  }

  get ksm(): Ksm {
    return this.world.ksm;
  }

  get checker(): InvariantChecker {
    return this.world.checker!;
  }

  /** The broken invariants seen, with the harness step of each. */
  get log(): Violations {
    return this.world.violations;
  }

  get validator(): UseChangePteValidator {
    return this.world.validator;
  }

  counter(name: string): number {
    return this.k.counters.get(name);
  }

  /** A secondary attached to the machine (returned for chaining). */
  add<T extends SecondaryMmu>(secondary: T): T {
    return expectSetup(this.world.attach(secondary));
  }

  spawn(name: string): Task {
    return this.step(`spawn ${name}`, () => this.sys.spawn(name));
  }

  /**
   * Run one operation as scenario step N, then sweep invariants 1, 3 and 4 (2 and 5 are checked as it
   * runs). With `midPath`, some path (ksmd) is paused holding references the recount cannot see: sweep
   * coherence and data only.
   */
  step<T>(label: string, fn: () => T, opts: { midPath?: boolean } = {}): T {
    this.log.step = this.steps.length;
    this.steps.push(label);
    const before = this.log.length;
    const r = fn();
    if (opts.midPath === true) {
      this.checker.checkCoherence();
      this.checker.checkData();
    } else this.checker.checkNow();
    if (!this.expectViolations && this.log.length > before) throw new Error(this.report(before));
    return r;
  }

  get violations(): Violation[] {
    return this.log.list;
  }

  /** Violations [from, ...) as a report: invariant, step, agents, addresses, then the trace. */
  report(from = 0): string {
    const k = this.k;
    const lines: string[] = [];
    const vs = this.log.list.slice(from);
    for (const v of vs) {
      lines.push(
        `${v.invariant} at step ${v.step} (${this.steps[v.step] ?? 'outside steps'}): ${v.message}`,
        `  agents: ${v.agents.join(', ')}; addresses: ${v.addresses.join(', ')}`,
      );
    }
    lines.push(`replay (kernel ${this.kernelName}):`);
    this.steps.forEach((s, i) => {
      lines.push(`  ${i}: ${s}`);
    });
    const first = vs[0];
    if (first !== undefined) {
      const events = k.machine.log.events.filter((e) => e.seq <= first.seq).slice(-25);
      lines.push('last events before the first violation:');
      for (const e of events) {
        const range = e.start !== undefined ? ` 0x${e.start.toString(16)}` : '';
        lines.push(`  #${e.seq} ${e.agent} ${e.kind} ${e.what}${range}${e.detail ? ` (${e.detail})` : ''}`);
      }
    }
    return lines.join('\n');
  }

  /** Which invariants were broken (distinct, in order of first report). */
  brokenInvariants(): string[] {
    return [...new Set(this.violations.map((v) => v.invariant))];
  }
}

/** Drive `path` until it reaches the preemption point labelled `label` (it stays paused there). */
export function runUntil(path: Path<unknown>, label: string): void {
  for (;;) {
    const r = resume(path);
    if (r.done === true) throw new Error(`the path finished before reaching '${label}'`);
    const p: Pause = r.value;
    if (p.kind === 'preempt' && p.label === label) return;
    if (p.kind === 'lock-wait')
      throw new Error(`the path waits for ${p.lock.name} before reaching '${label}'`);
  }
}

export const PAGE = 4096;

export const ALL_KERNELS: KernelName[] = ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'];

/** A content id for tests: the page filled with `byte`. */
export function fill(h: Harness, byte: number): { pages: () => number } {
  const id = h.k.contents.fill(byte);
  return { pages: () => id };
}

export function text(bytes: Uint8Array | undefined, len?: number): string {
  if (bytes === undefined) return '<none>';
  const b = len === undefined ? bytes : bytes.subarray(0, len);
  return new TextDecoder().decode(b);
}
