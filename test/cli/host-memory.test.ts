/**
 * A simulated machine larger than the host can model stops with a clear error, not an out-of-memory
 * abort of Node: `run --max-memory MIB` (default 80% of the host's RAM) bounds the host memory mmsim
 * itself uses, checked as the run uses more simulated RAM.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-hostmem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One process writing `mib` MiB on a machine with room for them. */
function scenario(mib: number): string {
  const file = join(dir, `write-${mib}.yaml`);
  writeFileSync(
    file,
    [
      'mmsim: 1',
      'name: big-writer',
      `machine: { ram: ${mib * 2} MiB }`,
      'steps:',
      '  - spawn: p',
      `  - mmap: { proc: p, size: ${mib} MiB, prot: rw, as: buf }`,
      `  - write: { proc: p, addr: buf, size: ${mib} MiB, fill: 7 }`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('run --max-memory', () => {
  it('stops a run that outgrows the limit with exit 2, the limit and the option, no stack, no output file', () => {
    const trace = join(dir, 'big.trace.json');
    // mmsim alone (Node and the model's code) is well over 1 MiB resident: the first check stops it
    const r = runCli('run', scenario(64), '--max-memory', '1', '--trace', trace);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/big-writer|write-64\.yaml/);
    expect(r.err).toContain('over the limit of 1 MiB (--max-memory MIB raises it');
    expect(r.err).not.toMatch(STACK_LINE);
    expect(r.err).not.toContain('internal error');
    expect(existsSync(trace)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('lets the same run finish under the default limit', () => {
    const r = runCli('run', scenario(64));
    expect(r.code).toBe(0);
  });

  it('refuses a limit that is not a positive number of MiB, and --explore with it', () => {
    for (const bad of ['0', '-3', '1.5', 'lots']) {
      const r = runCli('run', scenario(64), '--max-memory', bad);
      expect(r.code).toBe(2);
      expect(r.err).toContain('--max-memory: expected a positive number of MiB');
    }
    const e = runCli('run', 'examples/20-race-fault-vs-merge.yaml', '--explore', '1', '--max-memory', '100');
    expect(e.code).toBe(2);
  });
});
