/**
 * `mmsim check`: the report, the counterexample table and its replay, the JSON the browser visualizer
 * opens, workers and shards giving the same report byte for byte, and bad options.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckReport, Counterexample } from '../../src/check/counterexample.js';
import { runCli, STACK_LINE } from '../cli/run-cli.js';

const EX20 = 'examples/20-race-fault-vs-merge.yaml';
const BUG = ['--set', 'kvmChangePteBumpsSeq=false'];
const dir = mkdtempSync(join(tmpdir(), 'mmsim-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mmsim check', () => {
  it('exhausts example 20 clean: complete, executions, final states, exit 0', () => {
    const r = runCli('check', EX20);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/rfc-2019\s+yes\s+\d+\s+7\s+none/);
    expect(r.err).toMatch(/checked in [\d.]+ s/);
  });

  it('finds the stale spte with the switch: a numbered table, the offending transition marked, a replay that shows it', () => {
    const r = runCli('check', EX20, ...BUG);
    expect(r.code).toBe(1);
    expect(r.out).toContain('COUNTEREXAMPLE rfc-2019: invariant coherence — 2 preemption(s)');
    expect(r.out).toMatch(/^> +\d+ +[01] +\d+ +/m); // the marked row: index, thread, cpu
    expect(r.out).toContain('takes mm1.ptl');
    const replay = /replay: mmsim (run .*) --steps/.exec(r.out)?.[1].split(' ');
    expect(replay).toBeDefined();
    const again = runCli(...replay!);
    expect(again.code).toBe(1);
    expect(again.out).toContain('coherence');
  });

  it('--json is a CheckReport whose counterexample carries what the visualizer needs to replay it', () => {
    const r = runCli('check', EX20, ...BUG, '--json');
    const report = JSON.parse(r.out) as CheckReport;
    expect(report.format).toBe('mmsim-check');
    const c = report.results[0].counterexamples[0];
    expect(c.format).toBe('mmsim-counterexample');
    expect(c.scenario).toBe(readFileSync(EX20, 'utf8'));
    expect(c.overrides).toEqual({ kvmChangePteBumpsSeq: false });
    expect(c.transitions[c.offending].index).toBe(c.offending);
    expect(c.transitions.length).toBe(c.offending + 1);
    expect(c.threads).toEqual(['0: ksm', '1: guest vm1']);
  });

  it('--paranoid: the same verdict, and a counterexample that says to replay with the full sweeps', () => {
    const clean = runCli('check', EX20, '--paranoid');
    expect(clean.code).toBe(0);
    expect(clean.out).toMatch(/rfc-2019\s+yes\s+\d+\s+7\s+none/);
    const r = runCli('check', EX20, ...BUG, '--paranoid', '--json');
    expect(r.code).toBe(1);
    const c = (JSON.parse(r.out) as CheckReport).results[0].counterexamples[0];
    expect(c.paranoid).toBe(true);
    expect(c.problem.invariant).toBe('coherence');
    const text = runCli('check', EX20, ...BUG, '--paranoid');
    const replay = /replay: mmsim (run .*) --steps/.exec(text.out)?.[1].split(' ');
    expect(replay).toContain('--paranoid');
    expect(runCli(...replay!).out).toContain('coherence');
  });

  it('--counterexample writes the first counterexample; --trace its trace', () => {
    const out = join(dir, 'cx.json');
    const trace = join(dir, 'cx.trace.json');
    const r = runCli('check', EX20, ...BUG, '--counterexample', out, '--trace', trace);
    expect(r.code).toBe(1);
    const c = JSON.parse(readFileSync(out, 'utf8')) as Counterexample;
    expect(c.problem.invariant).toBe('coherence');
    expect(JSON.parse(readFileSync(trace, 'utf8')).traceEvents.length).toBeGreaterThan(10);
  });

  // with no bound (source-DPOR) and under one (each task's own trace-class cache)
  for (const bound of [[], ['--max-preemptions', '2']])
    it(`the same report, byte for byte, with workers and as merged shards${bound.length > 0 ? ', under a bound' : ''}`, () => {
      const one = runCli('check', EX20, ...BUG, ...bound, '--json').out;
      expect(runCli('check', EX20, ...BUG, ...bound, '--json', '--workers', '2').out).toBe(one);
      const shards = [0, 1, 2].map((i) => {
        const f = join(dir, `shard-${i}.json`);
        const r = runCli('check', EX20, ...BUG, ...bound, '--shard', `${i}/3`);
        expect(r.code).toBe(0);
        writeFileSync(f, r.out);
        return f;
      });
      expect(runCli('check', '--merge', ...shards, '--json').out).toBe(one);
      expect(runCli('check', '--merge', shards[0], shards[1]).err).toContain('shard(s) 2 of 3 missing');
    }, 120_000);

  it('--bug runs the catalogued scenario with its switch', () => {
    const r = runCli('check', '--bug', 'rfc-change-pte-no-seq');
    expect(r.code).toBe(1);
    expect(r.out).toContain('invariant coherence');
  });

  it('--max-preemptions 0 with --no-reduction: the serial orders only, and no counterexample', () => {
    const r = runCli('check', EX20, ...BUG, '--max-preemptions', '0', '--no-reduction');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/rfc-2019\s+yes\s+2\s/);
  });

  it('--max-executions stops the search with a clear line', () => {
    const r = runCli('check', EX20, '--max-executions', '3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('no (--max-executions 3)');
    expect(r.out).toContain('what it did not reach is unchecked');
  });

  it('bad options are exit-2 errors without a stack trace', () => {
    for (const args of [
      ['check'],
      ['check', EX20, '--shard', '2/2'],
      ['check', EX20, '--workers', '0'],
      ['check', EX20, '--max-preemptions', '-1'],
      ['check', '--bug', 'no-such-bug'],
      ['check', EX20, '--shard', '0/2', '--counterexample', 'x.json'],
      ['check', '--merge', EX20],
    ]) {
      const r = runCli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).not.toMatch(STACK_LINE);
      expect(r.err.length).toBeGreaterThan(10);
    }
  });
});
