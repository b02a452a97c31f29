/**
 * The helper restores every KSM knob it changed: at a normal end, on SIGTERM and SIGINT, at its own
 * timeout, and after a SIGKILL at the start of the next run (from its journal). It never writes run=2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { helperBinary } from '../../src/oracle/real-kernel.js';
import { unavailable } from './real.js';

const KNOBS = ['run', 'pages_to_scan', 'sleep_millisecs', 'smart_scan'];
const read = (k: string): string => readFileSync(`/sys/kernel/mm/ksm/${k}`, 'utf8').trim();
const snapshot = (): Record<string, string> => Object.fromEntries(KNOBS.map((k) => [k, read(k)]));

/** Start the helper, let it change knobs, and return it once it has answered `answers` lines. */
function started(script: string, answers: number) {
  const child = spawn(helperBinary(), [], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(script);
  let out = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length > answers) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exited, output: () => out };
}

const CHANGE = 'lock\nknob pages_to_scan 4321\nknob smart_scan 0\nknob sleep_millisecs 777\n';

describe.skipIf(unavailable !== null)('KSM knobs are restored', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}`, async () => {
      const before = snapshot();
      const h = started(CHANGE, 4);
      await h.ready;
      expect(read('pages_to_scan')).toBe('4321');
      h.child.kill(signal);
      await h.exited;
      expect(snapshot()).toEqual(before);
    });
  }

  it('at the helper timeout', async () => {
    const before = snapshot();
    const h = started(`timeout 1\n${CHANGE}`, 5);
    await h.ready;
    expect(read('smart_scan')).toBe('0');
    await h.exited; // stdin stays open: only the alarm ends it
    expect(snapshot()).toEqual(before);
    expect(h.output()).toContain('KSM knobs restored');
  });

  it('after a SIGKILL, at the next run', async () => {
    const before = snapshot();
    const h = started(CHANGE, 4);
    await h.ready;
    h.child.kill('SIGKILL');
    await h.exited;
    expect(read('sleep_millisecs')).toBe('777'); // nothing could restore it yet
    spawnSync(helperBinary(), [], { input: 'lock\nquit\n' });
    expect(snapshot()).toEqual(before);
  });

  it('refuses run=2 (it would unmerge every process on the machine)', () => {
    const r = spawnSync(helperBinary(), [], { input: 'lock\nknob run 2\nquit\n', encoding: 'utf8' });
    expect(r.stdout.split('\n')[1]).toBe('err EINVAL');
    expect(read('run')).toBe('0');
  });
});
