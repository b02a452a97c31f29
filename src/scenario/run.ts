/**
 * The scenario runner: executes a parsed Scenario on a World, step by step, checks the invariants
 * after each step (per the scenario's `checks`), evaluates every expectation, and returns the result
 * the contract describes (SCENARIO.md "Result").
 */

import { PG_KSM, ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE } from '../hw/page.js';
import { ptePfn, ptePresent, pteSpecial, pteWrite } from '../hw/pte.js';
import { isKernelName, type KernelName, type ProfileOverrides, profileSettings } from '../kernel/profiles.js';
import { type StoreSource, userAccess } from '../mm/access.js';
import type { Task } from '../mm/kernel.js';
import { doMadvise, doMprotect, doMunmap, parseProt } from '../mm/mmap.js';
import { accessFrame } from '../secondary/common.js';
import { KvmSetupError } from '../secondary/kvm/index.js';
import { type Agent, type Path, runToCompletion } from '../sim/exec.js';
import type { LogEvent } from '../sim/log.js';
import { Scheduler, type Thread } from '../sim/scheduler.js';
import type { PreemptionBoundedSearch } from '../sim/search.js';
import type { AddrExpr, Expectation, Payload, Scenario, SourcePos, Step } from './ast.js';
import { World } from './world.js';

export interface ExpectationResult {
  text: string;
  ok: boolean;
  actual: unknown;
  /** Where it was written: file:line:col. */
  at: string;
}

export interface ViolationResult {
  invariant: string;
  message: string;
  step: number;
  /** The step's source position, file:line:col. */
  at: string;
  agents: string[];
  addresses: string[];
  trace: { replay: string; events: string[] };
}

/** A step whose system call or access did not succeed (errno, signal): not an error of the file. */
export interface StepOutcome {
  step: number;
  at: string;
  op: string;
  /** The errno or signal (e.g. ENOMEM, SIGSEGV, EOPNOTSUPP). */
  result: string;
  /** Where it happened when a step touches many pages: the first and last page, and how many. */
  where?: { first: string; last: string; count: number };
}

export interface RunResult {
  name: string;
  kernel: KernelName;
  seed: number;
  ok: boolean;
  counters: Record<string, number>;
  expectations: ExpectationResult[];
  violations: ViolationResult[];
  outcomes: StepOutcome[];
  traceHash: string;
}

export interface RunOptions {
  kernel?: KernelName;
  seed?: number;
  /** Keep the full event log on the returned run (for --trace and --steps). */
  keepEvents?: boolean;
  /** Called after each step (for --steps and progress). */
  onStep?: (index: number, step: Step, world: World) => void;
  /** How the file was named, for the replay line. */
  file?: string;
  /**
   * Run `parallel` threads interleaved at every preemption point, in the order a random walk seeded with
   * this number chooses (the model checker's driver). Without it, threads run one after another.
   */
  interleave?: number;
  /** What-if changes to the kernel profile. */
  profileOverrides?: ProfileOverrides;
  /** Drive `parallel` threads by a preemption-bounded exhaustive search (one schedule per run). */
  search?: PreemptionBoundedSearch;
  /** Replay one schedule: the thread index chosen at every pause, in run-length form "0*5,1*2,0*30". */
  schedule?: string;
}

/** A problem in the file that only shows when running it (an address past its mapping's end). */
export class ScenarioRuntimeError extends Error {
  constructor(
    readonly pos: SourcePos,
    message: string,
  ) {
    super(message);
  }
}

const at = (p: SourcePos): string => `${p.file}:${p.line}:${p.col}`;

interface MappingRecord {
  start: number;
  size: number;
}

export class ScenarioRun {
  readonly world: World;
  readonly kernelName: KernelName;
  readonly seed: number;
  private readonly mappings = new Map<string, Map<string, MappingRecord>>();
  private readonly expectations: ExpectationResult[] = [];
  private readonly outcomes: StepOutcome[] = [];
  private stepIndex = 0;
  private readonly stepPos: SourcePos[] = [];

