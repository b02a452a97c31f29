/** Every scenario in examples/ (the tour) and test/scenario/examples/ runs and meets its own expectations. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/scenario/run.js';

const dirs = ['examples', 'test/scenario/examples'];
const files = dirs.flatMap((d) =>
  readdirSync(d)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join(d, f)),
);

describe('example scenarios', () => {
  it('the tour has at least 12 scenarios', () => {
    expect(files.filter((f) => f.startsWith('examples')).length).toBeGreaterThanOrEqual(12);
  });

  for (const file of files) {
    it(`${file} passes`, () => {
      const parsed = parseScenario(readFileSync(file, 'utf8'), file);
      if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
      const result = runScenario(parsed.scenario, { file });
      const failed = result.expectations
        .filter((e) => !e.ok)
        .map((e) => `${e.text} (actual ${JSON.stringify(e.actual)})`);
      expect(failed).toEqual([]);
      expect(result.ok).toBe(true);
    });
  }

  it('the same file, kernel and seed give the same trace hash; another kernel gives another', () => {
    const file = 'examples/08-guest-after-merge-v5.0.yaml';
    const parsed = parseScenario(readFileSync(file, 'utf8'), file);
    if (!parsed.ok) throw new Error('parse');
    const a = runScenario(parsed.scenario);
    const b = runScenario(parsed.scenario);
    const c = runScenario(parsed.scenario, { kernel: 'rfc-2019' });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.counters).toEqual(b.counters);
    expect(c.traceHash).not.toBe(a.traceHash);
  });
});

describe('parallel threads interleaved by the scheduler', () => {
  const file = 'examples/18-parallel-race.yaml';
  const parsed = parseScenario(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error('parse');
  for (const kernel of ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'] as const) {
    it(`${kernel}: every one of 25 random interleavings keeps every invariant and expectation`, () => {
      const hashes = new Set<string>();
      for (let seed = 1; seed <= 25; seed++) {
        const r = runScenario(parsed.scenario, { kernel, interleave: seed });
        const bad = [
          ...r.violations.map((v) => v.message),
          ...r.expectations.filter((e) => !e.ok).map((e) => e.text),
        ];
        expect(bad, `interleave ${seed}`).toEqual([]);
        hashes.add(r.traceHash);
        expect(runScenario(parsed.scenario, { kernel, interleave: seed }).traceHash).toBe(r.traceHash);
      }
      expect(hashes.size).toBeGreaterThan(10);
    });
  }
});
