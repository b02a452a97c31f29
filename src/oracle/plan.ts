/**
 * The primary-MMU part of a scenario, run in mmsim while the same steps are written down as the real
 * kernel's script (src/oracle/helper.c's line protocol). The model runs first: its mmap addresses, moved
 * down by REAL_OFFSET, are where the real mappings go (MAP_FIXED_NOREPLACE), so both sides name a page by
 * the same (process, address) and partitions compare directly.
 */
import { writePatternPage } from '../hw/content.js';
import { PAGE_SIZE } from '../hw/page.js';
import { type KernelName, PROFILES, type ProfileOverrides, withOverrides } from '../kernel/profiles.js';
import type { Kernel } from '../mm/kernel.js';
import { KSM_COUNTERS } from '../mm/ksm/counters.js';
import { type SharingGroup, sharingPartition } from '../mm/partition.js';
import type { AddrExpr, Scenario, SourcePos, Step } from '../scenario/ast.js';
import { ScenarioRun, type StepOutcome } from '../scenario/run.js';
import { isSecondaryStep } from '../scenario/secondary-kinds.js';
import { KNOB_FIELDS } from './fidelity.js';

/** Real address = model address - REAL_OFFSET: far below every mapping a C program has by itself. */
export const REAL_OFFSET = 0x1000_0000_0000;
/** The model addresses the oracle can replay: [WINDOW_LO, WINDOW_HI). */
export const WINDOW_LO = 0x7000_0000_0000;
export const WINDOW_HI = 0x8000_0000_0000;

/**
 * The KSM counters the oracle compares: sysfs files of the same names as the model's declared `ksm.*`
 * counters (ksm_zero_pages only where the running kernel has the file: v6.5+).
 */
export const COMPARED_KSM_COUNTERS: readonly (typeof KSM_COUNTERS.counters)[number][] = [
  'pages_shared',
  'pages_sharing',
  'pages_unshared',
  'pages_volatile',
  'ksm_zero_pages',
];

/** One side's state at a snapshot point. */
export interface SideState {
  /** Present pages by frame. */
  partition: SharingGroup[];
  /** Every page inside a vma, `proc:0xaddr` (present or not). */
  pages: Set<string>;
  counters: Record<string, number>;
}

export interface SnapshotPoint {
  /** `file:line:col` of the step, or `end`. */
  at: string;
  /** Steps executed before this point. */
  steps: number;
  procs: string[];
  model: SideState;
}

export interface StepRecord {
  index: number;
  at: string;
  op: string;
  /** What the model's system call or access returned: ok, an errno, SIGSEGV; ksm: full scans done. */
  model: string;
}

/** What a command's answer means. */
export type AnswerMeaning =
  | { kind: 'setup' }
  | { kind: 'step'; step: number }
  | { kind: 'snap'; point: number; proc: string }
  | { kind: 'counters'; point: number }
  | { kind: 'others' };

export interface Plan {
  kernel: KernelName;
  commands: string[];
  meanings: AnswerMeaning[];
  steps: StepRecord[];
  points: SnapshotPoint[];
  /** Steps left out (secondary MMUs, unpinnable gups), one line each. */
  skipped: string[];
  /** page key -> `proc:mapping+Np`, for the table. */
  labels: Map<string, string>;
}

const hex = (n: number): string => n.toString(16);
const at = (p: SourcePos): string => `${p.file}:${p.line}:${p.col}`;

/** A problem that keeps the oracle from replaying a scenario on the real kernel (exit 2). */
export class OracleScenarioError extends Error {
  constructor(
    readonly pos: SourcePos,
    message: string,
  ) {
    super(message);
  }
}

