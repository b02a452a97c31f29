/**
 * The primary MMU driven sequentially: one call per system call or CPU access, each running its kernel
 * path to completion. Errors are the model's (errno values, SIGSEGV to the task), never exceptions.
 */
import { PAGE_SIZE } from '../hw/page.js';
import {
  type KernelName,
  type ProfileOverrides,
  profile as profileOf,
  withOverrides,
} from '../kernel/profiles.js';
import { BigMap } from '../sim/big-map.js';
import { type Path, runToCompletion } from '../sim/exec.js';
import { type AccessOutcome, type StoreSource, userAccess } from './access.js';
import { doExit } from './exit.js';
import { doFork } from './fork.js';
import { type GupResult, getUserPages, putUserPages } from './gup.js';
import { type Errno, Kernel, type Task } from './kernel.js';
import type { KsmHooks } from './ksm-port.js';
import { type Advice, doMadvise, doMmap, doMprotect, doMunmap, parseProt } from './mmap.js';

export interface SystemConfig {
  kernel: KernelName;
  /** RAM in bytes (default 256 MiB). */
  ramBytes?: number;
  cpus?: number;
  /** Keep the event log (default true; benchmarks turn it off). */
  recording?: boolean;
  /** What-if changes to the kernel profile. */
  profileOverrides?: ProfileOverrides;
}

/** A live gup/pin handle: who took it, at which address, and the pages (references) it holds. */
export interface PinHandle {
  task: Task;
  address: number;
  result: GupResult;
}

export class MmSystem {
  readonly kernel: Kernel;
  ksm: KsmHooks | null = null;
  private readonly pins = new Map<string, PinHandle>();

  constructor(config: SystemConfig) {
    const ram = config.ramBytes ?? 256 * 1024 * 1024;
    this.kernel = new Kernel({
      profile: withOverrides(profileOf(config.kernel), config.profileOverrides),
      frames: Math.floor(ram / PAGE_SIZE),
      cpus: config.cpus ?? 2,
      recording: config.recording ?? true,
    });
  }

  task(name: string): Task {
    const t = this.kernel.tasks.get(name);
    if (t === undefined) throw new Error(`no process named ${name}`);
    return t;
  }

  spawn(name: string): Task {
    return this.kernel.spawn(name);
  }

  mmap(
    proc: string,
    len: number,
    prot: string,
    opts: { at?: number; shared?: boolean } = {},
  ): number | Errno {
    const p = parseProt(prot);
    if (p === undefined) return 'EINVAL';
    const t = this.task(proc);
    return runToCompletion(doMmap(this.kernel, t.agent, t.mm, len, p, opts));
  }

  munmap(proc: string, addr: number, len: number): Errno | null {
    const t = this.task(proc);
    return runToCompletion(doMunmap(this.kernel, t.agent, t.mm, addr, len));
  }

  mprotect(proc: string, addr: number, len: number, prot: string): Errno | null {
    const p = parseProt(prot);
    if (p === undefined) return 'EINVAL';
    const t = this.task(proc);
    return runToCompletion(doMprotect(this.kernel, t.agent, t.mm, addr, len, p));
  }

  madvise(proc: string, addr: number, len: number, advice: Advice): Errno | null {
    const t = this.task(proc);
    return runToCompletion(doMadvise(this.kernel, t.agent, t.mm, addr, len, advice, this.ksm));
  }

  fork(proc: string, child: string): Task | Errno {
    const t = this.task(proc);
    return runToCompletion(doFork(this.kernel, t.agent, t, child, this.ksm));
  }

  exit(proc: string): void {
    runToCompletion(this.exitPath(proc));
  }

  /** exit(2) as a path that other agents can interleave with: the process's pins go, then its mm. */
  exitPath(proc: string): Path {
    const t = this.task(proc);
    for (const [name, pin] of this.pins) {
      if (pin.task === t) {
        putUserPages(this.kernel, pin.result);
        this.pins.delete(name);
      }
    }
    return doExit(this.kernel, t.agent, t, this.ksm);
  }

  /** A CPU store of `bytes` (or a string, UTF-8) at `addr`. */
  write(proc: string, addr: number, data: Uint8Array | string): AccessOutcome {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return this.store(proc, addr, bytes.length, { bytes });
  }

  /** A CPU store of whole pages, each given by content id. */
  store(proc: string, addr: number, len: number, source: StoreSource): AccessOutcome {
    const t = this.task(proc);
    return runToCompletion(userAccess(this.kernel, t, addr, len, source));
  }

  /** A CPU load; returns the bytes. */
  read(proc: string, addr: number, len: number): AccessOutcome {
    const t = this.task(proc);
    return runToCompletion(userAccess(this.kernel, t, addr, len, undefined, true));
  }

  /** get_user_pages (or pin_user_pages with pin), kept under `name` until unpin. */
  gup(
    proc: string,
    addr: number,
    pages: number,
    opts: { write: boolean; pin: boolean; name: string },
  ): Errno | null {
    const t = this.task(proc);
    const r = runToCompletion(getUserPages(this.kernel, t.agent, t.mm, addr, pages, opts));
    if (typeof r === 'string') return r;
    this.pins.set(opts.name, { task: t, address: addr, result: r });
    return null;
  }

  /** The live handle named `name` (undefined once released or if the gup failed). */
  pin(name: string): PinHandle | undefined {
    return this.pins.get(name);
  }

  unpin(name: string): Errno | null {
    const pin = this.pins.get(name);
    if (pin === undefined) return 'ENOENT';
    putUserPages(this.kernel, pin.result);
    this.pins.delete(name);
    return null;
  }

  /** The references held by live gup/pin handles, per pfn (for the accounting recount). */
  pinnedRefs(): Map<number, number> {
    if (this.pins.size === 0) return new Map(); // (a BigMap's Maps only when there are pins: checked every step)
    const out = new BigMap<number, number>();
    for (const { result } of this.pins.values()) {
      for (const pfn of result.pfns) out.set(pfn, (out.get(pfn) ?? 0) + result.refs);
    }
    return out;
  }
}
