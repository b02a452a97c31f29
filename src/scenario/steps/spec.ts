/**
 * What one scenario step is, in one place: its fields and how they are read, the names it defines and
 * uses, the JSON Schema fragment of its key, and the path it runs. Every driver (the sequential runner,
 * the interleaving scheduler, the model checker) runs a step through `run`; nothing else knows a step.
 */

import type { StoreSource } from '../../mm/access.js';
import type { Task } from '../../mm/kernel.js';
import type { Agent, Path } from '../../sim/exec.js';
import type { AddrExpr, NameKind, SourcePos, Step } from '../ast.js';
import type { Fields, ReadContext, Slot } from '../nodes.js';
import type { JsonSchema } from '../schema.js';
import type { World } from '../world.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A step without the parts every step has (its position and its own expectations). */
export type StepBody<S extends Step = Step> = DistributiveOmit<S, 'pos' | 'expect'>;

/** The kinds of object a step can define or use by name (mappings are per process: see NameEffects). */
export type ObjectKind = Exclude<NameKind, 'mapping'>;

/** Reading one step's fields. */
export interface StepReading {
  readonly cx: ReadContext;
  /** Reads a nested, non-empty list of steps (repeat's body, a parallel thread). */
  nestedSteps(slot: Slot): Step[] | undefined;
}

/**
 * The static name checks, as one step sees them: what is defined where, in the scope the step runs in.
 * Every method reports its own errors at the step's field.
 */
export interface NameEffects {
  define(name: string, kind: ObjectKind, field: string, proc?: string): boolean;
  /** The definition of a name the step uses (with the process it belongs to), or undefined (reported). */
  use(name: string, kind: ObjectKind, field: string): { proc?: string } | undefined;
  /** A process the step runs in: defined and not exited. False when not (reported). */
  useProcess(proc: string, field: string): boolean;
  /**
   * An address in `proc` the step touches `len` bytes at (0: only the offset must be inside): the
   * mapping must be known there, and when its size is known, the bytes must lie inside it.
   */
  address(addr: AddrExpr, proc: string, len: number): void;
  defineMapping(proc: string, name: string, field: string, size: number): void;
  /** fork: the child starts with the parent's mappings. */
  inheritMappings(parent: string, child: string): void;
  exit(proc: string): void;
  /** Where pin `name` was released, if it was. */
  released(pin: string): SourcePos | undefined;
  release(pin: string): void;
  error(field: string, message: string): void;
  /** Nested steps in the same scope (repeat). */
  steps(steps: readonly Step[]): void;
  /** Threads: each sees the scope before it plus its own definitions; afterwards, everything (parallel). */
  threads(threads: readonly (readonly Step[])[]): void;
}

/** What a step's path may ask of the run it is part of (implemented by the driver, scenario/run.ts). */
export interface StepRunner {
  readonly world: World;
  /** The virtual address of `a` in `proc`; `len` bytes must fit in its mapping (else a runtime error). */
  resolve(a: AddrExpr, proc: string, len?: number): number;
  /** Thread `thread`'s task of process `proc` (the process itself for thread 0). */
  task(proc: string, thread: number): Task;
  /** The step's system call or access failed in the model's terms (errno, signal). */
  outcome(step: Step, result: string, where?: string): void;
  /** Mapping `name` of `proc` now starts at `start` (mmap), or the child copies the parent's (fork). */
  mapped(proc: string, name: string, start: number, size: number): void;
  spawned(proc: string, parent?: string): void;
  /** What a device stores into a page: a byte chosen from the run's seed. */
  deviceFill(): StoreSource;
  /** The agent of the device doing I/O through pin `name`. */
  pinAgent(name: string): Agent;
  /** A result the step itself checks (read's `expect`). */
  check(step: Step, text: string, ok: boolean, actual: unknown): void;
  /** Runs nested steps, each as a step of its own, in this thread. */
  steps(steps: readonly Step[], thread: number): Path;
  /** Runs threads of steps that may interleave (the driver decides how). */
  parallel(threads: readonly (readonly Step[])[], thread: number): Path;
}

export interface StepSpec<S extends Step = Step> {
  /** The keys of the operation's map. */
  readonly fields: readonly string[];
  /** The one field a scalar stands for: `spawn: parent` means `spawn: {proc: parent}`. */
  readonly shorthand?: string;
  /** Fields naming what the step defines (for quiet name checks when the step is broken, and hints). */
  readonly defines?: Readonly<Record<string, NameKind>>;
  /** The JSON Schema of the operation key's value (the wrapper with `expect` is made by schema.ts). */
  readonly schema: JsonSchema;
  read(f: Fields, r: StepReading): StepBody<S> | undefined;
  /** Checks the names the step defines and uses; returns the process its own expectations default to. */
  names(step: S, n: NameEffects): string | undefined;
  /** Steps nested inside this one (repeat's body, parallel's threads). */
  children?(step: S): readonly (readonly Step[])[];
  /** The step's path: it pauses where its kernel paths do; setup steps run at once. */
  run(step: S, r: StepRunner, thread: number): Path;
}
