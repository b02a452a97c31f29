/**
 * Evaluating an expectation against the World as it is now: frames, ptes, bytes (without faulting),
 * counters, signals, invariants. `violations:` expectations are judged at the end (result.ts).
 */
import { PG_KSM, ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE } from '../hw/page.js';
import { ptePfn, ptePresent, pteSpecial, pteWrite } from '../hw/pte.js';
import type { AddrExpr, Expectation, SourcePos } from './ast.js';
import { bytesValue, describeFrame } from './describe.js';
import type { Mappings } from './mappings.js';
import { ScenarioRuntimeError } from './runtime-error.js';
import type { World } from './world.js';

export interface ExpectationResult {
  text: string;
  ok: boolean;
  actual: unknown;
  /** Where it was written: file:line:col. */
  at: string;
}

export const at = (p: SourcePos): string => `${p.file}:${p.line}:${p.col}`;

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

function frameAt(
  world: World,
  mappings: Mappings,
  a: AddrExpr,
  len = 1,
): { pte: number; pfn: number; proc: string; addr: number } {
  const proc = a.proc;
  if (proc === undefined)
    throw new ScenarioRuntimeError(a.pos, `${a.text} needs a process: write proc:${a.text}`);
  const addr = mappings.resolve(a, proc, len);
  const t = world.kernel.tasks.get(proc);
  const pte = t === undefined || !t.alive ? 0 : t.mm.pt.get(Math.floor(addr / PAGE_SIZE));
  const pfn = !ptePresent(pte) ? -1 : pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
  return { pte, pfn, proc, addr };
}

/** Bytes at an address without faulting: a mapped frame's content, zeroes where anonymous memory is untouched. */
function peek(world: World, addr: number, len: number, proc: string): number[] | null {
  const k = world.kernel;
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
    else out.push(...k.contents.read(k.frames.contentOf(p), a % PAGE_SIZE, chunk));
    done += chunk;
  }
  return out;
}

/** The result of one expectation now; undefined for `violations:` (judged over the whole run). */
export function evaluate(world: World, mappings: Mappings, e: Expectation): ExpectationResult | undefined {
  const result = (ok: boolean, actual: unknown): ExpectationResult => ({
    text: e.text,
    ok,
    actual,
    at: at(e.pos),
  });
  const k = world.kernel;
  switch (e.kind) {
    case 'same_frame':
    case 'distinct_frames': {
      const frames = e.addrs.map((a) => frameAt(world, mappings, a).pfn);
      const mapped = frames.every((p) => p >= 0);
      const ok =
        e.kind === 'same_frame'
          ? mapped && frames.every((p) => p === frames[0])
          : mapped && new Set(frames).size === frames.length;
      return result(
        ok,
        frames.map((p) => (p < 0 ? 'not mapped' : `pfn 0x${p.toString(16)}`)),
      );
    }
    case 'zero_page': {
      const f = frameAt(world, mappings, e.addr);
      return result(f.pfn === ZERO_PFN, describeFrame(f.pfn));
    }
    case 'ksm_page': {
      const f = frameAt(world, mappings, e.addr);
      const ksm = (k.frames.flagsOf(f.pfn) & PG_KSM) !== 0;
      return result(f.pfn > 0 && ksm, describeFrame(f.pfn, ksm));
    }
    case 'not_mapped': {
      const f = frameAt(world, mappings, e.addr);
      return result(f.pfn < 0, describeFrame(f.pfn));
    }
    case 'writable':
    case 'read_only': {
      const f = frameAt(world, mappings, e.addr);
      const w = f.pfn >= 0 && pteWrite(f.pte);
      return result(
        f.pfn >= 0 && (e.kind === 'writable' ? w : !w),
        f.pfn < 0 ? 'not mapped' : w ? 'writable' : 'read-only',
      );
    }
    case 'reads': {
      const f = frameAt(world, mappings, e.at, e.equals.length);
      const bytes = peek(world, f.addr, e.equals.length, f.proc);
      const ok =
        bytes !== null && bytes.length === e.equals.length && bytes.every((b, i) => b === e.equals[i]);
      return result(ok, bytes === null ? 'not mapped (outside any mapping)' : bytesValue(bytes));
    }
    case 'counters': {
      const actual: Record<string, number> = {};
      let ok = true;
      for (const c of e.checks) {
        const v = world.counters.get(c.name);
        actual[c.name] = v;
        if (!compare(v, c.op, c.value)) ok = false;
      }
      return result(ok, actual);
    }
    case 'signal': {
      const got = k.tasks.get(e.proc)?.signals ?? [];
      return result(got.includes(e.signal), got.length === 0 ? 'no signal' : got.join(', '));
    }
    case 'invariants': {
      const n = world.violations.length;
      return result(n === 0, n === 0 ? 'hold' : `${n} violation(s)`);
    }
    case 'violations':
      return undefined;
  }
}
