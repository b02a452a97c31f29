/**
 * Another process on the machine uses KSM: the oracle still compares partitions and step outcomes, and
 * says that the global KSM counters cannot be compared (they count that process's pages too).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runOracle } from '../../src/oracle/index.js';
import { helperBinary } from '../../src/oracle/real-kernel.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { unavailable } from './real.js';

describe.skipIf(unavailable !== null)('another process uses KSM', () => {
  it('partitions are compared, the global counters are not, and the output says why', async () => {
    // a helper without the lock: one task with one page registered with KSM (MADV_MERGEABLE)
    const other = spawn(helperBinary(), [], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const answered = new Promise<void>((resolve) => {
      other.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 4) resolve();
      });
    });
    other.stdin.write(
      'spawn o\no mmap 500000000000 1000 rw 0\no fill 500000000000 1000 33\no madvise 500000000000 1000 mergeable\n',
    );
    await answered;
    try {
      expect(out.split('\n').slice(1, 4)).toEqual(['ok 500000000000', 'ok 0', 'ok']);
      const file = 'examples/05-ksm-merge.yaml';
      const parsed = parseScenario(readFileSync(file, 'utf8'), file);
      if (!parsed.ok) throw new Error(`${file} does not parse`);
      const r = runOracle(parsed.scenario);
      // no mm of ours is registered with KSM here: the real ksmd still scans the other process's
      const idle = parseScenario(
        'mmsim: 1\nname: idle\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 1p, prot: rw, as: m, shared: true }\n  - madvise: { proc: p, addr: m, size: 1p, advice: mergeable }\n  - ksm: { full_scans: 1 }\n',
        'idle.yaml',
      );
      if (!idle.ok) throw new Error('idle.yaml does not parse');
      expect(runOracle(idle.scenario).unexplainedCount).toBe(0);
      expect(r.comparison.countersNotComparable).toMatch(/^other processes use KSM \(\d+:helper-/);
      expect(r.comparison.countersNotComparable).toContain('the global KSM counters and the full scans');
      expect(r.comparison.points.every((p) => p.counters.length === 0)).toBe(true);
      expect(r.unexplainedCount).toBe(0);
    } finally {
      other.stdin.end('quit\n');
      await new Promise((resolve) => other.on('close', resolve));
    }
  });
});
