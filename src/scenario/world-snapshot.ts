/**
 * Snapshots of a World and of a scenario run part-way through (sim/snapshot.ts does the work): the model
 * checker runs the steps before `parallel` once and restores that state before every execution.
 * The graph walked is the World (or the run, World included) plus the one piece of per-kernel state
 * kept outside it, the page locks (mm/page-lock.ts). Module-level state elsewhere is immutable or a
 * cache keyed by immutable values (see the tests of this module).
 */
import { pageLockState } from '../mm/page-lock.js';
import { type GraphSnapshot, snapshotGraph } from '../sim/snapshot.js';
import type { Scenario, Step } from './ast.js';
import type { ScenarioRun } from './run.js';
import { stepSpec } from './steps/index.js';
import type { World } from './world.js';

/** The whole machine now: `restore()` puts it back in place (the World and everything on it). */
export function snapshotWorld(world: World): GraphSnapshot {
  return snapshotGraph([world, pageLockState(world.kernel)], {
    appendOnly: [world.kernel.machine.log.events],
    usedBytes: world.kernel.frames.usedBytes(),
  });
}

/**
 * A run stopped between top-level steps (`runUntil(k)`): its World and its own bookkeeping (step
 * numbers, mappings, outcomes, expectations so far). The scenario and the driver options are not part
 * of it: `runFrom(k, driver)` after a restore runs the rest under a new driver.
 */
export function snapshotRun(run: ScenarioRun): GraphSnapshot {
  return snapshotGraph([run, pageLockState(run.world.kernel)], {
    leaves: [run.scenario, run.options],
    appendOnly: [run.world.kernel.machine.log.events],
    usedBytes: run.world.kernel.frames.usedBytes(),
  });
}

function hasParallel(step: Step): boolean {
  if (step.op === 'parallel') return true;
  const children = stepSpec(step.op).children?.(step) ?? [];
  return children.some((steps) => steps.some(hasParallel));
}

/** The first top-level step that runs `parallel` threads (itself or nested in a repeat), or -1. */
export function parallelStepIndex(scenario: Scenario): number {
  return scenario.steps.findIndex(hasParallel);
}
