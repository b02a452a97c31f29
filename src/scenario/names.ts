/**
 * Static name checks, in step order: a process is spawned (or forked as a child) before it is used and is
 * not used after it exits; a mapping name is defined by an earlier `mmap ... as:` of that process (fork
 * copies the parent's names to the child); vms, devices, IOMMU bindings and pins are defined before use;
 * names are unique. Also fills in each address's process where the file leaves it implicit.
 *
 * Scoping: repeat bodies are checked once, in order. Each parallel thread sees what was defined before
 * the `parallel`, plus its own definitions; after it, everything any thread defined is visible.
 */
import type { AddrExpr, Expectation, NameKind, SourcePos, Step } from './ast.js';
import { AGENT_KIND, parseCounterName } from './counters.js';
import type { ReadContext } from './nodes.js';
import { didYouMean } from './units.js';

type ObjectKind = Exclude<NameKind, 'mapping'>;

interface Definition {
  kind: ObjectKind;
  pos: SourcePos;
  /** The process a vm, device, IOMMU binding or pin belongs to. */
  proc?: string;
}

interface ProcessState {
  mappings: Map<string, SourcePos>;
  exitedAt?: SourcePos;
}

const LABEL: Readonly<Record<ObjectKind, string>> = {
  process: 'process',
  vm: 'vm',
  device: 'device',
  iommu: 'IOMMU binding',
  pin: 'pin',
};

const HOW_TO_DEFINE: Readonly<Record<ObjectKind, string>> = {
  process: "spawn it (or fork it as 'child') first",
  vm: "define it with a 'vm' step first",
  device: "define it with a 'device' step first",
  iommu: "define it with an 'iommu' step first",
  pin: "take it with a 'gup ... as:' step first",
};

function at(pos: SourcePos): string {
  return `${pos.line}:${pos.col}`;
}

function before(a: SourcePos, b: SourcePos): boolean {
  return a.line < b.line || (a.line === b.line && a.col < b.col);
}

/** What is visible at one point of the steps. */
class Scope {
  constructor(
    readonly names = new Map<string, Definition>(),
    readonly processes = new Map<string, ProcessState>(),
    readonly releasedPins = new Map<string, SourcePos>(),
  ) {}

  clone(): Scope {
    const processes = new Map<string, ProcessState>();
    for (const [name, state] of this.processes)
      processes.set(name, { ...state, mappings: new Map(state.mappings) });
    return new Scope(new Map(this.names), processes, new Map(this.releasedPins));
  }

  /** Takes in what a parallel thread defined, exited or released. */
  absorb(thread: Scope): void {
    for (const [name, def] of thread.names) if (!this.names.has(name)) this.names.set(name, def);
    for (const [name, state] of thread.processes) {
      const mine = this.processes.get(name);
      if (!mine) {
        this.processes.set(name, { ...state, mappings: new Map(state.mappings) });
        continue;
      }
      for (const [mapping, pos] of state.mappings)
        if (!mine.mappings.has(mapping)) mine.mappings.set(mapping, pos);
      mine.exitedAt ??= state.exitedAt;
    }
    for (const [pin, pos] of thread.releasedPins)
      if (!this.releasedPins.has(pin)) this.releasedPins.set(pin, pos);
  }

  /** The process an unqualified address means when there is only one. */
  onlyProcess(): string | undefined {
    return this.processes.size === 1 ? [...this.processes.keys()][0] : undefined;
  }
}

/** Checks names of the whole file, reporting through the read context. */
export function checkNames(cx: ReadContext, steps: Step[], expect: Expectation[]): void {
  new NameChecker(cx, steps).run(steps, expect);
}

class NameChecker {
  /** Every definition met so far, in any scope: names are unique across the file. */
  private readonly defined = new Map<string, Definition>();
  private readonly mappingsDefined = new Map<string, SourcePos>();
  /** The first definition of every name anywhere, for "it is defined later" hints. */
  private readonly anywhere = new Map<string, Definition>();

  constructor(
    private readonly cx: ReadContext,
    steps: Step[],
  ) {
    this.collectDefinitions(steps);
  }

  run(steps: Step[], expect: Expectation[]): void {
    const scope = new Scope();
    this.steps(steps, scope);
    this.expectations(expect, scope, scope.onlyProcess());
  }

  private collectDefinitions(steps: Step[]): void {
    const note = (name: string, kind: ObjectKind, step: Step, field: string) => {
      if (!this.anywhere.has(name)) this.anywhere.set(name, { kind, pos: this.cx.fieldPos(step, field) });
    };
    for (const step of steps) {
      if (step.op === 'spawn') note(step.proc, 'process', step, 'proc');
      else if (step.op === 'fork') note(step.child, 'process', step, 'child');
      else if (step.op === 'vm' || step.op === 'device' || step.op === 'iommu')
        note(step.name, step.op, step, 'name');
      else if (step.op === 'gup') note(step.as, 'pin', step, 'as');
      else if (step.op === 'repeat') this.collectDefinitions(step.steps);
      else if (step.op === 'parallel') for (const thread of step.threads) this.collectDefinitions(thread);
    }
  }

