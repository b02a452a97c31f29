/** Where each named mapping of each process is in a run, and what an address expression means there. */
import type { AddrExpr } from './ast.js';
import { outsideMapping, ScenarioRuntimeError } from './runtime-error.js';

interface MappingRecord {
  start: number;
  size: number;
}

export class Mappings {
  private readonly byProc = new Map<string, Map<string, MappingRecord>>();

  spawned(proc: string, parent?: string): void {
    this.byProc.set(proc, new Map(parent === undefined ? undefined : this.byProc.get(parent)));
  }

  mapped(proc: string, name: string, start: number, size: number): void {
    this.byProc.get(proc)?.set(name, { start, size });
  }

  start(proc: string, name: string): number | undefined {
    return this.byProc.get(proc)?.get(name)?.start;
  }

  /** The virtual address of `a` in `proc`; `len` bytes must fit in the mapping. */
  resolve(a: AddrExpr, proc: string, len = 1): number {
    const owner = a.proc ?? proc;
    if (a.base === undefined) return a.offset;
    const m = this.byProc.get(owner)?.get(a.base);
    if (m === undefined) {
      throw new ScenarioRuntimeError(
        a.pos,
        `mapping ${a.base} of ${owner} does not exist here (its mmap failed or it belongs to another process)`,
      );
    }
    if (a.offset < 0 || a.offset + len > m.size)
      throw new ScenarioRuntimeError(a.pos, outsideMapping(a, len, m.size));
    return m.start + a.offset;
  }
}
