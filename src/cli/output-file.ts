/**
 * Where mmsim writes an output (--trace, --svg, ...): safely, whatever is at that path.
 *
 * - `-` is standard output.
 * - A new or regular file is replaced atomically: the bytes go to a temporary file created exclusively
 *   (O_CREAT|O_EXCL, an unpredictable name) in the target's own directory, renamed over it at the end;
 *   an existing file keeps its mode. On Linux the temporary file is unlinked as soon as it is open, so
 *   a run killed half-way (Ctrl-C) leaves nothing behind: its bytes live only through the descriptor
 *   and are copied (in the kernel) to a second exclusive name just before the rename.
 * - A symbolic link is written through: its target is replaced, not the link.
 * - A FIFO or a character device (/dev/null, /dev/stdout, a terminal) is written directly, never replaced.
 * - A directory, socket or block device, a link to nothing, and any input of the same run are refused.
 * Every refusal or write failure is a UsageError naming the option and the path (exit 2).
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  realpathSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './usage-error.js';

export interface OutputOptions {
  /** The option that named the path, for messages: '--trace'. */
  option: string;
  /** Files this run reads: never overwritten. */
  inputs?: readonly string[];
  /** Where `-` writes (default: the process's standard output). */
  stdout?: (chunk: Uint8Array) => void;
}

/** An output being written: write() any number of times, then commit() (or abort() on failure). */
export interface Output {
  /** The path as given ('-' for standard output). */
  readonly path: string;
  write(chunk: string | Uint8Array): void;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Finish: the file appears (replaced atomically) or the stream is flushed. */
  commit(): void;
  /** Give up: nothing of this output remains (a direct stream keeps what it already took). */
  abort(): void;
}

const BUFFER_BYTES = 1 << 16;
/** On Linux an unlinked file can still be copied through /proc/self/fd. */
const canSpoolAnonymously = existsSync('/proc/self/fd');

const codeOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? 'EIO';

/** Check `path` and open it for writing; throws UsageError if it must not or cannot be written. */
export function openOutput(path: string, o: OutputOptions): Output {
  const fail = (why: string): never => {
    throw new UsageError(`${o.option}: ${path === '' ? "''" : path}: ${why}`);
  };
  if (path === '') fail("expected a file name, or '-' for standard output");
  if (path === '-') return new StreamOutput(path, o.stdout ?? ((c) => process.stdout.write(c)));
  const target = resolveTarget(path, fail);
  let st: Stats | undefined;
  try {
    st = statSync(target);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') fail(`cannot write (${codeOf(e)})`);
  }
  if (st !== undefined) {
    for (const input of o.inputs ?? []) {
      const i = statOrUndefined(input);
      if (i !== undefined && i.dev === st.dev && i.ino === st.ino)
        fail(`is ${input}, which this run reads; refusing to overwrite it`);
    }
    if (st.isFIFO() || st.isCharacterDevice()) return DirectOutput.open(path, target, fail);
    if (st.isDirectory()) fail('is a directory');
    if (!st.isFile()) fail('is not a regular file, a FIFO or a character device; refusing to replace it');
  }
  // a replaced file keeps its mode; a new one gets what open(2) gives (umask applied), learnt below
  const mode = st === undefined ? undefined : st.mode & 0o7777;
  return ReplacingOutput.open(path, target, mode, fail);
}

/** Write `content` to `path` as one output; returns the bytes written. */
export function writeOutput(path: string, content: string | Uint8Array, o: OutputOptions): number {
  const out = openOutput(path, o);
  try {
    out.write(content);
    out.commit();
  } catch (e) {
    out.abort();
    throw e;
  }
  return out.bytes;
}

/** The path a write really lands on: a symbolic link's final target (which must exist). */
function resolveTarget(path: string, fail: (why: string) => never): string {
  try {
    return realpathSync(path);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') fail(`cannot write (${codeOf(e)})`);
  }
  // missing: nothing is there (a new file), or a link points at nothing
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink())
    fail('is a symbolic link to a missing file; refusing to create its target');
  if (statOrUndefined(dirname(path))?.isDirectory() !== true) fail('cannot write (no such directory)');
  return path;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Buffers small writes; subclasses say where a full buffer goes. */
abstract class BufferedOutput implements Output {
  private chunks: Uint8Array[] = [];
  private pending = 0;
  private written = 0;

  constructor(readonly path: string) {}

  get bytes(): number {
    return this.written;
  }

  write(chunk: string | Uint8Array): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.written += b.length;
    this.chunks.push(b);
    this.pending += b.length;
    if (this.pending >= BUFFER_BYTES) this.flush();
  }

  protected flush(): void {
    if (this.pending === 0) return;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.pending);
    this.chunks = [];
    this.pending = 0;
    this.sink(all);
  }

  /** Nothing reached the sink yet, and this is everything. */
  protected takeAll(): Uint8Array | undefined {
    if (this.written !== this.pending) return undefined;
    const all = Buffer.concat(this.chunks, this.pending);
    this.chunks = [];
    this.pending = 0;
    return all;
  }

  protected abstract sink(b: Uint8Array): void;
  abstract commit(): void;
  abstract abort(): void;
}

