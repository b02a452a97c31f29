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
import { agentNameKind, parseCounterName } from './counters.js';
import type { ReadContext } from './nodes.js';
import { outsideMapping } from './runtime-error.js';
import { kindNaming, setupOp } from './secondary-kinds.js';
import { stepSpec } from './steps/index.js';
import type { NameEffects, ObjectKind } from './steps/spec.js';
import { didYouMean } from './units.js';

interface Definition {
  kind: ObjectKind;
  pos: SourcePos;
  /** The process a vm, device, IOMMU binding or pin belongs to. */
  proc?: string;
}

/** A mapping name's definition: where, and how many bytes (a name is never re-used, so this is known). */
interface MappingDef {
  pos: SourcePos;
  size: number;
}

interface ProcessState {
  mappings: Map<string, MappingDef>;
  exitedAt?: SourcePos;
}

/** What messages call a name of `kind`. */
function label(kind: ObjectKind): string {
  if (kind === 'process' || kind === 'pin') return kind;
  const k = kindNaming(kind);
  return k === undefined ? kind : k.label;
}

/** How a file defines a name of `kind`. */
function howToDefine(kind: ObjectKind): string {
  if (kind === 'process') return "spawn it (or fork it as 'child') first";
  if (kind === 'pin') return "take it with a 'gup ... as:' step first";
  const k = kindNaming(kind);
  const op = k && setupOp(k);
  if (op === undefined) return 'define it first';
  return `define it with ${/^[aeiou]/.test(op) ? 'an' : 'a'} '${op}' step first`;
}

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
      for (const [mapping, def] of state.mappings)
        if (!mine.mappings.has(mapping)) mine.mappings.set(mapping, def);
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

  private collectDefinitions(steps: readonly Step[]): void {
    for (const step of steps) {
      const spec = stepSpec(step.op);
      for (const [field, kind] of Object.entries(spec.defines ?? {})) {
        const name = (step as unknown as Record<string, unknown>)[field];
        if (kind === 'mapping' || typeof name !== 'string' || this.anywhere.has(name)) continue;
        this.anywhere.set(name, { kind, pos: this.cx.fieldPos(step, field) });
      }
      for (const nested of spec.children?.(step) ?? []) this.collectDefinitions(nested);
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
        `'${name}' is already the name of a ${label(earlier.kind)} (at ${at(earlier.pos)}); names must be unique`,
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
      this.error(pos, `'${name}' is a ${label(definition.kind)}, not a ${label(kind)}`);
    } else if (!this.maybeDefinedByBrokenStep(kind, name, pos)) {
      this.error(pos, this.unknownName(scope, name, kind, pos));
    }
    return undefined;
  }

  private unknownName(scope: Scope, name: string, kind: ObjectKind, pos: SourcePos): string {
    const head = `unknown ${label(kind)} '${name}'`;
    const elsewhere = this.anywhere.get(name);
    if (elsewhere?.kind === kind) {
      return before(pos, elsewhere.pos)
        ? `${head}: it is defined later, at ${at(elsewhere.pos)}`
        : `${head}: it is defined at ${at(elsewhere.pos)}, in another parallel thread`;
    }
    const known = [...scope.names].filter(([, d]) => d.kind === kind).map(([n]) => n);
    const listing = known.length > 0 ? `; known: ${known.join(', ')}` : '';
    return `${head}${didYouMean(name, known)}; ${howToDefine(kind)}${listing}`;
  }

  /** A process a step runs in: defined, and (unless the step only inspects it) not exited. */
  private useProcess(scope: Scope, name: string, pos: SourcePos, op: string): ProcessState | undefined {
    if (!this.use(scope, name, 'process', pos)) return undefined;
    const state = scope.processes.get(name)!;
    if (state.exitedAt)
      this.error(pos, `process '${name}' exited at ${at(state.exitedAt)}; '${op}' cannot use it`);
    return state;
  }

  private defineMapping(state: ProcessState, proc: string, name: string, pos: SourcePos, size: number): void {
    const key = `${proc}\0${name}`;
    const earlier = state.mappings.get(name)?.pos ?? this.mappingsDefined.get(key);
    if (earlier) {
      this.error(pos, `process '${proc}' already has a mapping named '${name}' (from ${at(earlier)})`);
      return;
    }
    state.mappings.set(name, { pos, size });
    this.mappingsDefined.set(key, pos);
  }

  /**
   * Checks an address and fills in its process. In a step the address belongs to the step's process
   * (`home`); in an expectation it is qualified (`proc:addr`) or defaults to `home`.
   */
  private address(scope: Scope, addr: AddrExpr, home: string | undefined, inStep: boolean, len = 1): void {
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
    if (!state) return;
    const mapping = state.mappings.get(addr.base);
    if (mapping) {
      // the run refuses the same (ScenarioRun.resolve): what can be known without running is checked here
      if (addr.offset < 0 || addr.offset + len > mapping.size)
        this.error(addr.pos, outsideMapping(addr, len, mapping.size));
      return;
    }
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

  private steps(steps: readonly Step[], scope: Scope): void {
    // one set of effects for the list, pointed at each step in turn (a step's names() uses it only
    // while it runs; a nested list gets its own)
    let step = steps[0];
    const effects = this.effects(() => step, scope);
    for (step of steps) {
      const home = stepSpec(step.op).names(step, effects);
      if (step.expect) this.expectations(step.expect, scope, home ?? scope.onlyProcess());
    }
  }

  /** The name checks as the current step (`current()`) sees them, in `scope`. */
  private effects(current: () => Step, scope: Scope): NameEffects {
    const where = (field: string) => this.cx.fieldPos(current(), field);
    return {
      define: (name, kind, field, proc) => this.define(scope, name, kind, where(field), proc),
      use: (name, kind, field) => this.use(scope, name, kind, where(field)),
      useProcess: (proc, field) => this.useProcess(scope, proc, where(field), current().op) !== undefined,
      address: (addr, proc, len) => this.address(scope, addr, proc, true, len),
      defineMapping: (proc, name, field, size) => {
        const state = scope.processes.get(proc);
        if (state) this.defineMapping(state, proc, name, where(field), size);
      },
      inheritMappings: (parent, child) => {
        const from = scope.processes.get(parent);
        const to = scope.processes.get(child);
        if (from && to) to.mappings = new Map(from.mappings);
      },
      exit: (proc) => {
        const state = scope.processes.get(proc);
        if (state && !state.exitedAt) state.exitedAt = current().pos;
      },
      released: (pin) => scope.releasedPins.get(pin),
      release: (pin) => {
        scope.releasedPins.set(pin, current().pos);
      },
      error: (field, message) => this.error(where(field), message),
      steps: (steps) => this.steps(steps, scope),
      threads: (threads) => {
        const seen = threads.map((thread) => {
          const own = scope.clone();
          this.steps(thread, own);
          return own;
        });
        for (const thread of seen) scope.absorb(thread);
      },
    };
  }

  private expectations(list: Expectation[], scope: Scope, home: string | undefined): void {
    for (const e of list) {
      switch (e.kind) {
        case 'same_frame':
        case 'distinct_frames':
          for (const addr of e.addrs) this.address(scope, addr, home, false);
          break;
        case 'reads':
          this.address(scope, e.at, home, false, e.equals.length);
          break;
        case 'counters':
          for (const check of e.checks) {
            const parsed = parseCounterName(check.name);
            const kind = parsed.ok && !parsed.value.global ? agentNameKind(parsed.value.family) : undefined;
            if (parsed.ok && !parsed.value.global && kind !== undefined) {
              this.use(scope, parsed.value.agent, kind, check.pos);
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
