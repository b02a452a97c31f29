/**
 * The parsed form of a scenario file (see /work/shared/SCENARIO.md, the contract).
 *
 * Everything here is plain data: sizes are already bytes, names are checked, defaults are filled in,
 * and every step and expectation knows where it came from, so the runner can report `file:line:col`.
 */
import type { KernelName } from '../kernel/profiles.js';

/** Bytes per page: the model is x86-64 with 4 KiB pages. */
export { PAGE_SIZE } from '../hw/page.js';

/** The kernels a file may name: the profiles' names (kernel/profiles.ts). */
export { KERNEL_NAMES, type KernelName } from '../kernel/profiles.js';
export const DEFAULT_KERNEL: KernelName = 'v5.0';

export const PROTS = ['none', 'r', 'rw', 'rx', 'rwx'] as const;
export type Prot = (typeof PROTS)[number];

export const ADVICES = ['mergeable', 'unmergeable', 'dontneed', 'nohugepage'] as const;
export type Advice = (typeof ADVICES)[number];

/** What a guest, device or IOMMU access does (the file's `op: read | write` of those steps). */
export const ACCESS_KINDS = ['read', 'write'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

export const SIGNALS = ['SIGSEGV', 'SIGBUS'] as const;
export type SignalName = (typeof SIGNALS)[number];

export const COUNTER_OPS = ['==', '!=', '<', '<=', '>', '>='] as const;
export type CounterOp = (typeof COUNTER_OPS)[number];

/** When the runner checks the invariants of docs/INVARIANTS.md (an mmsim extension of the contract). */
export const INVARIANT_CHECK_MODES = ['every_step', 'at_end', 'off'] as const;
export type InvariantCheckMode = (typeof INVARIANT_CHECK_MODES)[number];

/**
 * Which USE_CHANGE_PTE rule invariant 5 enforces: the RFC v2 rule (default) or the strict text of the
 * original RFC, which its own replace_page breaks (docs/INVARIANTS.md item 5).
 */
export const CHANGE_PTE_RULES = ['v2', 'strict'] as const;
export type ChangePteRule = (typeof CHANGE_PTE_RULES)[number];

/**
 * The steps of the format, one entry per operation. Each step module (steps/*.ts) adds its own entry
 * (`declare module '../ast.js' { interface StepKinds { spawn: SpawnStep } }`) and steps/index.ts lists
 * the module in STEPS, which the compiler checks against this interface: adding a step is one new file
 * plus one line.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in steps/*.ts
export interface StepKinds {}
export type StepOp = keyof StepKinds;
export type Step = StepKinds[StepOp];

export const EXPECTATION_KINDS = [
  'same_frame',
  'distinct_frames',
  'zero_page',
  'ksm_page',
  'not_mapped',
  'writable',
  'read_only',
  'reads',
  'counters',
  'signal',
  'invariants',
  'violations',
] as const;
export type ExpectationKind = (typeof EXPECTATION_KINDS)[number];

/**
 * The kinds of things a scenario names (a mapping's name is per process, the others file-wide): besides
 * processes, mappings and pins, the instances of each secondary MMU kind (`vm`, `device`, `iommu`, or a
 * library user's kind's: see secondary-kinds.ts).
 */
export type NameKind = 'process' | 'mapping' | 'pin' | 'vm' | 'device' | 'iommu' | (string & {});

/** A place in a scenario file; line and col are 1-based. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/**
 * An address as written: `[proc:]base[+offset...]` or `[proc:]number[+offset...]`.
 * The virtual address is `start of mapping base in proc` + offset, or just offset when there is no base.
 */
export interface AddrExpr {
  /** The process whose address space it is. Filled in by the parser wherever it can be known. */
  proc?: string;
  /** A mapping name (from `mmap ... as:`). */
  base?: string;
  /** Bytes from the start of `base`, or the absolute virtual address when there is no base. */
  offset: number;
  /** The expression as written, for messages. */
  text: string;
  pos: SourcePos;
}

export interface Machine {
  ramBytes: number;
  cpus: number;
}

/** KSM's sysfs knobs (/sys/kernel/mm/ksm), with the kernel's defaults. */
export interface KsmOptions {
  pagesToScan: number;
  useZeroPages: boolean;
  maxPageSharing: number;
  mergeAcrossNodes: boolean;
  /** ksmd's sleep between batches; only the trace's timing depends on it. */
  sleepMillisecs: number;
}

export interface CheckOptions {
  invariants: InvariantCheckMode;
  changePteRule: ChangePteRule;
}

export interface Scenario {
  mmsim: 1;
  name: string;
  description: string;
  kernel: KernelName;
  seed: number;
  machine: Machine;
  ksm: KsmOptions;
  checks: CheckOptions;
  steps: Step[];
  expect: Expectation[];
}

// ---------------------------------------------------------------------------------------------------
// Steps

export interface StepBase {
  pos: SourcePos;
  /** Expectations checked right after this step (written beside the operation key). */
  expect?: Expectation[];
}

/** Page i of a pattern is a fixed function of (seed, i): equal seeds give equal pages. */
export interface Pattern {
  seed: number;
  pages: number;
}

/** What a write stores: exactly one of the four is present. */
export type Payload =
  | { data: string; bytes?: undefined; fill?: undefined; pattern?: undefined }
  | { bytes: number[]; data?: undefined; fill?: undefined; pattern?: undefined }
  | { fill: number; data?: undefined; bytes?: undefined; pattern?: undefined }
  | { pattern: Pattern; data?: undefined; bytes?: undefined; fill?: undefined };

export type NoPayload = { data?: undefined; bytes?: undefined; fill?: undefined; pattern?: undefined };

// ---------------------------------------------------------------------------------------------------
// Expectations

interface ExpectationBase {
  pos: SourcePos;
  /** The entry as written (whitespace collapsed), for results and messages. */
  text: string;
}

export interface FramesExpectation<K extends 'same_frame' | 'distinct_frames'> extends ExpectationBase {
  kind: K;
  addrs: AddrExpr[];
}

export interface AddrExpectation<K extends 'zero_page' | 'ksm_page' | 'not_mapped' | 'writable' | 'read_only'>
  extends ExpectationBase {
  kind: K;
  addr: AddrExpr;
}

export interface ReadsExpectation extends ExpectationBase {
  kind: 'reads';
  at: AddrExpr;
  equals: number[];
}

export interface CounterCheck {
  name: string;
  op: CounterOp;
  value: number;
  pos: SourcePos;
}

export interface CountersExpectation extends ExpectationBase {
  kind: 'counters';
  checks: CounterCheck[];
}

export interface SignalExpectation extends ExpectationBase {
  kind: 'signal';
  proc: string;
  signal: SignalName;
}

export interface InvariantsExpectation extends ExpectationBase {
  kind: 'invariants';
}

/** The invariants a violation can name (docs/INVARIANTS.md): an mmsim extension of the contract. */
export const INVARIANT_NAMES = ['coherence', 'stale-write', 'data', 'accounting', 'use-change-pte'] as const;
export type InvariantName = (typeof INVARIANT_NAMES)[number];

/**
 * `violations: {invariant: use-change-pte, count: ">= 1"}` (count defaults to ">= 1"): the scenario
 * expects these violations — a scenario that demonstrates a bug being caught. Expected violations do not
 * fail the run; any other violation still does.
 */
export interface ViolationsExpectation extends ExpectationBase {
  kind: 'violations';
  invariant: InvariantName;
  op: CounterOp;
  value: number;
}

export type Expectation =
  | FramesExpectation<'same_frame'>
  | FramesExpectation<'distinct_frames'>
  | AddrExpectation<'zero_page'>
  | AddrExpectation<'ksm_page'>
  | AddrExpectation<'not_mapped'>
  | AddrExpectation<'writable'>
  | AddrExpectation<'read_only'>
  | ReadsExpectation
  | CountersExpectation
  | SignalExpectation
  | InvariantsExpectation
  | ViolationsExpectation;