  private error(pos: SourcePos, message: string): void {
    this.cx.error(pos, message);
  }

  /** True when a broken step before `pos` may have defined this name: stay quiet, it is reported already. */
  private maybeDefinedByBrokenStep(kind: NameKind, name: string, pos: SourcePos): boolean {
    return this.cx.brokenDefinitions.some(
      (b) =>
        (b.kind === kind || b.kind === 'any') &&
        (b.name === undefined || b.name === name) &&
        before(b.pos, pos),
    );
  }

  // -------------------------------------------------------------------------------------------------
  // Definitions and uses

  private define(scope: Scope, name: string, kind: ObjectKind, pos: SourcePos, proc?: string): boolean {
    const earlier = this.defined.get(name);
    if (earlier) {
      this.error(
        pos,
        `'${name}' is already the name of a ${LABEL[earlier.kind]} (at ${at(earlier.pos)}); names must be unique`,
      );
      return false;
    }
    const definition: Definition = { kind, pos, ...(proc === undefined ? {} : { proc }) };
    this.defined.set(name, definition);
    scope.names.set(name, definition);
    if (kind === 'process') scope.processes.set(name, { mappings: new Map() });
    return true;
  }

  private use(scope: Scope, name: string, kind: ObjectKind, pos: SourcePos): Definition | undefined {
    const definition = scope.names.get(name);
    if (definition?.kind === kind) return definition;
    if (definition) {
      this.error(pos, `'${name}' is a ${LABEL[definition.kind]}, not a ${LABEL[kind]}`);
    } else if (!this.maybeDefinedByBrokenStep(kind, name, pos)) {
      this.error(pos, this.unknownName(scope, name, kind, pos));
    }
    return undefined;
  }

  private unknownName(scope: Scope, name: string, kind: ObjectKind, pos: SourcePos): string {
    const head = `unknown ${LABEL[kind]} '${name}'`;
    const elsewhere = this.anywhere.get(name);
    if (elsewhere?.kind === kind) {
      return before(pos, elsewhere.pos)
        ? `${head}: it is defined later, at ${at(elsewhere.pos)}`
        : `${head}: it is defined at ${at(elsewhere.pos)}, in another parallel thread`;
    }
    const known = [...scope.names].filter(([, d]) => d.kind === kind).map(([n]) => n);
    const listing = known.length > 0 ? `; known: ${known.join(', ')}` : '';
    return `${head}${didYouMean(name, known)}; ${HOW_TO_DEFINE[kind]}${listing}`;
  }

  /** A process a step runs in: defined, and (unless the step only inspects it) not exited. */
  private useProcess(scope: Scope, name: string, pos: SourcePos, op: string): ProcessState | undefined {
    if (!this.use(scope, name, 'process', pos)) return undefined;
    const state = scope.processes.get(name)!;
    if (state.exitedAt)
      this.error(pos, `process '${name}' exited at ${at(state.exitedAt)}; '${op}' cannot use it`);
    return state;
  }

  private defineMapping(state: ProcessState, proc: string, name: string, pos: SourcePos): void {
    const key = `${proc}\0${name}`;
    const earlier = state.mappings.get(name) ?? this.mappingsDefined.get(key);
    if (earlier) {
      this.error(pos, `process '${proc}' already has a mapping named '${name}' (from ${at(earlier)})`);
      return;
    }
    state.mappings.set(name, pos);
    this.mappingsDefined.set(key, pos);
  }

  /**
   * Checks an address and fills in its process. In a step the address belongs to the step's process
   * (`home`); in an expectation it is qualified (`proc:addr`) or defaults to `home`.
   */
  private address(scope: Scope, addr: AddrExpr, home: string | undefined, inStep: boolean): void {
    if (addr.proc !== undefined) {
      if (inStep) {
        if (home !== undefined && addr.proc !== home) {
          this.error(
            addr.pos,
            `'${addr.text}' is in process '${addr.proc}', but this step works on '${home}'`,
          );
          return;
        }
      } else if (!this.use(scope, addr.proc, 'process', addr.pos)) {
        return;
      }
    } else if (home !== undefined) {
      addr.proc = home;
    } else {
      if (!inStep) this.error(addr.pos, this.unqualified(scope, addr));
      return;
    }
    const proc = addr.proc;
    if (addr.base === undefined) return;
    const state = scope.processes.get(proc);
    if (!state || state.mappings.has(addr.base)) return;
    if (this.maybeDefinedByBrokenStep('mapping', addr.base, addr.pos)) return;
    const known = [...state.mappings.keys()];
    const listing = known.length > 0 ? ` (its mappings: ${known.join(', ')})` : '';
    this.error(
      addr.pos,
      `process '${proc}' has no mapping named '${addr.base}'${didYouMean(addr.base, known)}; ` +
        `name one with 'mmap ... as: ${addr.base}' first${listing}`,
    );
  }

