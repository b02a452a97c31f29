import { describe, expect, it } from 'vitest';
import { readCheckerFile, settingsOf } from '../../src/web/model/checker-file.js';
import { raceCounterexample } from './fixtures.js';

describe('reading the model checker output', () => {
  const cx = raceCounterexample();

  it('opens a counterexample, and every counterexample of a report', () => {
    const one = readCheckerFile(JSON.stringify(cx));
    expect(one).toEqual({ ok: true, counterexamples: [cx] });
    const report = {
      format: 'mmsim-check',
      version: 1,
      file: cx.file,
      results: [
        { kernel: 'v5.0', complete: true, executions: 3, finalStates: 1, seconds: 0, counterexamples: [] },
        {
          kernel: 'rfc-2019',
          complete: true,
          executions: 44,
          finalStates: 38,
          seconds: 1,
          counterexamples: [cx, cx],
        },
      ],
    };
    const r = readCheckerFile(JSON.stringify(report));
    expect(r.ok && r.counterexamples.length).toBe(2);
  });

  it('says what is wrong with anything else', () => {
    const err = (x: unknown) => {
      const r = readCheckerFile(typeof x === 'string' ? x : JSON.stringify(x));
      return r.ok ? 'ok' : r.error;
    };
    expect(err('{')).toMatch(/^not JSON/);
    expect(err({ mmsim: 1 })).toContain("expected format 'mmsim-counterexample' or 'mmsim-check'");
    expect(err({ ...cx, version: 2 })).toContain('unsupported counterexample version 2');
    expect(err({ ...cx, kernel: 'v9' })).toContain("unknown kernel 'v9'");
    expect(err({ ...cx, offending: cx.transitions.length })).toContain(
      '`offending` must index `transitions`',
    );
    expect(err({ ...cx, schedule: 3 })).toContain('`schedule`');
    expect(err({ format: 'mmsim-check', version: 1, file: 'x', results: [] })).toContain('no counterexample');
  });

  it('gives the what-if fields as --set arguments', () => {
    expect(settingsOf(cx)).toEqual(['kvmChangePteBumpsSeq=false']);
  });
});