  constructor(
    readonly scenario: Scenario,
    readonly options: RunOptions = {},
  ) {
    this.kernelName = options.kernel ?? scenario.kernel;
    if (!isKernelName(this.kernelName)) throw new Error(`unknown kernel ${this.kernelName}`);
    this.seed = options.seed ?? scenario.seed;
    this.world = new World({
      kernel: this.kernelName,
      seed: this.seed,
      ramBytes: scenario.machine.ramBytes,
      cpus: scenario.machine.cpus,
      recording: true,
      ksm: {
        pagesToScan: scenario.ksm.pagesToScan,
        useZeroPages: scenario.ksm.useZeroPages,
        maxPageSharing: scenario.ksm.maxPageSharing,
        mergeAcrossNodes: scenario.ksm.mergeAcrossNodes,
      },
      checks: scenario.checks.invariants !== 'off',
      changePteRule: scenario.checks.changePteRule === 'v2' ? 'v2' : 'strict',
      profileOverrides: options.profileOverrides,
    });
  }

  /** Run every step and expectation; throws ScenarioRuntimeError for a file problem found at run time. */
  run(): RunResult {
    for (const step of this.scenario.steps) this.runStep(step);
    this.world.violations.step = -1;
    if (this.scenario.checks.invariants !== 'off') this.world.checkNow();
    for (const e of this.scenario.expect) this.evaluate(e);
    const violations = this.world.violations.list.map((v) => this.violationResult(v));
    // violations the file expects (a `violations:` expectation) are the point of the scenario
    const expected = new Set<string>();
    const collect = (list: readonly Expectation[]): void => {
      for (const e of list) if (e.kind === 'violations') expected.add(e.invariant);
    };
    collect(this.scenario.expect);
    const walk = (steps: readonly Step[]): void => {
      for (const st of steps) {
        collect(st.expect ?? []);
        if (st.op === 'repeat') walk(st.steps);
        if (st.op === 'parallel') for (const t of st.threads) walk(t);
      }
    };
    walk(this.scenario.steps);
    const unexpected = violations.filter((v) => !expected.has(v.invariant));
    return {
      name: this.scenario.name,
      kernel: this.kernelName,
      seed: this.seed,
      ok: this.expectations.every((e) => e.ok) && unexpected.length === 0,
      counters: this.world.counterValues(),
      expectations: this.expectations,
      violations,
      outcomes: this.outcomes,
      traceHash: this.world.kernel.machine.log.hash(),
    };
  }

  /** Where mapping `name` of `proc` starts now (the differential oracle replays addresses), if mapped. */
  mappingStart(proc: string, name: string): number | undefined {
    return this.mappings.get(proc)?.get(name)?.start;
  }

  get events(): readonly LogEvent[] {
    return this.world.kernel.machine.log.events;
  }

  private violationResult(v: {
    invariant: string;
    message: string;
    step: number;
    seq: number;
    agents: string[];
    addresses: string[];
  }): ViolationResult {
    const events = this.events
      .filter((e) => e.seq <= v.seq)
      .slice(-12)
      .map(formatEvent);
    const file = this.options.file ?? this.scenario.steps[0]?.pos.file ?? 'scenario';
    return {
      invariant: v.invariant,
      message: v.message,
      step: v.step,
      at: v.step >= 0 && this.stepPos[v.step] ? at(this.stepPos[v.step]) : '',
      agents: v.agents,
      addresses: v.addresses,
      trace: { replay: this.replayCommand(file), events },
    };
  }