/** The steps the real kernel can run without a device; the rest are left out of both sides. */
function primaryPart(
  steps: readonly Step[],
  skipped: string[],
  pins: Set<string>,
  marks: Set<Step>,
  transient: Set<string>,
): Step[] {
  const out: Step[] = [];
  for (const [i, s] of steps.entries()) {
    const copy = { ...s, expect: [] } as Step;
    if (s.expect !== undefined && s.expect.length > 0) marks.add(copy);
    if (isSecondaryStep(s.op)) {
      skipped.push(`${at(s.pos)}: ${s.op} (a secondary MMU: not part of the primary-MMU comparison)`);
      continue;
    }
    switch (s.op) {
      case 'gup': {
        const next = steps[i + 1];
        if (s.pin && !s.write && next?.op === 'unpin' && next.pin === s.as) {
          // a read-only pin released at once: replayed as an O_DIRECT write from the pages
          transient.add(s.as);
          pins.add(s.as);
          break;
        }
        if (!s.pin || !s.write) {
          skipped.push(
            `${at(s.pos)}: gup without pin+write (the real kernel offers long-term pins without a device only as io_uring fixed buffers, FOLL_WRITE|FOLL_PIN, and read-only pins only as an O_DIRECT write: a read-only pin with its unpin right after)`,
          );
          continue;
        }
        pins.add(s.as);
        break;
      }
      case 'unpin':
        if (!pins.has(s.pin)) {
          skipped.push(`${at(s.pos)}: unpin of a gup left out`);
          continue;
        }
        break;
      case 'ksm':
        if (s.scanPages !== undefined) {
          skipped.push(`${at(s.pos)}: ksm scan: N pages (the real ksmd is driven by full scans only)`);
          continue;
        }
        break;
      case 'repeat':
        (copy as Extract<Step, { op: 'repeat' }>).steps = primaryPart(
          s.steps,
          skipped,
          pins,
          marks,
          transient,
        );
        break;
      case 'parallel':
        (copy as Extract<Step, { op: 'parallel' }>).threads = s.threads.map((t) =>
          primaryPart(t, skipped, pins, marks, transient),
        );
        break;
    }
    out.push(copy);
  }
  return out;
}

/** The model's state of the named processes: partition, vma pages, KSM counters. */
export function modelState(k: Kernel, procs: readonly string[], counter: (n: string) => number): SideState {
  const pages = new Set<string>();
  for (const name of procs) {
    const t = k.tasks.get(name);
    if (t === undefined || !t.alive) continue;
    for (const vma of t.mm.vmas)
      for (let a = vma.start; a < vma.end; a += PAGE_SIZE) pages.add(`${name}:0x${hex(a)}`);
  }
  const counters: Record<string, number> = {};
  for (const c of COMPARED_KSM_COUNTERS) counters[c] = counter(KSM_COUNTERS.name(c));
  return { partition: sharingPartition(k, procs), pages, counters };
}

