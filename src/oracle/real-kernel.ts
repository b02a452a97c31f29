/**
 * The real kernel side of the oracle: can this machine run it (root, pagemap, kpageflags, KSM sysfs,
 * cc), the C helper compiled and cached by the hash of its source, one batch run of a script, and a
 * session: one helper process that runs many scripts in turn (the fuzzer's way: no process per script).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The helper's longest wait for another oracle run's machine-wide lock (helper.c LOCK_WAIT_S). */
const LOCK_WAIT_S = 600;

/** Exit code of `mmsim oracle` when the real kernel cannot be used here. */
export const EXIT_UNAVAILABLE = 3;

/** Why the real kernel cannot be compared on this machine, or null when it can. */
export function unavailableReason(): string | null {
  if (process.platform !== 'linux') return `the real-kernel oracle needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'the real-kernel oracle needs root (pagemap frame numbers, /proc/kpageflags, KSM knobs)';
  for (const path of ['/proc/self/pagemap', '/proc/kpageflags', '/sys/kernel/mm/ksm/run', '/run/lock']) {
    try {
      accessSync(path, constants.R_OK);
    } catch {
      return `the real-kernel oracle needs ${path}, which this kernel does not offer`;
    }
  }
  const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
  if (cc.error !== undefined || cc.status !== 0) return 'the real-kernel oracle needs a C compiler (cc)';
  return null;
}

/** The running kernel's version, e.g. [6, 18] from "6.18.44-...". */
export function runningKernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function helperSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/oracle/ when run from the sources, dist/oracle/ in the build (the C file stays in src/)
  for (const p of [join(here, 'helper.c'), join(here, '..', '..', 'src', 'oracle', 'helper.c')])
    if (existsSync(p)) return p;
  throw new Error('src/oracle/helper.c not found');
}

/** The helper binary, compiled with cc when its source changed (cached under the system tmp dir). */
export function helperBinary(): string {
  const src = helperSource();
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'mmsim-oracle');
  const bin = join(dir, `helper-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', tmp, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc failed on ${src}:\n${r.stderr}`);
  renameSync(tmp, bin); // atomic: parallel test files never run a half-written binary
  return bin;
}

/** One answer line per command line; `fatal` lines end the run early. */
export interface HelperRun {
  answers: string[];
  /** Set when the helper stopped before answering every command. */
  failure?: string;
  timeMs: number;
}

/** Run a script (one command per line) through the helper, with a timeout in seconds. */
export function runHelper(commands: readonly string[], timeoutSeconds = 60): HelperRun {
  const start = Date.now();
  const script = [`timeout ${timeoutSeconds}`, ...commands, 'quit', ''].join('\n');
  const r = spawnSync(helperBinary(), [], {
    input: script,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    // the helper's own alarm() fires first and restores the knobs; this is the backstop (the wait for
    // another run's lock, up to LOCK_WAIT_S, does not count against the helper's timeout)
    timeout: (timeoutSeconds + LOCK_WAIT_S + 10) * 1000,
    killSignal: 'SIGTERM',
  });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.length > 0);
  const answers = lines.slice(1); // the `timeout` answer
  const fatal = answers.find((l) => l.startsWith('fatal '));
  const timeMs = Date.now() - start;
  if (fatal !== undefined) return { answers, failure: fatal.slice(6), timeMs };
  if (r.error !== undefined) return { answers, failure: String(r.error.message), timeMs };
  if (answers.length < commands.length)
    return {
      answers,
      failure: `the helper stopped after ${answers.length} of ${commands.length} commands (${r.stderr.trim() || `status ${r.status}`})`,
      timeMs,
    };
  return { answers, timeMs };
}

/**
 * One helper process for many scripts, one after the other (the lock is taken once and held until
 * close). A script that ends the helper (a fatal answer) fails alone: the next one starts a new helper.
 */
export class HelperSession {
  private child: ChildProcessWithoutNullStreams | null = null;
  private pending = '';
  private lines: string[] = [];
  private wake: (() => void) | null = null;
  private exited = false;
  private stderr = '';

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(helperBinary(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.pending = '';
    this.lines = [];
    this.exited = false;
    this.stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      const parts = (this.pending + d).split('\n');
      this.pending = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l.length > 0));
      this.wake?.();
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    child.on('close', () => {
      // 'close', not 'exit': every answer it wrote has been read by then
      this.exited = true;
      this.wake?.();
    });
    child.stdin.on('error', () => {}); // EPIPE after a fatal: seen as the exit
    return child;
  }

  private async line(): Promise<string | null> {
    while (this.lines.length === 0) {
      if (this.exited) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
    return this.lines.shift() ?? null;
  }

  /** Run one script; its `timeout` re-arms the helper's alarm for this script alone. */
  async run(commands: readonly string[], timeoutSeconds = 60): Promise<HelperRun> {
    const start = Date.now();
    const child = this.child !== null && !this.exited ? this.child : this.start();
    child.stdin.write([`timeout ${timeoutSeconds}`, ...commands, ''].join('\n'));
    const answers: string[] = [];
    const elapsed = (): number => Date.now() - start;
    if ((await this.line()) === null)
      return { answers, failure: this.stopped(0, commands), timeMs: elapsed() };
    while (answers.length < commands.length) {
      const l = await this.line();
      if (l === null) return { answers, failure: this.stopped(answers.length, commands), timeMs: elapsed() };
      answers.push(l);
      if (l.startsWith('fatal ')) return { answers, failure: l.slice(6), timeMs: elapsed() };
    }
    return { answers, timeMs: elapsed() };
  }

  private stopped(n: number, commands: readonly string[]): string {
    return `the helper stopped after ${n} of ${commands.length} commands (${this.stderr.trim() || 'exited'})`;
  }

  /** Quit the helper: it kills its tasks, restores the knobs and drops the lock. */
  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || this.exited) return;
    const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
    child.stdin.end('quit\n');
    await done;
  }
}