  /** The command line that reproduces this run exactly. */
  private replayCommand(file: string): string {
    const parts = ['mmsim run', file, '--kernel', this.kernelName, '--seed', String(this.seed)];
    if (this.options.search !== undefined || this.options.schedule !== undefined) {
      parts.push('--schedule', compressSchedule(this.decisions));
    } else if (this.options.interleave !== undefined)
      parts.push('--interleave', String(this.options.interleave));
    for (const setting of profileSettings(this.options.profileOverrides)) parts.push('--set', setting);
    parts.push('--steps');
    return parts.join(' ');
  }

  // ---- steps ----

  private runStep(step: Step): void {
    if (step.op === 'repeat') {
      for (let i = 0; i < step.times; i++) for (const s of step.steps) this.runStep(s);
      return;
    }
    if (step.op === 'parallel') {
      if (
        this.options.interleave !== undefined ||
        this.options.search !== undefined ||
        this.options.schedule !== undefined
      ) {
        this.runInterleaved(step, this.options.interleave ?? 0);
        return;
      }
      // the sequential runner takes the threads in order; the scheduler explores interleavings
      for (const thread of step.threads) for (const s of thread) this.runStep(s);
      return;
    }
    const index = this.stepIndex++;
    this.stepPos[index] = step.pos;
    const k = this.world.kernel;
    this.world.violations.step = index;
    if (k.recording) k.log({ agent: 'scenario', cpu: -1, kind: 'step', what: step.op, detail: at(step.pos) });
    this.execute(step);
    if (this.scenario.checks.invariants === 'every_step') this.world.checkNow();
    for (const e of step.expect ?? []) this.evaluate(e);
    this.options.onStep?.(index, step, this.world);
  }

  // ---- interleaved parallel threads ----

  private readonly threadTasks = new Map<string, Task>();
  /** Thread index chosen at every pause of every interleaved `parallel` step, in order. */
  readonly decisions: number[] = [];
  private replayAt = 0;
  private replayList: number[] | null = null;

  /** A chooser that follows `options.schedule`, then the non-preemptive default. */
  private replayChooser(sched: Scheduler) {
    if (this.replayList === null) this.replayList = expandSchedule(this.options.schedule ?? '');
    return (ready: readonly Thread[], current: Thread | null): Thread => {
      const want = this.replayList![this.replayAt++];
      const pick = want === undefined ? undefined : sched.threads[want];
      if (pick !== undefined && ready.includes(pick)) return pick;
      return current !== null && ready.includes(current) ? current : ready[0];
    };
  }

  /** Run the threads of a `parallel` step interleaved by a seeded random walk over their pauses. */
  private runInterleaved(step: Extract<Step, { op: 'parallel' }>, seed: number): void {
    const sched = new Scheduler();
    step.threads.forEach((steps, i) => {
      sched.add(`thread${i}`, this.threadPath(steps, i));
    });
    const search = this.options.search;
    if (search !== undefined) sched.runWith((ready, current) => search.choose(ready, current, sched.threads));
    else if (this.options.schedule !== undefined) sched.runWith(this.replayChooser(sched));
    else sched.runAll((seed ^ Math.imul(this.stepIndex + 1, 0x9e3779b1)) >>> 0);
    this.decisions.push(...sched.decisions.map((name) => Number(name.slice('thread'.length))));
    const k = this.world.kernel;
    if (k.recording)
      k.log({
        agent: 'scenario',
        cpu: -1,
        kind: 'step',
        what: 'interleaving',
        detail: sched.decisions.join(' '),
      });
    if (this.scenario.checks.invariants === 'every_step') this.world.checkNow();
    for (const e of step.expect ?? []) this.evaluate(e);
  }

  private *threadPath(steps: readonly Step[], thread: number): Path {
    for (const st of steps) {
      if (st.op === 'repeat') {
        for (let i = 0; i < st.times; i++) yield* this.threadPath(st.steps, thread);
        continue;
      }
      if (st.op === 'parallel') {
        for (const t of st.threads) yield* this.threadPath(t, thread);
        continue;
      }
      const index = this.stepIndex++;
      this.stepPos[index] = st.pos;
      this.world.violations.step = index;
      yield* this.stepPath(st, thread);
      for (const e of st.expect ?? []) this.evaluate(e);
    }
  }

