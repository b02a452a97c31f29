/** Shared set-up for the primary-MMU tests: a World (the invariant checker and flag validator watching). */

import { expect } from 'vitest';
import { ZERO_PFN } from '../../src/hw/frames.js';
import { ptePfn, ptePresent, pteSpecial, pteWrite } from '../../src/hw/pte.js';
import type { KernelName } from '../../src/kernel/profiles.js';
import type { AccessOutcome } from '../../src/mm/access.js';
import type { Kernel } from '../../src/mm/kernel.js';
import type { KsmConfig } from '../../src/mm/ksm/index.js';
import type { Mm } from '../../src/mm/mm.js';
import type { MmSystem } from '../../src/mm/system.js';
import type { InvariantChecker } from '../../src/notifier/invariants.js';
import type { Violations } from '../../src/notifier/violations.js';
import { World } from '../../src/scenario/world.js';

export const PAGE = 4096;

export interface Harness {
  world: World;
  sys: MmSystem;
  checker: InvariantChecker;
  violations: Violations;
  /** The raw pte at (proc, addr). */
  pte(proc: string, addr: number): number;
  /** The pfn mapped at (proc, addr), ZERO_PFN for the zero page, -1 if nothing is present. */
  pfn(proc: string, addr: number): number;
  writable(proc: string, addr: number): boolean;
  /** Sweep the invariants now and fail on any violation. */
  clean(): void;
  /** Read `len` bytes as a string (fails if the access faults). */
  str(proc: string, addr: number, len: number): string;
  bytes(proc: string, addr: number, len: number): number[];
}

export function harness(
  kernel: KernelName = 'v5.0',
  opts: { ramBytes?: number; cpus?: number; ksm?: Partial<KsmConfig> } = {},
): Harness {
  const world = new World({
    kernel,
    ramBytes: opts.ramBytes ?? 16 << 20,
    cpus: opts.cpus ?? 2,
    ksm: opts.ksm,
  });
  const { sys, violations } = world;
  const checker = world.checker!;
  const pte = (proc: string, addr: number): number => sys.task(proc).mm.pt.get(Math.floor(addr / PAGE));
  const h: Harness = {
    world,
    sys,
    checker,
    violations,
    pte,
    pfn(proc, addr) {
      const p = pte(proc, addr);
      if (!ptePresent(p)) return -1;
      return pteSpecial(p) ? ZERO_PFN : ptePfn(p);
    },
    writable: (proc, addr) => pteWrite(pte(proc, addr)),
    clean() {
      checker.checkNow();
      expect(violations.list).toEqual([]);
    },
    str(proc, addr, len) {
      return new TextDecoder().decode(data(sys.read(proc, addr, len)));
    },
    bytes(proc, addr, len) {
      return Array.from(data(sys.read(proc, addr, len)));
    },
  };
  return h;
}

export function data(r: AccessOutcome): Uint8Array {
  if (!r.ok) throw new Error(`access failed: ${r.error}`);
  return r.data!;
}

export function addr(r: number | string): number {
  if (typeof r !== 'number') throw new Error(`mmap failed: ${r}`);
  return r;
}

/** Frames in use right now. */
export function framesUsed(h: Harness): number {
  return h.sys.kernel.frames.used;
}

/**
 * A device writes `bytes` at `address` of `mm` through a pin on `pfn` (DMA: no page table involved), and
 * the observers hear of it as a write by that device.
 */
export function dmaWrite(
  k: Kernel,
  device: string,
  mm: Mm,
  address: number,
  pfn: number,
  bytes: Uint8Array,
): void {
  const agent = k.agents.find((a) => a.name === device) ?? k.newAgent(device, -1);
  const before = k.frames.raw.content[pfn];
  const after = k.contents.write(before, address % PAGE, bytes);
  k.setContent(pfn, after);
  k.accessed(agent, mm, address, true, pfn, before, after, `dma:${device}`);
}
