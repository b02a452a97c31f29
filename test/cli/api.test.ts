/** The library API: the same scenario structure as the files, and a user-written secondary MMU. */
import { describe, expect, it } from 'vitest';
import { mmuNotifierRegister, run, type Scenario, ScenarioError, World } from '../../src/index.js';
import type { Path } from '../../src/sim/exec.js';

describe('run() from TypeScript', () => {
  const scenario: Scenario = {
    mmsim: 1,
    name: 'api-fork',
    kernel: 'v5.0',
    steps: [
      { spawn: 'parent' },
      { mmap: { proc: 'parent', size: '2 pages', prot: 'rw', as: 'buf' } },
      { write: { proc: 'parent', addr: 'buf', data: 'hi' } },
      { fork: { proc: 'parent', child: 'child' }, expect: [{ same_frame: ['parent:buf', 'child:buf'] }] },
      { write: { proc: 'child', addr: 'buf', data: 'yo' } },
    ],
    expect: [
      { reads: { at: 'parent:buf', equals: 'hi' } },
      { counters: { 'faults.cow_copy': 1 } },
      { invariants: 'hold' },
    ],
  };

  it('runs a document object and gives the --json result', () => {
    const r = run(scenario);
    expect(r.ok).toBe(true);
    expect(r.name).toBe('api-fork');
    expect(r.expectations).toHaveLength(4);
    expect(r.traceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(run(scenario).traceHash).toBe(r.traceHash);
  });

  it('rejects an invalid document with positioned errors, not a crash', () => {
    const bad = {
      ...scenario,
      steps: [{ spawn: 'p' }, { mmap: { proc: 'p', size: 'lots', prot: 'rw', as: 'b' } }],
    } as Scenario;
    expect(() => run(bad)).toThrow(ScenarioError);
    try {
      run(bad);
    } catch (e) {
      expect((e as ScenarioError).errors[0].message).toMatch(/expected a size/);
      expect((e as ScenarioError).errors[0].line).toBeGreaterThan(1);
    }
  });

  it('a user-written secondary MMU receives the notifier calls', () => {
    const w = new World({ kernel: 'v5.0', ramBytes: 4 * 1024 * 1024 });
    w.sys.spawn('p');
    const addr = w.sys.mmap('p', 4096, 'rw') as number;
    const starts: string[] = [];
    mmuNotifierRegister(w.kernel, w.task('p').mm, {
      name: 'mine',
      ops: {
        *invalidateRangeStart(_agent, range): Path<number> {
          starts.push(range.by);
          return 0;
        },
      },
    });
    w.sys.write('p', addr, 'x');
    w.sys.fork('p', 'c');
    w.sys.write('p', addr, 'y');
    expect(starts).toEqual(['copy_page_range', 'wp_page_copy']);
  });
});