  /** Thread `thread`'s view of process `proc`: the process itself for thread 0, else another thread of it. */
  private threadTask(proc: string, thread: number): Task {
    const task = this.world.task(proc);
    if (thread === 0) return task;
    const key = `${proc}/${thread}`;
    let t = this.threadTasks.get(key);
    if (t === undefined || t.mm !== task.mm) {
      t = task.thread(this.world.kernel.newAgent(`${proc}.t${thread}`));
      this.threadTasks.set(key, t);
    }
    return t;
  }

  /** A step as a path that pauses where its kernel paths do; setup steps run at once. */
  private *stepPath(step: Exclude<Step, { op: 'repeat' } | { op: 'parallel' }>, thread: number): Path {
    const w = this.world;
    const k = w.kernel;
    switch (step.op) {
      case 'write': {
        const addr = this.resolve(step.addr, step.proc, step.size);
        const t = this.threadTask(step.proc, thread);
        const r = yield* userAccess(k, t, addr, step.size, this.storeSource(step, addr, step.size));
        if (!r.ok) this.outcome(step, r.error);
        return;
      }
      case 'read': {
        const addr = this.resolve(step.addr, step.proc, step.size);
        const r = yield* userAccess(k, this.threadTask(step.proc, thread), addr, step.size, undefined, true);
        if (!r.ok) this.outcome(step, r.error);
        if (step.equals !== undefined)
          this.checkRead(step, r.ok && r.data ? [...r.data] : null, r.ok ? null : r.error);
        return;
      }
      case 'ksm':
        yield* w.ksm.scanThread(
          step.fullScans !== undefined ? { fullScans: step.fullScans } : { pages: step.scanPages },
        );
        return;
      case 'guest': {
        const g = w.guests.get(step.vm);
        if (g === undefined) {
          this.outcome(step, 'ENODEV', `no VM ${step.vm} (its creation failed)`);
          return;
        }
        for (let i = 0; i < step.pages; i++) {
          const write = step.access === 'write';
          const r = yield* g.guestAccess(
            thread % Math.max(1, g.vcpus.length),
            step.gfn + i,
            write,
            write ? this.guestSource(step, i) : undefined,
            false,
            write ? undefined : (step.size ?? PAGE_SIZE),
          );
          if (!r.ok) this.outcome(step, r.error, `gfn ${step.gfn + i}`);
        }
        return;
      }
      case 'dev': {
        const d = w.devices.get(step.device)!;
        const addr = this.resolve(step.addr, d.task.name, step.pages * PAGE_SIZE);
        for (let i = 0; i < step.pages; i++) {
          const a = addr + i * PAGE_SIZE;
          const r = yield* d.devAccess(
            a,
            step.access === 'write',
            step.access === 'write' ? this.deviceFill(i) : undefined,
          );
          if (!r.ok) this.outcome(step, r.error, `0x${a.toString(16)}`);
        }
        return;
      }
      case 'dma': {
        const d = w.iommus.get(step.iommu);
        if (d === undefined) {
          this.outcome(step, 'ENODEV', `no IOMMU binding ${step.iommu} (its bind failed)`);
          return;
        }
        const addr = this.resolve(step.addr, d.task.name, step.pages * PAGE_SIZE);
        for (let i = 0; i < step.pages; i++) {
          const a = addr + i * PAGE_SIZE;
          const r = yield* d.dma(
            a,
            step.access === 'write',
            step.access === 'write' ? this.deviceFill(i) : undefined,
          );
          if (!r.ok) this.outcome(step, r.error, `0x${a.toString(16)}`);
        }
        return;
      }
      case 'pin_io': {
        const pin = w.sys.pin(step.pin);
        if (pin === undefined) {
          this.outcome(step, 'ENOENT', `no pin ${step.pin} (its gup failed)`);
          return;
        }
        const write = step.access === 'write';
        const agent = this.pinAgent(step.pin);
        pin.result.pfns.forEach((pfn, i) => {
          const store = write ? this.deviceFill(i) : undefined;
          const address = pin.address + i * PAGE_SIZE;
          accessFrame(
            k,
            agent,
            pin.task.mm,
            address,
            pfn,
            store,
            0,
            PAGE_SIZE,
            0,
            undefined,
            0,
            `pin:${step.pin}`,
          );
        });
        return;
      }
      case 'exit':
        yield* w.sys.exitPath(step.proc);
        return;
      case 'munmap': {
        const t = this.threadTask(step.proc, thread);
        const r = yield* doMunmap(k, t.agent, t.mm, this.resolve(step.addr, step.proc), step.size);
        this.errno(step, r);
        return;
      }
      case 'madvise': {
        const t = this.threadTask(step.proc, thread);
        const r = yield* doMadvise(
          k,
          t.agent,
          t.mm,
          this.resolve(step.addr, step.proc),
          step.size,
          step.advice,
          w.sys.ksm,
        );
        this.errno(step, r);
        return;
      }
      case 'mprotect': {
        const t = this.threadTask(step.proc, thread);
        const prot = parseProt(step.prot)!;
        const r = yield* doMprotect(k, t.agent, t.mm, this.resolve(step.addr, step.proc), step.size, prot);
        this.errno(step, r);
        return;
      }
      default:
        // setup and bookkeeping steps (spawn, mmap, vm, fork, exit, gup, ...) happen at once
        this.executeAtOnce(step);
    }
  }

