/** Options: every value checked, every meaningless combination refused with exit 2, never ignored. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_STEPS, executedSteps, parallelThreads } from '../../src/cli/run-limits.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { MAX_SCHEDULE_PAUSES, parseSchedule } from '../../src/scenario/replay.js';
import { runCli, STACK_LINE } from './run-cli.js';

const RACE = 'examples/20-race-fault-vs-merge.yaml';
const SERIAL = 'examples/01-zero-page.yaml';
const dir = mkdtempSync(join(tmpdir(), 'mmsim-opt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exit 2, a one-line message matching `message`, nothing on stdout, no stack. */
function refused(argv: string[], message: RegExp): void {
  const r = runCli(...argv);
  expect(r.code, argv.join(' ')).toBe(2);
  expect(r.err, argv.join(' ')).toMatch(message);
  expect(r.err.trim().split('\n'), argv.join(' ')).toHaveLength(1);
  expect(r.out).toBe('');
  expect(r.err).not.toMatch(STACK_LINE);
}

describe('option values', () => {
  it('each option names itself in its error, negative numbers included', () => {
    refused(['run', RACE, '--interleave', 'x'], /^mmsim: --interleave: expected a non-negative integer/);
    refused(
      ['run', RACE, '--seed', '-5'],
      /^mmsim: --seed: expected a non-negative integer below 2\^32, got '-5'/,
    );
    refused(['run', RACE, '--interleave', '-1'], /--interleave: .*got '-1'/);
    refused(['run', RACE, '--explore', '-1'], /--explore: expected a preemption bound from 0 to 9, got '-1'/);
    refused(['run', RACE, '--seed', '4294967296'], /--seed: .*below 2\^32/);
    refused(['run', RACE, '--max-steps', '0'], /--max-steps: expected a positive integer, got '0'/);
    refused(['run', RACE, '--seed'], /--seed/);
  });

  it('an option given twice is refused, not silently the last', () => {
    refused(['run', RACE, '--seed', '1', '--seed', '2'], /--seed given twice/);
    refused(['experiment', 'change-pte', '--format', 'csv', '--format', 'json'], /--format given twice/);
  });

  it('--trace with an empty name, list with extra words', () => {
    refused(['run', SERIAL, '--trace', ''], /--trace: '': expected a file name, or '-'/);
    refused(['list', 'extra'], /list: expected nothing or 'bugs \[--json\]'/);
    refused(['list', 'bugs', 'extra'], /list: expected/);
    refused(['validate', SERIAL, SERIAL], /validate: expected one scenario FILE/);
  });
});

describe('meaningless combinations', () => {
  it('are refused, each with why', () => {
    for (const extra of [
      ['--schedule', '0'],
      ['--interleave', '1'],
      ['--trace', join(dir, 't.json')],
      ['--steps'],
      ['--seed', '3'],
    ])
      refused(
        ['run', RACE, '--explore', '1', ...extra],
        new RegExp(`--explore and ${extra[0]} cannot go together`),
      );
    refused(
      ['run', RACE, '--schedule', '0', '--interleave', '1'],
      /--schedule and --interleave cannot go together/,
    );
    refused(['run', RACE, '--json', '--steps'], /--json and --steps cannot go together/);
    refused(['run', RACE, '--trace', '-', '--json'], /--trace and --json cannot go together/);
    refused(['run', RACE, '--max-runs', '5'], /--max-runs: only --explore/);
    for (const o of [
      ['--interleave', '1'],
      ['--schedule', '0'],
      ['--explore', '1'],
    ])
      refused(
        ['run', SERIAL, ...o],
        new RegExp(`${o[0]}: .*has no parallel step, so there is nothing to interleave`),
      );
  });

  it('--kernel naming a profile twice is refused', () => {
    refused(['experiment', 'change-pte', '--kernel', 'v5.0,v5.0'], /--kernel: v5.0 is listed twice/);
  });
});

