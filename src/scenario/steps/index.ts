/**
 * Every scenario step, one module each (its fields, reader, name effects, schema fragment and path).
 * Adding a step: write its module (declaring its StepKinds entry) and add one line here; the compiler
 * checks that this table and the StepKinds interface name the same operations.
 */
import type { StepKinds, StepOp } from '../ast.js';
import { dev } from './dev.js';
import { device } from './device.js';
import { dma } from './dma.js';
import { exit } from './exit.js';
import { fork } from './fork.js';
import { guest } from './guest.js';
import { gup } from './gup.js';
import { iommu } from './iommu.js';
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
import { vm } from './vm.js';
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
  vm,
  guest,
  device,
  dev,
  iommu,
  dma,
  gup,
  unpin,
  pin_io,
  repeat,
  parallel,
} satisfies { [K in StepOp]: StepSpec<StepKinds[K]> };

export const STEP_OPS = Object.keys(STEPS) as StepOp[];

/** The spec of a step's operation, typed for any step. */
export function stepSpec(op: StepOp): StepSpec {
  return STEPS[op] as unknown as StepSpec;
}

/** Every field an operation accepts, for tools (the JSON schema test compares against these). */
export const STEP_FIELDS: Readonly<Record<StepOp, readonly string[]>> = Object.fromEntries(
  STEP_OPS.map((op) => [op, STEPS[op].fields]),
) as Record<StepOp, readonly string[]>;