  private checkRead(step: Extract<Step, { op: 'read' }>, got: number[] | null, error: string | null): void {
    const want = step.equals!;
    const ok = got !== null && got.length === want.length && got.every((b, i) => b === want[i]);
    this.expectations.push({
      text: `read ${step.addr.text} equals ${describeBytes(want)}`,
      ok,
      actual: got === null ? error : describeBytes(got),
      at: at(step.pos),
    });
  }

  /** A step's system call or access failed in the model's terms; repeats within one step are merged. */
  private outcome(step: Step, result: string, where?: string): void {
    const index = this.stepIndex - 1;
    const last = this.outcomes[this.outcomes.length - 1];
    if (where !== undefined && last?.step === index && last.result === result && last.where !== undefined) {
      last.where.last = where;
      last.where.count++;
      return;
    }
    this.outcomes.push({
      step: index,
      at: at(step.pos),
      op: step.op,
      result,
      ...(where === undefined ? {} : { where: { first: where, last: where, count: 1 } }),
    });
  }

  /** Run one step to completion: through its path, or at once for setup steps. */
  private execute(step: Exclude<Step, { op: 'repeat' } | { op: 'parallel' }>): void {
    runToCompletion(this.stepPath(step, 0));
  }

  /** Steps that take no kernel path worth interleaving: set-up and bookkeeping. */
  private executeAtOnce(step: Exclude<Step, { op: 'repeat' } | { op: 'parallel' }>): void {
    const w = this.world;
    const sys = w.sys;
    switch (step.op) {
      case 'spawn':
        sys.spawn(step.proc);
        this.mappings.set(step.proc, new Map());
        return;
      case 'mmap': {
        const at = step.at === undefined ? undefined : this.resolve(step.at, step.proc);
        const r = sys.mmap(step.proc, step.size, step.prot, { at, shared: step.shared });
        if (typeof r === 'string') this.outcome(step, r);
        else this.mappings.get(step.proc)!.set(step.as, { start: r, size: step.size });
        return;
      }
      case 'fork': {
        const r = sys.fork(step.proc, step.child);
        if (typeof r === 'string') this.outcome(step, r);
        this.mappings.set(step.child, new Map(this.mappings.get(step.proc)));
        return;
      }
      case 'vm':
        try {
          w.addVm(
            step.name,
            step.proc,
            step.memslots.map((m) => ({
              gfn: m.gfn,
              addr: this.resolve(m.addr, step.proc, m.size),
              size: m.size,
            })),
            step.vcpus,
          );
        } catch (e) {
          if (!(e instanceof KvmSetupError)) throw e;
          this.outcome(step, e.errno, e.message.slice(e.errno.length + 2));
        }
        return;
      case 'device':
        w.addDevice(step.name, step.proc);
        return;
      case 'iommu': {
        const r = w.addIommu(step.name, step.proc);
        if (typeof r === 'string') this.outcome(step, r);
        return;
      }
      case 'gup': {
        const addr = this.resolve(step.addr, step.proc, step.pages * PAGE_SIZE);
        const r = sys.gup(step.proc, addr, step.pages, { write: step.write, pin: step.pin, name: step.as });
        this.errno(step, r);
        const pin = sys.pin(step.as);
        if (r === null && pin !== undefined)
          w.checker?.notePin(`pin:${step.as}`, pin.task.mm, addr, pin.result.pfns);
        return;
      }
      case 'unpin':
        this.errno(step, sys.unpin(step.pin));
        w.checker?.forgetPin(`pin:${step.pin}`);
        return;
      default:
        throw new Error(`${step.op} has a kernel path: run it through stepPath`);
    }
  }