describe('--schedule is bounded and checked against the scenario, never expanded', () => {
  it('parses run by run', () => {
    expect(parseSchedule('0*5,1*2,0', 2)).toEqual([
      { thread: 0, count: 5 },
      { thread: 1, count: 2 },
      { thread: 0, count: 1 },
    ]);
    expect(parseSchedule('0*99999999999999999999', 2)).toMatch(/more than 1,000,000,000 times/);
    expect(parseSchedule(`0*${MAX_SCHEDULE_PAUSES}`, 2)).toHaveLength(1);
    expect(parseSchedule('0*0', 2)).toMatch(/at least 1/);
    expect(parseSchedule('2', 2)).toMatch(/thread 2 does not exist: .* at most 2 threads \(0\.\.1\)/);
    expect(parseSchedule('a,b', 2)).toMatch(/expected thread indices/);
  });

  it('the run refuses a huge or foreign schedule at once', () => {
    refused(
      ['run', RACE, '--schedule', '0*99999999999999999999'],
      /--schedule: the schedule chooses more than/,
    );
    refused(['run', RACE, '--schedule', '7*3,9'], /--schedule: thread 7 does not exist/);
    const ok = runCli('run', RACE, '--schedule', '0*5,1*2,0', '--json');
    expect(ok.code).toBe(0);
  });

  it('the threads that count: a parallel inside a thread runs in it', () => {
    const s = parseScenario(
      'mmsim: 1\nsteps:\n  - spawn: p\n  - repeat: { times: 2, steps: [ { parallel: { threads: [ [ { spawn: a } ], [ { spawn: b } ], [ { parallel: { threads: [[{spawn: c}], [{spawn: d}], [{spawn: e}], [{spawn: f}]] } } ] ] } } ] }\n',
      'x.yaml',
    );
    if (!s.ok) throw new Error(JSON.stringify(s.errors));
    expect(parallelThreads(s.scenario.steps)).toBe(3);
  });
});

describe('the executed steps are capped', () => {
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('a huge repeat, nested repeats and a billion ksm full scans stop at once, naming the limit and the option', () => {
    const big = write(
      'big.yaml',
      'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 1p, prot: rw, as: b }\n  - repeat: { times: 1000000000, steps: [ { write: { proc: p, addr: b, data: "x" } } ] }\n',
    );
    refused(
      ['run', big],
      /big\.yaml:5:5: error: the run would execute 1,000,000,002 steps, more than the limit of 10,000,000; --max-steps N raises it/,
    );
    const nested = write(
      'nested.yaml',
      'mmsim: 1\nsteps:\n  - spawn: p\n  - repeat: { times: 46341, steps: [ { repeat: { times: 46341, steps: [ { spawn: q }, { exit: q } ] } } ] }\n',
    );
    refused(['run', nested], /nested\.yaml:4:5: error: the run would execute 4,294,976,563 steps/);
    const scans = write(
      'scans.yaml',
      'mmsim: 1\nsteps:\n  - spawn: p\n  - ksm: { full_scans: 1000000000 }\n',
    );
    refused(['run', scans], /scans\.yaml:4:5: error: the run would execute 1,000,000,001 steps/);
    refused(
      ['run', 'examples/05-ksm-merge.yaml', '--max-steps', '10'],
      /more than the limit of 10; --max-steps N raises it/,
    );
    expect(runCli('run', 'examples/05-ksm-merge.yaml', '--max-steps', '100').code).toBe(0);
  });

  it('every shipped example is far below the default limit', () => {
    const s = parseScenario(
      'mmsim: 1\nksm: { pages_to_scan: 10 }\nsteps:\n  - spawn: p\n  - ksm: { scan: 25 pages }\n  - repeat: { times: 3, steps: [ { spawn: q }, { exit: q } ] }\n',
      'y.yaml',
    );
    if (!s.ok) throw new Error(JSON.stringify(s.errors));
    expect(executedSteps(s.scenario.steps, s.scenario.ksm.pagesToScan)).toBe(1 + 3 + 6);
    expect(DEFAULT_MAX_STEPS).toBe(10_000_000);
  });
});
