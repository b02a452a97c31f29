/** What mmsim prints: CSV headers, tables, JSON actuals, escaped messages, the trace hash, warnings. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { oneLineHeader, renderTable } from '../../src/experiments/table.js';
import { runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-res-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ONE_WRITE = (data: string) =>
  `mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 1p, prot: rw, as: b }\n  - write: { proc: p, addr: b, data: "${data}" }\n`;

describe('experiment output', () => {
  it('CSV headers are one name each, not the table split', () => {
    expect(oneLineHeader('viola-\ntions')).toBe('violations');
    expect(oneLineHeader('change\n_pte')).toBe('change_pte');
    expect(oneLineHeader('pages\nsharing')).toBe('pages sharing');
    const csv = runCli('experiment', 'change-pte', '--scale', '0.02', '--format', 'csv');
    expect(csv.out.split('\n')[0]).toMatch(/,violations$/);
    expect(csv.out).not.toMatch(/- /);
  });

  it('the cow-storm table keeps every kernel name whole in 80 columns', () => {
    const r = runCli('experiment', 'cow-storm', '--scale', '0.02');
    expect(r.out).toContain('rfc-2019-aa');
    expect(r.out).not.toMatch(/~/);
    for (const line of r.out.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // only past what narrower gaps can save is a cell cut
    expect(renderTable([{ header: 'a' }, { header: 'b' }], [['x'.repeat(50), 'y'.repeat(40)]], 80)).toContain(
      '~',
    );
  });

  it('--set is applied to the experiment and recorded; a bad name exits 2', () => {
    const base = JSON.parse(
      runCli('experiment', 'change-pte', '--kernel', 'rfc-2019', '--scale', '0.02', '--format', 'json').out,
    );
    const r = runCli(
      'experiment',
      'change-pte',
      '--kernel',
      'rfc-2019',
      '--scale',
      '0.02',
      '--format',
      'json',
      '--set',
      'kvmUseChangePte=ignore',
    );
    const changed = JSON.parse(r.out);
    expect(changed.set).toEqual(['kvmUseChangePte=ignore']);
    expect(changed.rows[0].guest_faults_after_merge).toBeGreaterThan(base.rows[0].guest_faults_after_merge);
    const bad = runCli('experiment', 'change-pte', '--set', 'x=y');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--set: unknown profile field 'x'/);
  });
});

describe('run output', () => {
  it('reads actuals are plain JSON values: a string or an array of byte values', () => {
    const p = file(
      'reads.yaml',
      `${ONE_WRITE('hi')}expect:\n  - reads: { at: p:b, equals: "ho" }\n  - reads: { at: p:b+2, equals: [1, 2] }\n`,
    );
    const r = runCli('run', p, '--json');
    expect(r.code).toBe(1);
    const actuals = JSON.parse(r.out).expectations.map((e: { actual: unknown }) => e.actual);
    expect(actuals).toEqual(['hi', [0, 0]]);
  });

  it('a NUL byte or escape in the file is shown escaped, never echoed raw', () => {
    const p = file('nul.yaml', 'mmsim: 1\nsteps:\n  - spawn: "p\\u0000q\\u001b[31m"\n');
    const r = runCli('run', p);
    expect(r.code).toBe(2);
    expect(r.err).toContain("'p\\x00q\\x1b[31m'");
    expect(r.err.includes('\u0000') || r.err.includes('\u001b')).toBe(false);
  });

  it('the JSON result records the --interleave seed and the --schedule', () => {
    const race = 'examples/20-race-fault-vs-merge.yaml';
    for (const s of [3, 4])
      expect(JSON.parse(runCli('run', race, '--interleave', String(s), '--json').out).interleave).toBe(s);
    expect(JSON.parse(runCli('run', race, '--schedule', '0*3,1', '--json').out).schedule).toBe('0*3,1');
    expect(JSON.parse(runCli('run', race, '--json').out)).not.toHaveProperty('interleave');
  });

  it('the trace hash covers memory contents: different bytes, different hash; same bytes, same hash', () => {
    const hash = (data: string) =>
      JSON.parse(runCli('run', file(`w-${data}.yaml`, ONE_WRITE(data)), '--json').out).traceHash;
    expect(hash('x')).not.toBe(hash('y'));
    expect(hash('x')).toBe(hash('x'));
  });

  it('an access failing with nothing expecting it draws a warning line, though the run exits 0', () => {
    const p = file(
      'segv.yaml',
      'mmsim: 1\nsteps:\n  - spawn: p\n  - write: { proc: p, addr: 0x1000, data: "x" }\n',
    );
    const r = runCli('run', p);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /^mmsim: warning: 1 step failed with SIGSEGV and nothing in the scenario expects it \(first: step 1 write at .*segv\.yaml:4:5\)/,
    );
    expect(JSON.parse(runCli('run', p, '--json').out).warnings).toHaveLength(1);
    // expected: no warning
    const ok = runCli('run', 'examples/04-dontneed-mprotect-munmap.yaml');
    expect(ok.err).toBe('');
    const enomem = file(
      'enomem.yaml',
      'mmsim: 1\nmachine: { ram: 64 KiB }\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 64p, prot: rw, as: b }\n  - write: { proc: p, addr: b, size: 64p, fill: 1 }\n',
    );
    expect(runCli('run', enomem).err).toMatch(/warning: 1 step failed with ENOMEM/);
  });
});
