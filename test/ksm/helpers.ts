/**
 * Set-up for the KSM tests: a World (ksmd, the invariant checker with KSM's own recount and the
 * USE_CHANGE_PTE validator on it), and helpers that check everything after each step.
 */

import { expect } from 'vitest';
import { ZERO_PFN } from '../../src/hw/frames.js';
import { ptePfn, ptePresent, pteSpecial, pteWrite } from '../../src/hw/pte.js';
import type { KernelName } from '../../src/kernel/profiles.js';
import type { AccessOutcome } from '../../src/mm/access.js';
import type { Ksm, KsmConfig } from '../../src/mm/ksm/index.js';
import type { MmSystem } from '../../src/mm/system.js';
import type { InvariantChecker } from '../../src/notifier/invariants.js';
import type { Violations } from '../../src/notifier/violations.js';
import { World } from '../../src/scenario/world.js';
import { type Path, type Pause, resume, runToCompletion } from '../../src/sim/exec.js';

export const PAGE = 4096;

export interface KsmHarness {
  world: World;
  sys: MmSystem;
  ksm: Ksm;
  checker: InvariantChecker;
  violations: Violations;
  /** A ksm.* counter. */
  c(name: string): number;
  /** The pfn mapped at (proc, addr): ZERO_PFN for the zero page, -1 if nothing is present. */
  pfn(proc: string, addr: number): number;
  writable(proc: string, addr: number): boolean;
  /** Is (proc, addr) mapping a KSM page? */
  isKsm(proc: string, addr: number): boolean;
  /** Sweep every invariant (KSM's recount included) and fail on any violation. */
  clean(): void;
  /** Run `fn`, then `clean()`: the "checked after every step" of the tests. */
  step<R>(fn: () => R): R;
  spawnWithMap(proc: string, pages: number, prot?: string): number;
  /** Fill page i of [addr, addr + pages) with byte fill(i), through the CPU. */
  fill(proc: string, addr: number, pages: number, fill: (i: number) => number): void;
  /** The first byte of each page (reads fault as needed). */
  firstBytes(proc: string, addr: number, pages: number): number[];
  /** Is any frame mapped twice in the range (ksm_functional_tests.c range_maps_duplicates)? */
  rangeMapsDuplicates(proc: string, addr: number, pages: number): boolean;
  fullScans(n: number): void;
}

export function ksmHarness(
  kernel: KernelName = 'v5.0',
  config: Partial<KsmConfig> = {},
  opts: { ramBytes?: number } = {},
): KsmHarness {
  const world = new World({ kernel, ramBytes: opts.ramBytes ?? 16 << 20, cpus: 2, ksm: config });
  const { sys, ksm, violations } = world;
  const checker = world.checker!;
  const pte = (proc: string, addr: number): number => sys.task(proc).mm.pt.get(Math.floor(addr / PAGE));
  const h: KsmHarness = {
    world,
    sys,
    ksm,
    checker,
    violations,
    c: (name) => sys.kernel.counters.get(`ksm.${name}`),
    pfn(proc, addr) {
      const p = pte(proc, addr);
      if (!ptePresent(p)) return -1;
      return pteSpecial(p) ? ZERO_PFN : ptePfn(p);
    },
    writable: (proc, addr) => pteWrite(pte(proc, addr)),
    isKsm: (proc, addr) => ksm.isKsmPage(h.pfn(proc, addr)),
    clean() {
      expect(ksm.problems()).toEqual([]);
      checker.checkNow();
      expect(violations.list).toEqual([]);
    },
    step(fn) {
      const r = fn();
      h.clean();
      return r;
    },
    spawnWithMap(proc, pages, prot = 'rw') {
      sys.spawn(proc);
      return addr(sys.mmap(proc, pages * PAGE, prot));
    },
    fill(proc, a, pages, fill) {
      const c = sys.kernel.contents;
      ok(sys.store(proc, a, pages * PAGE, { pages: (i) => c.fill(fill(i) & 0xff) }));
    },
    firstBytes(proc, a, pages) {
      const out: number[] = [];
      for (let i = 0; i < pages; i++) out.push(data(sys.read(proc, a + i * PAGE, 1))[0]);
      return out;
    },
    rangeMapsDuplicates(proc, a, pages) {
      const seen = new Set<number>();
      for (let i = 0; i < pages; i++) {
        const p = h.pfn(proc, a + i * PAGE);
        if (p <= 0) continue; // not present, or the zero page (pagemap shows no pfn for it)
        if (seen.has(p)) return true;
        seen.add(p);
      }
      return false;
    },
    fullScans(n) {
      h.step(() => ksm.runFullScans(n));
    },
  };
  return h;
}

export function ok(r: AccessOutcome): AccessOutcome {
  if (!r.ok) throw new Error(`access failed: ${r.error}`);
  return r;
}

export function data(r: AccessOutcome): Uint8Array {
  if (!r.ok || r.data === undefined) throw new Error(`access failed: ${r.ok ? 'no data' : r.error}`);
  return r.data;
}

export function addr(r: number | string): number {
  if (typeof r !== 'number') throw new Error(`mmap failed: ${r}`);
  return r;
}

/**
 * Step a path until `stop` accepts a pause; lock waits are returned too (the caller decides).
 * Throws if the path finishes first.
 */
export function runUntil<R>(path: Path<R>, stop: (p: Pause) => boolean): Pause {
  for (;;) {
    const r = resume(path);
    if (r.done === true) throw new Error('the path finished before the expected pause');
    if (stop(r.value) || r.value.kind === 'lock-wait') return r.value;
  }
}

/** Run a path to its end, expecting no lock wait. */
export function finish<R>(path: Path<R>): R {
  return runToCompletion(path);
}

/**
 * Run two paths round-robin from their current points: each runs until it pauses; a path waiting for a
 * lock is resumed only once the lock is free. Returns both results; `waits` collects "path:lock" for
 * every wait on a held lock.
 */
export function interleave<A, B>(a: Path<A>, b: Path<B>, waits: string[] = []): [A, B] {
  const paths: Path<unknown>[] = [a, b];
  const done = [false, false];
  const results: unknown[] = [undefined, undefined];
  const waiting: (Pause | null)[] = [null, null];
  for (let guard = 0; guard < 1_000_000 && !(done[0] && done[1]); guard++) {
    for (let i = 0; i < 2; i++) {
      if (done[i]) continue;
      const w = waiting[i];
      if (w !== null && w.kind === 'lock-wait' && w.lock.held) continue;
      const r = resume(paths[i]);
      if (r.done === true) {
        done[i] = true;
        results[i] = r.value;
      } else {
        waiting[i] = r.value;
        if (r.value.kind === 'lock-wait' && r.value.lock.held) waits.push(`${i}:${r.value.lock.name}`);
      }
    }
    if (!done[0] && !done[1]) {
      const stuck = waiting.every((w) => w !== null && w.kind === 'lock-wait' && w.lock.held);
      if (stuck) throw new Error('deadlock in interleave');
    }
  }
  return results as [A, B];
}