  private errno(step: Step, r: string | null): void {
    if (r !== null) this.outcome(step, r);
  }

  /** What a CPU write stores. Whole aligned pages of fill/pattern are stored as content ids. */
  private storeSource(payload: Payload, addr: number, size: number): StoreSource {
    const c = this.world.kernel.contents;
    const aligned = addr % PAGE_SIZE === 0 && size % PAGE_SIZE === 0;
    if (payload.fill !== undefined) {
      if (aligned) return { pages: () => c.fill(payload.fill) };
      return { bytes: new Uint8Array(size).fill(payload.fill) };
    }
    if (payload.pattern !== undefined) {
      const seed = payload.pattern.seed;
      if (aligned) return { pages: (i) => c.pattern(seed, i) };
      const bytes = new Uint8Array(size);
      for (let i = 0; i * PAGE_SIZE < size; i++) {
        const page = c.materialize(c.pattern(seed, i));
        bytes.set(page.subarray(0, Math.min(PAGE_SIZE, size - i * PAGE_SIZE)), i * PAGE_SIZE);
      }
      return { bytes };
    }
    if (payload.bytes !== undefined) return { bytes: Uint8Array.from(payload.bytes) };
    return { bytes: new TextEncoder().encode(payload.data ?? '') };
  }

  /** Page `i` of a guest write: the payload's page, or a byte chosen from the run's seed. */
  private guestSource(step: Extract<Step, { op: 'guest' }>, i: number): StoreSource {
    const c = this.world.kernel.contents;
    if (step.pattern !== undefined) {
      const id = c.pattern(step.pattern.seed, i);
      return { pages: () => id };
    }
    if (step.fill !== undefined) return { pages: () => c.fill(step.fill) };
    if (step.bytes !== undefined) return { bytes: Uint8Array.from(step.bytes) };
    if (step.data !== undefined) return { bytes: new TextEncoder().encode(step.data) };
    const byte = 1 + this.world.rng.below(255);
    return { pages: () => c.fill(byte) };
  }

  private readonly pinAgents = new Map<string, Agent>();

  /** The device doing I/O through pin `name` (`NAME.dev`). */
  private pinAgent(name: string): Agent {
    let a = this.pinAgents.get(name);
    if (a === undefined) {
      a = this.world.kernel.newAgent(`${name}.dev`);
      this.pinAgents.set(name, a);
    }
    return a;
  }

  private deviceFill(_i: number): StoreSource {
    const byte = 1 + this.world.rng.below(255);
    return { pages: () => this.world.kernel.contents.fill(byte) };
  }