/** Run the model and write the real script beside it. */
export function plan(
  scenario: Scenario,
  kernel: KernelName,
  overrides?: ProfileOverrides,
  options: { snapshotEvery?: boolean } = {},
): Plan {
  const skipped: string[] = [];
  const marks = new Set<Step>();
  const transient = new Set<string>();
  const filtered: Scenario = {
    ...scenario,
    kernel,
    expect: [],
    checks: { ...scenario.checks, invariants: 'off' },
    steps: primaryPart(scenario.steps, skipped, new Set(), marks, transient),
  };
  const commands: string[] = [];
  const meanings: AnswerMeaning[] = [];
  const emit = (cmd: string, m: AnswerMeaning): void => {
    commands.push(cmd);
    meanings.push(m);
  };
  const setup = (cmd: string): void => emit(cmd, { kind: 'setup' });
  setup('lock');
  setup('settle');
  emit('others', { kind: 'others' });
  const ksm = scenario.ksm;
  setup('knob pages_to_scan 100000');
  // knobs that follow the profile (smart_scan: on where the profile has smart scan, v6.7+, else off)
  const profile = withOverrides(PROFILES[kernel], overrides);
  for (const { field, knob } of KNOB_FIELDS) setup(`knob ${knob} ${profile[field] ? 1 : 0}`);
  setup(`knob use_zero_pages ${ksm.useZeroPages ? 1 : 0}`);
  setup(`knob max_page_sharing ${ksm.maxPageSharing}`);
  setup(`knob merge_across_nodes ${ksm.mergeAcrossNodes ? 1 : 0}`);

  const steps: StepRecord[] = [];
  const points: SnapshotPoint[] = [];
  const labels = new Map<string, string>();
  const alive: string[] = [];
  const mappingNames = new Map<string, Map<string, number>>(); // proc -> name -> size
  const pinOwner = new Map<string, string>();
  let scansBefore = 0;
  const onStep = (index: number, step: Step): void => {
    const scans = w.ksm.fullScans - scansBefore;
    scansBefore = w.ksm.fullScans;
    const cmd = command(step, scans);
    if (cmd !== null) {
      steps.push({ index, at: at(step.pos), op: step.op, model: step.op === 'ksm' ? `ok ${scans}` : 'ok' });
      emit(cmd, { kind: 'step', step: steps.length - 1 });
    }
    // a repeat or parallel step is a container: its inner steps snapshot themselves
    if (marks.has(step) || (options.snapshotEvery && cmd !== null)) snapshot(at(step.pos));
  };
  const run = new ScenarioRun(filtered, { kernel, profileOverrides: overrides, onStep });
  const w = run.world;

  const resolve = (a: AddrExpr, proc: string): number => {
    if (a.base === undefined) return a.offset;
    const start = run.mappingStart(a.proc ?? proc, a.base);
    if (start === undefined) throw new OracleScenarioError(a.pos, `mapping ${a.base} is not mapped here`);
    return start + a.offset;
  };
  const real = (addr: number, pos: SourcePos): string => {
    if (addr < WINDOW_LO || addr >= WINDOW_HI)
      throw new OracleScenarioError(
        pos,
        `address 0x${hex(addr)} is outside the window the oracle replays (0x${hex(WINDOW_LO)}..0x${hex(WINDOW_HI)})`,
      );
    return hex(addr - REAL_OFFSET);
  };
  const snapshot = (where: string): void => {
    const point = points.length;
    const procs = [...alive];
    points.push({
      at: where,
      steps: steps.length,
      procs,
      model: modelState(w.kernel, procs, (n) => w.counters.get(n)),
    });
    for (const p of procs)
      emit(`snap ${p} ${hex(WINDOW_LO - REAL_OFFSET)} ${hex(WINDOW_HI - REAL_OFFSET)}`, {
        kind: 'snap',
        point,
        proc: p,
      });
    emit('counters', { kind: 'counters', point });
  };
  const label = (proc: string, name: string): void => {
    const start = run.mappingStart(proc, name);
    const size = mappingNames.get(proc)?.get(name);
    if (start === undefined || size === undefined) return;
    for (let i = 0; i * PAGE_SIZE < size; i++)
      labels.set(`${proc}:0x${hex(start + i * PAGE_SIZE)}`, `${proc}:${name}+${i}p`);
  };

  const command = (step: Step, scans: number): string | null => {
    switch (step.op) {
      case 'spawn':
        alive.push(step.proc);
        mappingNames.set(step.proc, new Map());
        return `spawn ${step.proc}`;
      case 'mmap': {
        const start = run.mappingStart(step.proc, step.as);
        mappingNames.get(step.proc)?.set(step.as, step.size);
        label(step.proc, step.as);
        const addr = start ?? (step.at === undefined ? WINDOW_HI - PAGE_SIZE : resolve(step.at, step.proc));
        return `${step.proc} mmap ${real(addr, step.pos)} ${hex(step.size)} ${step.prot} ${step.shared ? 1 : 0}`;
      }
      case 'munmap':
      case 'mprotect':
      case 'madvise': {
        const arg = step.op === 'mprotect' ? ` ${step.prot}` : step.op === 'madvise' ? ` ${step.advice}` : '';
        return `${step.proc} ${step.op} ${real(resolve(step.addr, step.proc), step.pos)} ${hex(step.size)}${arg}`;
      }
      case 'write': {
        const addr = real(resolve(step.addr, step.proc), step.pos);
        if (step.fill !== undefined) return `${step.proc} fill ${addr} ${hex(step.size)} ${hex(step.fill)}`;
        let bytes: Uint8Array;
        if (step.pattern !== undefined) {
          bytes = new Uint8Array(step.pattern.pages * PAGE_SIZE);
          for (let i = 0; i < step.pattern.pages; i++)
            writePatternPage(bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), step.pattern.seed, i);
          bytes = bytes.subarray(0, step.size);
        } else if (step.bytes !== undefined) bytes = Uint8Array.from(step.bytes);
        else bytes = new TextEncoder().encode(step.data ?? '');
        return `${step.proc} write ${addr} ${Buffer.from(bytes).toString('hex')}`;
      }
      case 'read':
        return `${step.proc} read ${real(resolve(step.addr, step.proc), step.pos)} ${hex(step.size)}`;
      case 'fork':
        alive.push(step.child);
        mappingNames.set(step.child, new Map(mappingNames.get(step.proc)));
        for (const name of mappingNames.get(step.child)!.keys()) label(step.child, name);
        return `${step.proc} fork ${step.child}`;
      case 'exit':
        alive.splice(alive.indexOf(step.proc), 1);
        return `${step.proc} exit`;
      case 'ksm':
        // Ask for the scans the model did: fewer than the step's means ksmd ran out of mms (the last
        // mm_slot went at ksmd's visit), and the real ksmd would then sit idle until the timeout. None:
        // ksmd has no mm to scan; a short wait shows the real one has none either.
        return scans === 0 ? `ksm ${step.fullScans} 100` : `ksm ${scans} 10000`;
      case 'gup':
        pinOwner.set(step.as, step.proc);
        if (transient.has(step.as))
          return `${step.proc} odirect ${real(resolve(step.addr, step.proc), step.pos)} ${hex(step.pages * PAGE_SIZE)}`;
        return `${step.proc} pin ${step.as} ${real(resolve(step.addr, step.proc), step.pos)} ${hex(step.pages * PAGE_SIZE)}`;
      case 'unpin':
        return transient.has(step.pin) ? null : `${pinOwner.get(step.pin)} unpin ${step.pin}`;
      default:
        return null;
    }
  };

  const result = run.run();
  snapshot('end');
  for (const p of [...alive]) setup(`${p} exit`);
  setup('settle');
  const byIndex = new Map<number, StepOutcome>();
  for (const o of result.outcomes) if (!byIndex.has(o.step)) byIndex.set(o.step, o);
  for (const s of steps) {
    const o = byIndex.get(s.index);
    if (o !== undefined) s.model = o.result === 'SIGSEGV' ? 'sig SIGSEGV' : `err ${o.result}`;
  }
  return { kernel, commands, meanings, steps, points, skipped, labels };
}

/** The model page key of a real address. */
export function modelKey(proc: string, realAddr: number): string {
  return `${proc}:0x${hex(realAddr + REAL_OFFSET)}`;
}

/** One `snap` answer as a side's partition and vma pages. */
export function parseSnap(
  proc: string,
  answer: string,
  into: { groups: Map<string, string[]>; kinds: Map<string, SharingGroup['kind']>; pages: Set<string> },
): void {
  const tokens = answer.split(' ').slice(1);
  let addr = 0;
  for (const tok of tokens) {
    const colon = tok.indexOf(':');
    if (colon > 0) {
      addr = Number.parseInt(tok.slice(0, colon), 16);
      continue;
    }
    const key = modelKey(proc, addr);
    addr += PAGE_SIZE;
    into.pages.add(key);
    if (tok === 'n' || tok === 's') continue;
    const frame = tok === 'z' ? 'zero' : tok.slice(1);
    const kind = tok === 'z' ? 'zero' : tok[0] === 'k' ? 'ksm' : 'anon';
    let list = into.groups.get(frame);
    if (list === undefined) into.groups.set(frame, (list = []));
    list.push(key);
    into.kinds.set(frame, kind);
  }
}