  private unqualified(scope: Scope, addr: AddrExpr): string {
    const procs = [...scope.processes.keys()];
    if (procs.length === 0) return `'${addr.text}': there is no process yet whose address this could be`;
    return `'${addr.text}': say which process it is in, e.g. '${procs[0]}:${addr.text}' (there are ${procs.length} processes)`;
  }

  // -------------------------------------------------------------------------------------------------
  // Walking steps and expectations

  private steps(steps: Step[], scope: Scope): void {
    for (const step of steps) {
      const home = this.step(step, scope);
      if (step.expect) this.expectations(step.expect, scope, home ?? scope.onlyProcess());
    }
  }

  /** Checks one step; returns the process its own expectations default to. */
  private step(step: Step, scope: Scope): string | undefined {
    const where = (field: string) => this.cx.fieldPos(step, field);
    switch (step.op) {
      case 'spawn':
        this.define(scope, step.proc, 'process', where('proc'));
        return step.proc;
      case 'mmap': {
        const state = this.useProcess(scope, step.proc, where('proc'), step.op);
        if (step.at) this.address(scope, step.at, step.proc, true);
        if (state) this.defineMapping(state, step.proc, step.as, where('as'));
        return step.proc;
      }
      case 'munmap':
      case 'mprotect':
      case 'madvise':
      case 'write':
      case 'read':
        this.useProcess(scope, step.proc, where('proc'), step.op);
        this.address(scope, step.addr, step.proc, true);
        return step.proc;
      case 'fork': {
        const parent = this.useProcess(scope, step.proc, where('proc'), step.op);
        if (this.define(scope, step.child, 'process', where('child')) && parent) {
          scope.processes.get(step.child)!.mappings = new Map(parent.mappings);
        }
        return step.proc;
      }
      case 'exit': {
        const state = this.useProcess(scope, step.proc, where('proc'), step.op);
        if (state && !state.exitedAt) state.exitedAt = step.pos;
        return step.proc;
      }
      case 'ksm':
        return undefined;
      case 'vm':
        this.useProcess(scope, step.proc, where('proc'), step.op);
        for (const slot of step.memslots) this.address(scope, slot.addr, step.proc, true);
        this.define(scope, step.name, 'vm', where('name'), step.proc);
        return step.proc;
      case 'device':
      case 'iommu':
        this.useProcess(scope, step.proc, where('proc'), step.op);
        this.define(scope, step.name, step.op, where('name'), step.proc);
        return step.proc;
      case 'guest':
        return this.use(scope, step.vm, 'vm', where('vm'))?.proc;
      case 'dev':
      case 'dma': {
        const owner = step.op === 'dev' ? step.device : step.iommu;
        const kind = step.op === 'dev' ? 'device' : 'iommu';
        const proc = this.use(scope, owner, kind, where(step.op === 'dev' ? 'device' : 'iommu'))?.proc;
        if (proc !== undefined) this.address(scope, step.addr, proc, true);
        return proc;
      }
      case 'gup':
        this.useProcess(scope, step.proc, where('proc'), step.op);
        this.address(scope, step.addr, step.proc, true);
        this.define(scope, step.as, 'pin', where('as'), step.proc);
        return step.proc;
      case 'unpin': {
        const pin = this.use(scope, step.pin, 'pin', where('pin'));
        const released = scope.releasedPins.get(step.pin);
        if (pin && released)
          this.error(where('pin'), `pin '${step.pin}' was already released at ${at(released)}`);
        else if (pin) scope.releasedPins.set(step.pin, step.pos);
        return pin?.proc;
      }
      case 'pin_io': {
        const pin = this.use(scope, step.pin, 'pin', where('pin'));
        const released = scope.releasedPins.get(step.pin);
        if (pin && released) this.error(where('pin'), `pin '${step.pin}' was released at ${at(released)}`);
        return pin?.proc;
      }
      case 'repeat':
        this.steps(step.steps, scope);
        return undefined;
      case 'parallel': {
        const threads = step.threads.map((thread) => {
          const own = scope.clone();
          this.steps(thread, own);
          return own;
        });
        for (const thread of threads) scope.absorb(thread);
        return undefined;
      }
    }
  }

  private expectations(list: Expectation[], scope: Scope, home: string | undefined): void {
    for (const e of list) {
      switch (e.kind) {
        case 'same_frame':
        case 'distinct_frames':
          for (const addr of e.addrs) this.address(scope, addr, home, false);
          break;
        case 'reads':
          this.address(scope, e.at, home, false);
          break;
        case 'counters':
          for (const check of e.checks) {
            const parsed = parseCounterName(check.name);
            if (parsed.ok && !parsed.value.global) {
              this.use(scope, parsed.value.agent, AGENT_KIND[parsed.value.family], check.pos);
            }
          }
          break;
        case 'signal':
          this.use(scope, e.proc, 'process', this.cx.fieldPos(e, 'proc'));
          break;
        case 'invariants':
        case 'violations':
          break;
        default:
          this.address(scope, e.addr, home, false);
      }
    }
  }
}