  /** The virtual address of an address expression in `proc`; `len` bytes must fit in the mapping. */
  private resolve(a: AddrExpr, proc: string, len = 1): number {
    const owner = a.proc ?? proc;
    if (a.base === undefined) return a.offset;
    const m = this.mappings.get(owner)?.get(a.base);
    if (m === undefined) {
      throw new ScenarioRuntimeError(
        a.pos,
        `mapping ${a.base} of ${owner} does not exist here (its mmap failed or it belongs to another process)`,
      );
    }
    if (a.offset < 0 || a.offset + Math.max(len, 1) > m.size) {
      throw new ScenarioRuntimeError(
        a.pos,
        `${a.text} (+${a.offset} bytes${len > 1 ? `, ${len} long` : ''}) is outside mapping ${a.base} (${m.size} bytes); expected an offset below ${m.size}`,
      );
    }
    return m.start + a.offset;
  }

  // ---- expectations ----

  private frameAt(
    a: AddrExpr,
    fallbackProc?: string,
  ): { pte: number; pfn: number; proc: string; addr: number } {
    const proc = a.proc ?? fallbackProc;
    if (proc === undefined)
      throw new ScenarioRuntimeError(a.pos, `${a.text} needs a process: write proc:${a.text}`);
    const addr = this.resolve(a, proc);
    const t = this.world.kernel.tasks.get(proc);
    const pte = t === undefined || !t.alive ? 0 : t.mm.pt.get(Math.floor(addr / PAGE_SIZE));
    const pfn = !ptePresent(pte) ? -1 : pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
    return { pte, pfn, proc, addr };
  }

  private evaluate(e: Expectation): void {
    const push = (ok: boolean, actual: unknown): void => {
      this.expectations.push({ text: e.text, ok, actual, at: at(e.pos) });
    };
    const k = this.world.kernel;
    switch (e.kind) {
      case 'same_frame':
      case 'distinct_frames': {
        const frames = e.addrs.map((a) => this.frameAt(a).pfn);
        const mapped = frames.every((p) => p >= 0);
        const ok =
          e.kind === 'same_frame'
            ? mapped && frames.every((p) => p === frames[0])
            : mapped && new Set(frames).size === frames.length;
        push(
          ok,
          frames.map((p) => (p < 0 ? 'not mapped' : `pfn 0x${p.toString(16)}`)),
        );
        return;
      }
      case 'zero_page': {
        const f = this.frameAt(e.addr);
        push(f.pfn === ZERO_PFN, describeFrame(f.pfn));
        return;
      }
      case 'ksm_page': {
        const f = this.frameAt(e.addr);
        push(
          f.pfn > 0 && (k.frames.flags[f.pfn] & PG_KSM) !== 0,
          describeFrame(f.pfn, (k.frames.flags[f.pfn] & PG_KSM) !== 0),
        );
        return;
      }
      case 'not_mapped': {
        const f = this.frameAt(e.addr);
        push(f.pfn < 0, describeFrame(f.pfn));
        return;
      }
      case 'writable':
      case 'read_only': {
        const f = this.frameAt(e.addr);
        const w = f.pfn >= 0 && pteWrite(f.pte);
        push(
          f.pfn >= 0 && (e.kind === 'writable' ? w : !w),
          f.pfn < 0 ? 'not mapped' : w ? 'writable' : 'read-only',
        );
        return;
      }
      case 'reads': {
        const f = this.frameAt(e.at);
        const bytes = this.peek(f.addr, e.equals.length, f.proc);
        const ok =
          bytes !== null && bytes.length === e.equals.length && bytes.every((b, i) => b === e.equals[i]);
        push(ok, bytes === null ? 'not mapped (outside any mapping)' : describeBytes(bytes));
        return;
      }
      case 'counters': {
        const actual: Record<string, number> = {};
        let ok = true;
        for (const c of e.checks) {
          const v = this.world.counters.get(c.name);
          actual[c.name] = v;
          if (!compare(v, c.op, c.value)) ok = false;
        }
        push(ok, actual);
        return;
      }
      case 'signal': {
        const t = k.tasks.get(e.proc);
        const got = t?.signals ?? [];
        push(got.includes(e.signal), got.length === 0 ? 'no signal' : got.join(', '));
        return;
      }
      case 'invariants':
        push(
          this.world.violations.length === 0,
          this.world.violations.length === 0 ? 'hold' : `${this.world.violations.length} violation(s)`,
        );
        return;
    }
  }

