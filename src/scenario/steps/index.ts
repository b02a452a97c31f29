/**
 * Every scenario step, one module each (its fields, reader, name effects, schema fragment and path).
 * Adding a step: write its module (declaring its StepKinds entry) and add one line here; the compiler
 * checks that this table and the StepKinds interface name the same operations. A secondary MMU kind's
 * steps come with its kind (scenario/secondary-kinds.ts), a library user's too.
 */
import type { StepKinds, StepOp } from '../ast.js';
import { HMM_KIND, KVM_KIND, SVA_KIND, secondaryKinds } from '../secondary-kinds.js';
import { exit } from './exit.js';
import { fork } from './fork.js';
import { gup } from './gup.js';
import { ksm } from './ksm.js';
import { madvise } from './madvise.js';
import { mmap } from './mmap.js';
import { mprotect } from './mprotect.js';
import { munmap } from './munmap.js';
import { parallel } from './parallel.js';
import { pin_io } from './pin-io.js';
import { read } from './read.js';
import { repeat } from './repeat.js';
import { spawn } from './spawn.js';
import type { StepSpec } from './spec.js';
import { unpin } from './unpin.js';
import { write } from './write.js';

/** In the order messages and the schema list them. */
export const STEPS = {
  spawn,
  mmap,
  munmap,
  mprotect,
  madvise,
  write,
  read,
  fork,
  exit,
  ksm,
  ...KVM_KIND.steps,
  ...HMM_KIND.steps,
  ...SVA_KIND.steps,
  gup,
  unpin,
  pin_io,
  repeat,
  parallel,
} satisfies { [K in StepOp]: StepSpec<StepKinds[K]> };

const BUILT_IN = Object.keys(STEPS) as StepOp[];

/**
 * Every operation a file may use: the built-in steps, then those of secondary kinds a library user
 * registered (their ops are not StepOps to the compiler, but are steps like any other at run time).
 */
export function stepOps(): readonly StepOp[] {
  const extra = secondaryKinds().flatMap((k) =>
    Object.keys(k.steps).filter((op) => !Object.hasOwn(STEPS, op)),
  );
  return extra.length === 0 ? BUILT_IN : [...BUILT_IN, ...(extra as StepOp[])];
}

/** The spec of a step's operation, typed for any step. */
export function stepSpec(op: StepOp): StepSpec {
  if (Object.hasOwn(STEPS, op)) return STEPS[op] as unknown as StepSpec;
  for (const k of secondaryKinds()) if (Object.hasOwn(k.steps, op)) return k.steps[op] as StepSpec;
  throw new Error(`no step '${op}'`);
}

/** Every field an operation accepts, for tools (the JSON schema test compares against these). */
export function stepFields(op: StepOp): readonly string[] {
  return stepSpec(op).fields;
}
