/** Output files are written safely whatever is at the path (src/cli/output-file.ts). */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openOutput, writeOutput } from '../../src/cli/output-file.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { runCli, STACK_LINE } from './run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-out-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh empty directory per case. */
const freshDir = (): string => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};
const opts = { option: '--trace' };
const SCENARIO = 'examples/02-fork-cow.yaml';

const usageError = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('output files', () => {
  it('a new file is written, with no temporary file left beside it', () => {
    const d = freshDir();
    const p = join(d, 'out.json');
    expect(writeOutput(p, 'hello\n', opts)).toBe(6);
    expect(readFileSync(p, 'utf8')).toBe('hello\n');
    expect(readdirSync(d)).toEqual(['out.json']);
  });

  it('a large output goes through the spool and arrives whole', () => {
    const d = freshDir();
    const p = join(d, 'big.bin');
    const out = openOutput(p, opts);
    const chunk = Buffer.alloc(100_000, 7);
    for (let i = 0; i < 30; i++) out.write(chunk);
    out.commit();
    expect(statSync(p).size).toBe(3_000_000);
    expect(readdirSync(d)).toEqual(['big.bin']);
  });

  it('while an output is being written, its directory holds nothing (Linux: the spool is unlinked)', () => {
    if (!existsSync('/proc/self/fd')) return;
    const d = freshDir();
    const out = openOutput(join(d, 'x.json'), opts);
    out.write(Buffer.alloc(200_000, 1));
    expect(readdirSync(d)).toEqual([]);
    out.abort();
    expect(readdirSync(d)).toEqual([]);
  });

  it('symbolic links planted at the old predictable temporary names are left alone', () => {
    const d = freshDir();
    const victim = join(d, 'victim');
    writeFileSync(victim, 'precious');
    const p = join(d, 'out.json');
    symlinkSync(victim, `${p}.tmp-${process.pid}`);
    writeOutput(p, 'trace', opts);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(p, 'utf8')).toBe('trace');
  });

  it('an existing regular file is replaced atomically and keeps its mode', () => {
    const d = freshDir();
    const p = join(d, 'old.json');
    writeFileSync(p, 'old');
    chmodSync(p, 0o640);
    const before = statSync(p).ino;
    writeOutput(p, 'new', opts);
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(statSync(p).mode & 0o777).toBe(0o640);
    expect(statSync(p).ino).not.toBe(before);
  });

  it('a symbolic link is written through: the link stays, its target changes', () => {
    const d = freshDir();
    const target = join(d, 'real.json');
    writeFileSync(target, 'old');
    const link = join(d, 'link.json');
    symlinkSync('real.json', link);
    writeOutput(link, 'through', opts);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.json');
    expect(readFileSync(target, 'utf8')).toBe('through');
    expect(readdirSync(d).sort()).toEqual(['link.json', 'real.json']);
  });

  it('a link to nothing, a directory, a missing directory and an empty name are refused', () => {
    const d = freshDir();
    symlinkSync(join(d, 'nowhere'), join(d, 'dangling'));
    expect(usageError(() => openOutput(join(d, 'dangling'), opts))).toMatch(
      /--trace: .*dangling: is a symbolic link to a missing file/,
    );
    expect(existsSync(join(d, 'nowhere'))).toBe(false);
    expect(usageError(() => openOutput(d, opts))).toMatch(/is a directory/);
    expect(usageError(() => openOutput(join(d, 'no', 'such', 'x.json'), opts))).toMatch(/no such directory/);
    expect(usageError(() => openOutput('', opts))).toMatch(/--trace: '': expected a file name, or '-'/);
  });

  it('a character device is written in place, never replaced; /dev/full reports ENOSPC', () => {
    writeOutput('/dev/null', 'gone', opts);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    if (!existsSync('/dev/full')) return;
    expect(usageError(() => writeOutput('/dev/full', 'x', opts))).toMatch(
      /--trace: \/dev\/full: cannot write \(ENOSPC\)/,
    );
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('a FIFO is written into, not replaced', () => {
    const d = freshDir();
    const fifo = join(d, 'pipe');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      writeOutput(fifo, 'through the pipe', opts);
      const buf = Buffer.alloc(64);
      const got = readSync(reader, buf, 0, 64, null);
      expect(buf.subarray(0, got).toString()).toBe('through the pipe');
    } finally {
      closeSync(reader);
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('an input of the same run is never overwritten, under any name', () => {
    const d = freshDir();
    const input = join(d, 's.yaml');
    writeFileSync(input, readFileSync(SCENARIO));
    symlinkSync(input, join(d, 'alias.yaml'));
    linkSync(input, join(d, 'hard.yaml'));
    for (const name of ['s.yaml', 'alias.yaml', 'hard.yaml']) {
      const r = runCli('run', input, '--trace', join(d, name));
      expect(r.code, name).toBe(2);
      expect(r.err).toMatch(/--trace: .*: is .*s\.yaml, which this run reads; refusing to overwrite it/);
      expect(r.err).not.toMatch(STACK_LINE);
    }
    expect(readFileSync(input, 'utf8')).toBe(readFileSync(SCENARIO, 'utf8'));
  });

  it("'-' is standard output: the trace there, the report on standard error", () => {
    const r = runCli('run', SCENARIO, '--trace', '-');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).traceEvents.length).toBeGreaterThan(5);
    expect(r.err).toContain('fork-cow');
    expect(runCli('run', SCENARIO, '--trace', '-', '--json').code).toBe(2);
    const svg = runCli('experiment', 'flag-misuse', '--svg', '-');
    expect(svg.out).toMatch(/^<svg /);
    expect(runCli('experiment', 'flag-misuse', '--svg', '-', '--format', 'csv').code).toBe(2);
  });

  it('a bad output path is refused before the run, and an experiment checks --svg first too', () => {
    const d = freshDir();
    const r = runCli('run', SCENARIO, '--trace', join(d, 'missing', 't.json'));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(runCli('experiment', 'flag-misuse', '--svg', d).code).toBe(2);
  });

  it('Ctrl-C in the middle of a run that writes a trace leaves no file behind', async () => {
    const d = freshDir();
    const scenario = join(d, 'long.yaml');
    writeFileSync(
      scenario,
      'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 64p, prot: rw, as: b }\n' +
        '  - repeat: { times: 100000000, steps: [ { write: { proc: p, addr: b, data: "x" } } ] }\n',
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/entry.ts',
        'run',
        scenario,
        '--max-steps',
        '200000000',
        '--trace',
        join(d, 't.json'),
      ],
      {
        stdio: 'ignore',
      },
    );
    // wait until the run is under way: the child holds its spool open (on Linux, an unlinked file in d)
    const holdsSpool = (): boolean => {
      try {
        return readdirSync(`/proc/${child.pid}/fd`).some((fd) => {
          try {
            return readlinkSync(`/proc/${child.pid}/fd/${fd}`).startsWith(d);
          } catch {
            return false;
          }
        });
      } catch {
        return false;
      }
    };
    let exited = false;
    const exit = new Promise<number | null>((r) =>
      child.on('exit', (c, sig) => {
        exited = true;
        r(sig === 'SIGINT' ? 130 : c);
      }),
    );
    for (let i = 0; i < 600 && !exited && !holdsSpool(); i++) await new Promise((r) => setTimeout(r, 50));
    if (existsSync('/proc/self/fd')) expect(holdsSpool()).toBe(true);
    child.kill('SIGINT');
    const code = await exit;
    expect(code).not.toBe(0);
    expect(readdirSync(d)).toEqual(['long.yaml']);
  });
});