  /** Bytes at an address without faulting: a mapped frame's content, zeroes where anonymous memory is untouched. */
  private peek(addr: number, len: number, proc: string): number[] | null {
    const k = this.world.kernel;
    const out: number[] = [];
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const chunk = Math.min(PAGE_SIZE - (a % PAGE_SIZE), len - done);
      const t = k.tasks.get(proc);
      if (t === undefined || t.mm.findVma(a) === undefined) return null;
      const pte = t.mm.pt.get(Math.floor(a / PAGE_SIZE));
      // a PROT_NONE pte still maps its frame: the bytes are there even if no CPU may load them
      const p = pte === 0 ? -1 : pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
      if (p <= 0) for (let i = 0; i < chunk; i++) out.push(0);
      else out.push(...k.contents.read(k.frames.content[p], a % PAGE_SIZE, chunk));
      done += chunk;
    }
    return out;
  }
}

/** "0*5,1*2,0" -> [0,0,0,0,0,1,1,0]. */
export function expandSchedule(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:\*(\d+))?\s*$/.exec(part);
    if (!m) continue;
    for (let i = 0; i < Number(m[2] ?? 1); i++) out.push(Number(m[1]));
  }
  return out;
}

/** [0,0,0,1,1,0] -> "0*3,1*2,0". */
export function compressSchedule(decisions: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < decisions.length; ) {
    let j = i;
    while (j < decisions.length && decisions[j] === decisions[i]) j++;
    parts.push(j - i > 1 ? `${decisions[i]}*${j - i}` : `${decisions[i]}`);
    i = j;
  }
  return parts.join(',');
}

export function compare(v: number, op: string, want: number): boolean {
  switch (op) {
    case '==':
      return v === want;
    case '!=':
      return v !== want;
    case '<':
      return v < want;
    case '<=':
      return v <= want;
    case '>':
      return v > want;
    default:
      return v >= want;
  }
}

function describeFrame(pfn: number, ksm = false): string {
  if (pfn < 0) return 'not mapped';
  if (pfn === ZERO_PFN) return 'zero page';
  return `pfn 0x${pfn.toString(16)}${ksm ? ' (KSM)' : ''}`;
}

function describeBytes(bytes: readonly number[]): string {
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (printable) return JSON.stringify(String.fromCharCode(...bytes));
  return `[${bytes.slice(0, 16).join(', ')}${bytes.length > 16 ? ', ...' : ''}]`;
}

export function formatEvent(e: LogEvent): string {
  const parts = [`#${e.seq}`, e.agent, e.kind, e.what];
  if (e.mm !== undefined) parts.push(`mm${e.mm}`);
  if (e.start !== undefined)
    parts.push(`0x${e.start.toString(16)}${e.end !== undefined ? `-0x${e.end.toString(16)}` : ''}`);
  if (e.event) parts.push(e.event);
  if (e.flags) parts.push(`[${e.flags}]`);
  if (e.oldPte || e.newPte) parts.push(`${e.oldPte ?? ''} -> ${e.newPte ?? ''}`);
  if (e.detail) parts.push(`(${e.detail})`);
  return parts.join(' ');
}

/** Run a parsed scenario. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): RunResult {
  return new ScenarioRun(scenario, options).run();
}
