/**
 * The helper restores every KSM knob it changed: at a normal end, on SIGTERM and SIGINT, at its own
 * timeout, and after a SIGKILL at the start of the next run (from its journal). It never writes run=2.
 * Other oracle runs (the other test files) may change the knobs whenever they hold the machine-wide
 * lock, so every reading of the knobs here is made while a helper of this file holds it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { helperBinary } from '../../src/oracle/real-kernel.js';
import { unavailable } from './real.js';

const KNOBS = ['run', 'pages_to_scan', 'sleep_millisecs', 'smart_scan'];
const JOURNAL = '/run/lock/mmsim-oracle.knobs';
const read = (k: string): string => readFileSync(`/sys/kernel/mm/ksm/${k}`, 'utf8').trim();
const snapshot = (): Record<string, string> => Object.fromEntries(KNOBS.map((k) => [k, read(k)]));

/** A helper process fed line by line; `answered(n)` resolves once it has written n answers in all. */
function helper() {
  const child = spawn(helperBinary(), [], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let waiting: { n: number; resolve: () => void } | null = null;
  const lines = (): number => out.split('\n').length - 1;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (waiting !== null && lines() >= waiting.n) waiting.resolve();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    exited,
    output: () => out,
    send: (text: string) => child.stdin.write(text),
    answered: (n: number) =>
      new Promise<void>((resolve) => {
        if (lines() >= n) resolve();
        else waiting = { n, resolve };
      }),
  };
}

/** The knobs as a helper holding the lock sees them (its `lock` also replays a killed run's journal). */
async function lockedSnapshot(): Promise<Record<string, string>> {
  const h = helper();
  h.send('lock\n');
  await h.answered(1);
  const knobs = snapshot();
  h.send('quit\n');
  await h.exited;
  return knobs;
}

/** A helper that holds the lock, the knobs it found, and three knobs changed. */
async function changing(prefix = '') {
  const h = helper();
  const before = prefix.split('\n').length - 1;
  h.send(`${prefix}lock\n`);
  await h.answered(before + 1);
  const knobs = snapshot();
  h.send('knob pages_to_scan 4321\nknob smart_scan 0\nknob sleep_millisecs 777\n');
  await h.answered(before + 4);
  return { ...h, knobs };
}

describe.skipIf(unavailable !== null)('KSM knobs are restored', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}`, async () => {
      const h = await changing();
      expect(read('pages_to_scan')).toBe('4321');
      h.child.kill(signal);
      await h.exited;
      expect(await lockedSnapshot()).toEqual(h.knobs);
    });
  }

  it('at the helper timeout', async () => {
    const h = await changing('timeout 1\n');
    expect(read('smart_scan')).toBe('0');
    await h.exited; // stdin stays open: only the alarm ends it
    expect(h.output()).toContain('KSM knobs restored');
    expect(await lockedSnapshot()).toEqual(h.knobs);
  });

  it('after a SIGKILL, at the next run', async () => {
    const h = await changing();
    // what the journal keeps: each changed knob's value before the change
    const journal = readFileSync(JOURNAL, 'utf8');
    for (const k of ['pages_to_scan', 'smart_scan', 'sleep_millisecs'])
      if (h.knobs[k] !== { pages_to_scan: '4321', smart_scan: '0', sleep_millisecs: '777' }[k])
        expect(journal).toContain(`${k} ${h.knobs[k]}\n`);
    h.child.kill('SIGKILL');
    await h.exited;
    expect(await lockedSnapshot()).toEqual(h.knobs);
  });

  it('refuses run=2 (it would unmerge every process on the machine)', async () => {
    const h = helper();
    h.send('lock\nknob run 2\n');
    await h.answered(2);
    expect(h.output().split('\n')[1]).toBe('err EINVAL');
    expect(read('run')).toBe('0');
    h.send('quit\n');
    await h.exited;
  });
});
