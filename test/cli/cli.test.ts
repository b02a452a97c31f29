/** The mmsim command: exit codes, file:line:col errors without stack traces, outputs. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quickAnswer } from '../../src/cli/help.js';
import { type Io, main } from '../../src/cli/main.js';

function run(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false };
  const code = main(argv, io);
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'mmsim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const noStack = (s: string): void => {
  expect(s).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
};

describe('mmsim run', () => {
  it('runs an example and exits 0', () => {
    const r = run('run', 'examples/02-fork-cow.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toContain('fork-cow');
    expect(r.out).toContain('OK');
  });

  it('--json prints the result the contract describes', () => {
    const r = run('run', 'examples/05-ksm-merge.yaml', '--json', '--seed', '7');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(
      expect.arrayContaining([
        'name',
        'kernel',
        'seed',
        'ok',
        'counters',
        'expectations',
        'violations',
        'traceHash',
      ]),
    );
    expect(j.seed).toBe(7);
    expect(j.counters['ksm.pages_sharing']).toBe(8);
    expect(j.expectations.every((e: { ok: boolean }) => e.ok)).toBe(true);
  });

  it('--kernel overrides the file (and a failed expectation exits 1)', () => {
    const r = run('run', 'examples/08-guest-after-merge-v5.0.yaml', '--kernel', 'rfc-2019');
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL');
    expect(r.out).toContain('kvm.vm1.faults == 16');
  });

  it('a missing file is a clear error with exit 2', () => {
    const r = run('run', join(dir, 'nope.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nope\.yaml: cannot read the file \(ENOENT\)/);
    noStack(r.err);
  });

  it('a bad file reports file:line:col and exits 2', () => {
    const p = file(
      'bad.yaml',
      'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 4 potatoes, prot: rw, as: b }\n',
    );
    const r = run('run', p);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:28: error: mmap\\.size`));
    expect(r.out).toBe('');
    noStack(r.err);
  });

  it('an address past its mapping is a file:line:col error found at run time', () => {
    const p = file(
      'outside.yaml',
      'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 2p, prot: rw, as: b }\n  - write: { proc: p, addr: b+2p, data: "x" }\n',
    );
    const r = run('run', p);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/outside\.yaml:5:\d+: error: .*outside mapping b/);
    noStack(r.err);
  });

  it('bad options exit 2 with what was expected', () => {
    expect(run('run', 'examples/01-zero-page.yaml', '--kernel', 'v9.9').err).toMatch(
      /unknown kernel 'v9.9'; expected one of v3.2/,
    );
    expect(run('run', 'examples/01-zero-page.yaml', '--seed', 'x').code).toBe(2);
    expect(run('run', 'examples/01-zero-page.yaml', '--bogus').code).toBe(2);
    expect(run('frobnicate').code).toBe(2);
  });

  it('--trace writes Chrome trace-event JSON with one track per agent; nothing is written on error', () => {
    const out = join(dir, 'trace.json');
    const r = run('run', 'examples/11-guest-writes-merged-page.yaml', '--trace', out);
    expect(r.code).toBe(0);
    const t = JSON.parse(readFileSync(out, 'utf8'));
    const tracks = t.traceEvents
      .filter((e: { name: string }) => e.name === 'thread_name')
      .map((e: { args: { name: string } }) => e.args.name);
    expect(tracks).toEqual(expect.arrayContaining(['ksmd', 'vm1.vcpu0', 'scenario']));
    const bad = join(dir, 'never.json');
    const r2 = run('run', join(dir, 'bad.yaml'), '--trace', bad);
    expect(r2.code).toBe(2);
    expect(existsSync(bad)).toBe(false);
  });

  it('--steps prints each step with the events it caused', () => {
    const r = run('run', 'examples/03-cow-reuse.yaml', '--steps');
    expect(r.out).toMatch(/step 0 spawn/);
    expect(r.out).toMatch(/ptep_set_access_flags/);
  });
});

describe('mmsim validate, list, help', () => {
  it('validate accepts a good file and rejects a bad one', () => {
    expect(run('validate', 'examples/12-hmm-mirror-fork.yaml').code).toBe(0);
    const r = run('validate', join(dir, 'bad.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.yaml:4:28/);
  });

  it('list names the experiments, kernels and counters', () => {
    const r = run('list');
    for (const w of ['change-pte', 'cow-storm', 'flag-misuse', 'rfc-2019-aa', 'kvm.NAME'])
      expect(r.out).toContain(w);
  });

  it('--help works on every command', () => {
    for (const c of ['run', 'validate', 'experiment', 'list']) {
      const r = run(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: mmsim/);
    }
    expect(run('--help').out).toContain('Commands:');
  });

  it("help COMMAND prints the command's own help; --version the package's version", () => {
    for (const c of ['run', 'validate', 'experiment', 'list', 'oracle']) {
      const r = run('help', c);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toBe(run(c, '--help').out);
      expect(r.out, c).toMatch(new RegExp(`^Usage: mmsim ${c}`));
    }
    expect(run('help').out).toBe(run('--help').out);
    expect(run('help', 'nope').code).toBe(2);
    expect(run('help', 'run', 'list').code).toBe(2);
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
    expect(run('--version')).toEqual({ code: 0, out: `mmsim ${version}\n`, err: '' });
  });

  it('the process entry answers help and --version as main does, without loading the model', () => {
    for (const argv of [
      ['--help'],
      ['-h'],
      ['help'],
      ['--version'],
      ['help', 'run'],
      ['run', '--help'],
      ['list', '-h'],
    ])
      expect(quickAnswer(argv), argv.join(' ')).toBe(run(...argv).out);
    for (const argv of [[], ['run'], ['help', 'oracle'], ['run', 'x.yaml', '--help'], ['help', 'nope']])
      expect(quickAnswer(argv), argv.join(' ')).toBeUndefined();
  });
});

describe('mmsim experiment', () => {
  it('change-pte: v5.0 pays guest faults that rfc-2019 and v3.2 do not', () => {
    const r = run('experiment', 'change-pte', '--scale', '0.05', '--format', 'json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const row = (k: string) => j.rows.find((x: { kernel: string }) => x.kernel === k);
    expect(row('v5.0').guest_faults_after_merge).toBeGreaterThan(row('rfc-2019').guest_faults_after_merge);
    expect(row('v5.0').guest_faults_after_merge - row('rfc-2019').guest_faults_after_merge).toBe(
      row('v5.0').sptes_zapped_by_merge,
    );
    expect(row('v3.2').guest_faults_after_merge).toBe(row('rfc-2019').guest_faults_after_merge);
    expect(row('v5.0').change_pte_updates_by_merge).toBe(0);
    expect(row('v6.10').change_pte_updates_by_merge + row('v6.10').change_pte_misses_by_merge).toBe(0);
    for (const x of j.rows) expect(x.violations).toBe(0);
  });

  it('the table fits 80 columns; csv and svg outputs', () => {
    const t = run('experiment', 'change-pte', '--scale', '0.02', '--kernel', 'v5.0,rfc-2019');
    expect(t.code).toBe(0);
    for (const line of t.out.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    const csv = run('experiment', 'cow-storm', '--scale', '0.02', '--format', 'csv');
    expect(csv.out.trim().split('\n')).toHaveLength(6);
    const svg = join(dir, 'c.svg');
    run('experiment', 'flag-misuse', '--svg', svg);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg /);
  });

  it('flag-misuse: safe where the RFC sets the flag, unsafe anywhere else', () => {
    const r = run('experiment', 'flag-misuse', '--format', 'json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out).rows as Record<string, string | number>[];
    const damage = (x: Record<string, string | number>) =>
      Number(x.coherence) + Number(x.stale_writes) + Number(x.data);
    const site = (s: string) => rows.find((x) => x.site === s)!;
    expect(site('RFC call sites').misuse_reports).toBe(0);
    expect(damage(site('RFC call sites'))).toBe(0);
    for (const s of ['mprotect', 'munmap', 'DONTNEED 1 page', 'RW->RO new pfn']) {
      expect(Number(site(s).misuse_reports)).toBeGreaterThan(0);
      expect(damage(site(s))).toBeGreaterThan(0);
    }
    expect(Number(site('strict RFC text').misuse_reports)).toBeGreaterThan(0);
    expect(damage(site('strict RFC text'))).toBe(0);
  });

  it('unknown experiment and bad options exit 2', () => {
    expect(run('experiment', 'nope').code).toBe(2);
    expect(run('experiment', 'change-pte', '--format', 'xml').code).toBe(2);
    expect(run('experiment', 'change-pte', '--scale', '-1').code).toBe(2);
  });
});

describe('what-if profiles and the race model check', () => {
  it('--set changes the profile; bad settings exit 2 with what was expected', () => {
    const ok = run(
      'run',
      'examples/20-race-fault-vs-merge.yaml',
      '--set',
      'kvmChangePteBumpsSeq=false',
      '--interleave',
      '16',
      '--json',
    );
    expect(ok.code).toBe(1);
    const j = JSON.parse(ok.out);
    expect(j.violations[0].invariant).toBe('coherence');
    expect(j.violations[0].trace.replay).toContain('--interleave 16 --set kvmChangePteBumpsSeq=false');
    expect(run('run', 'examples/20-race-fault-vs-merge.yaml', '--interleave', '16').code).toBe(0);
    expect(run('run', 'examples/01-zero-page.yaml', '--set', 'nosuch=1').err).toMatch(
      /unknown profile field 'nosuch'; expected one of/,
    );
    expect(run('run', 'examples/01-zero-page.yaml', '--set', 'hasChangePte=maybe').err).toMatch(
      /expected true or false/,
    );
    expect(run('run', 'examples/01-zero-page.yaml', '--set', 'kvmUseChangePte=never').err).toMatch(
      /expected one of ignore, skip-start-and-end, skip-zap/,
    );
  });

  it('race: every modelled kernel survives; the RFC on a 2021 KVM does not', () => {
    const r = run('experiment', 'race', '--scale', '0.25', '--format', 'json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out).rows as { kernel: string; violating: number; distinct: number }[];
    for (const row of rows) {
      if (row.kernel === 'rfc-2019/kvm2021') expect(row.violating).toBeGreaterThan(0);
      else expect(row.violating).toBe(0);
      expect(row.distinct).toBeGreaterThan(5);
    }
  });
});

describe('mmsim run --explore (bounded model checking)', () => {
  it('finds the RFC-on-2021-KVM race in every schedule with <= 2 preemptions, and the replay reproduces it', () => {
    const r = run(
      'run',
      'examples/20-race-fault-vs-merge.yaml',
      '--explore',
      '2',
      '--set',
      'kvmChangePteBumpsSeq=false',
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/schedules with <= 2 preemptions: \d+ \(all\)/);
    const replay = /replay: mmsim run (.*) --steps/.exec(r.out)![1].split(' ');
    const again = run('run', ...replay, '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.out).violations[0].invariant).toBe('coherence');
  });

  it('v5.0, rfc-2019 and v6.10 pass every schedule with <= 2 preemptions', () => {
    for (const k of ['v5.0', 'rfc-2019', 'v6.10']) {
      const r = run('run', 'examples/20-race-fault-vs-merge.yaml', '--kernel', k, '--explore', '2', '--json');
      expect(r.code, k).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.complete).toBe(true);
      expect(j.schedules).toBeGreaterThanOrEqual(39);
      // schedules that differ only where nothing observable happens leave the same trace
      expect(j.distinctTraces).toBeGreaterThan(1);
      expect(j.distinctTraces).toBeLessThanOrEqual(j.schedules);
      expect(j.failing).toBe(0);
    }
  });

  it('bad --explore and --schedule values exit 2', () => {
    expect(run('run', 'examples/20-race-fault-vs-merge.yaml', '--explore', 'x').code).toBe(2);
    expect(run('run', 'examples/20-race-fault-vs-merge.yaml', '--schedule', 'a,b').code).toBe(2);
  });
});
