/**
 * The scenario file's structure as a TypeScript type, so a library user writes the same things a file
 * user does (SCENARIO.md): `run({ mmsim: 1, steps: [{ spawn: 'p' }, ...], expect: [...] })`.
 */

import type { KernelName } from '../kernel/profiles.js';

type Size = number | string;
type Address = number | string;
type Bytes = string | number[];
type Access = 'read' | 'write';
type Payload = {
  data?: string;
  bytes?: number[];
  fill?: number;
  pattern?: number | { seed: number; pages?: number };
  size?: Size;
};

export type ScenarioStep =
  | { spawn: string | { proc: string } }
  | {
      mmap: {
        proc: string;
        size: Size;
        prot: 'none' | 'r' | 'rw' | 'rx' | 'rwx';
        as: string;
        at?: Address;
        shared?: boolean;
      };
    }
  | { munmap: { proc: string; addr: Address; size: Size } }
  | { mprotect: { proc: string; addr: Address; size: Size; prot: 'none' | 'r' | 'rw' | 'rx' | 'rwx' } }
  | {
      madvise: {
        proc: string;
        addr: Address;
        size: Size;
        advice: 'mergeable' | 'unmergeable' | 'dontneed' | 'nohugepage';
      };
    }
  | { write: { proc: string; addr: Address } & Payload }
  | { read: { proc: string; addr: Address; size?: Size; expect?: Bytes } }
  | { fork: { proc: string; child: string } }
  | { exit: string | { proc: string } }
  | { ksm: { scan: Size } | { full_scans: number } }
  | {
      vm: {
        name: string;
        proc: string;
        memslots: { gfn: number; addr: Address; size: Size }[];
        vcpus?: number;
      };
    }
  | { guest: { vm: string; op: Access; gfn?: number; gpa?: number; pages?: number } & Payload }
  | { device: { name: string; proc: string } }
  | { dev: { device: string; op: Access; addr: Address; pages?: number } }
  | { iommu: { name: string; proc: string } }
  | { dma: { iommu: string; op: Access; addr: Address; pages?: number } }
  | { gup: { proc: string; addr: Address; pages: number; write?: boolean; pin?: boolean; as: string } }
  | { unpin: string | { pin: string } }
  | { repeat: { times: number; steps: ScenarioStepWithExpect[] } }
  | { parallel: { threads: ScenarioStepWithExpect[][] } };

export type ScenarioStepWithExpect = ScenarioStep & { expect?: ScenarioExpectation[] };

export type ScenarioExpectation =
  | { same_frame: Address[] }
  | { distinct_frames: Address[] }
  | { zero_page: Address }
  | { ksm_page: Address }
  | { not_mapped: Address }
  | { writable: Address }
  | { read_only: Address }
  | { reads: { at: Address; equals: Bytes } }
  | { counters: Record<string, number | string> }
  | { signal: { proc: string; is: 'SIGSEGV' | 'SIGBUS' } }
  | { invariants: 'hold' }
  | { violations: string | { invariant: string; count?: number | string } };

/** A scenario document, exactly as a YAML or JSON file would hold it. */
export interface ScenarioDocument {
  mmsim: 1;
  name?: string;
  description?: string;
  kernel?: KernelName;
  seed?: number;
  machine?: { ram?: Size; cpus?: number };
  ksm?: {
    pages_to_scan?: number;
    use_zero_pages?: boolean;
    max_page_sharing?: number;
    merge_across_nodes?: boolean;
    sleep_millisecs?: number;
  };
  checks?: { invariants?: 'every_step' | 'at_end' | 'off'; change_pte_rule?: 'v2' | 'strict' };
  steps: ScenarioStepWithExpect[];
  expect?: ScenarioExpectation[];
}