function writeAll(fd: number, b: Uint8Array, fail: (why: string) => never): void {
  try {
    for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
  } catch (e) {
    fail(`cannot write (${codeOf(e)})`);
  }
}

class StreamOutput extends BufferedOutput {
  constructor(
    path: string,
    private readonly out: (chunk: Uint8Array) => void,
  ) {
    super(path);
  }
  protected sink(b: Uint8Array): void {
    this.out(b);
  }
  commit(): void {
    this.flush();
  }
  abort(): void {
    this.flush();
  }
}

/** A FIFO or character device: opened (never created) and written in place. */
class DirectOutput extends BufferedOutput {
  static open(path: string, target: string, fail: (why: string) => never): DirectOutput {
    let fd = -1;
    try {
      fd = openSync(target, constants.O_WRONLY | constants.O_NOCTTY);
    } catch (e) {
      fail(`cannot write (${codeOf(e)})`);
    }
    return new DirectOutput(path, fd, fail);
  }
  private constructor(
    path: string,
    private fd: number,
    private readonly fail: (why: string) => never,
  ) {
    super(path);
  }
  protected sink(b: Uint8Array): void {
    writeAll(this.fd, b, this.fail);
  }
  commit(): void {
    try {
      this.flush();
    } finally {
      this.close();
    }
  }
  abort(): void {
    this.close();
  }
  private close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A new or regular file, replaced by rename from an exclusive temporary file in its directory. */
class ReplacingOutput extends BufferedOutput {
  static open(
    path: string,
    target: string,
    keepMode: number | undefined,
    fail: (why: string) => never,
  ): ReplacingOutput {
    const dir = dirname(target);
    const base = basename(target);
    const spool = exclusiveTemp(dir, base, fail, keepMode === undefined ? 0o666 : 0o600);
    const mode = keepMode ?? fstatSync(spool.fd).mode & 0o7777;
    let anonymous = false;
    if (canSpoolAnonymously) {
      unlinkSync(spool.name);
      anonymous = true;
    }
    return new ReplacingOutput(path, target, mode, spool.fd, anonymous ? undefined : spool.name, fail);
  }
  private constructor(
    path: string,
    private readonly target: string,
    private readonly mode: number,
    private fd: number,
    /** The spool's name while it has one (not on Linux, where it is unlinked at once). */
    private spoolName: string | undefined,
    private readonly fail: (why: string) => never,
  ) {
    super(path);
  }

  protected sink(b: Uint8Array): void {
    writeAll(this.fd, b, this.fail);
  }

  commit(): void {
    const dir = dirname(this.target);
    const base = basename(this.target);
    let temp: string | undefined; // a named file to rename over the target, or to remove on failure
    try {
      const whole = this.takeAll();
      if (this.spoolName !== undefined) {
        if (whole !== undefined) writeAll(this.fd, whole, this.fail);
        else this.flush();
        temp = this.spoolName;
        this.spoolName = undefined;
      } else if (whole !== undefined) {
        // everything fits in the buffer: write it under a new exclusive name, skipping the spool
        const t = exclusiveTemp(dir, base, this.fail);
        temp = t.name;
        try {
          writeAll(t.fd, whole, this.fail);
        } finally {
          closeSync(t.fd);
        }
      } else {
        this.flush();
        temp = copyToExclusiveTemp(this.fd, dir, base, this.fail);
      }
      chmodSync(temp, this.mode);
      renameSync(temp, this.target);
      temp = undefined;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      this.fail(`cannot write (${codeOf(e)})`);
    } finally {
      if (temp !== undefined) unlinkQuietly(temp);
      this.abort();
    }
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    if (this.spoolName !== undefined) unlinkQuietly(this.spoolName);
    this.spoolName = undefined;
  }
}

function exclusiveTemp(
  dir: string,
  base: string,
  fail: (why: string) => never,
  mode = 0o600,
): { name: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const name = join(dir, `.${base}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      return { name, fd: openSync(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode) };
    } catch (e) {
      if (codeOf(e) !== 'EEXIST' || attempt > 8) fail(`cannot write in ${dir} (${codeOf(e)})`);
    }
  }
}

/** Copy the anonymous spool (through /proc/self/fd) to a new exclusive name beside the target. */
function copyToExclusiveTemp(fd: number, dir: string, base: string, fail: (why: string) => never): string {
  for (let attempt = 0; ; attempt++) {
    const name = join(dir, `.${base}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      copyFileSync(`/proc/self/fd/${fd}`, name, constants.COPYFILE_EXCL);
      return name;
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') unlinkQuietly(name); // a partial copy of ours
      if (codeOf(e) !== 'EEXIST' || attempt > 8) fail(`cannot write in ${dir} (${codeOf(e)})`);
    }
  }
}

function unlinkQuietly(name: string): void {
  try {
    unlinkSync(name);
  } catch {
    // already gone
  }
}
