/** The fuzzer's generator writes only valid scenarios, and the oracle's plan replays every one of them. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzCase, scenarioText } from '../../src/oracle/fuzz.js';
import { exercised } from '../../src/oracle/index.js';
import { plan } from '../../src/oracle/plan.js';
import { parseScenario } from '../../src/scenario/parse.js';

describe('oracle fuzz generator', () => {
  it('every generated case is a scenario the oracle can replay', () => {
    fc.assert(
      fc.property(fuzzCase(), (c) => {
        const text = scenarioText(c, 'gen');
        const r = parseScenario(text, 'gen.yaml');
        expect(r.ok ? [] : r.errors).toEqual([]);
        if (!r.ok) return;
        const p = plan(r.scenario, 'v6.18', undefined, { snapshotEvery: true });
        // one snapshot per replayed step, and the final one
        expect(p.points.length).toBe(p.steps.length + 1);
      }),
      { numRuns: 300 },
    );
  });

  it('generates the steps merges need', () => {
    const texts = fc.sample(fuzzCase(), 200).map((c) => scenarioText(c, 'gen'));
    for (const op of ['mmap', 'munmap', 'mprotect', 'madvise', 'write', 'read', 'fork', 'exit', 'ksm'])
      expect(texts.some((t) => t.includes(`  - ${op}: `))).toBe(true);
    for (const bit of [
      'shared: true',
      'prot: none',
      'advice: unmergeable',
      'advice: dontneed',
      'pattern:',
      'write: true',
      'write: false',
      'unpin:',
      'max_page_sharing: 2',
    ])
      expect(texts.some((t) => t.includes(bit))).toBe(true);
  });

  it('makes merges common: KSM pages in at least a sixth of the cases, and the other states too', () => {
    const seen = new Map<string, number>();
    const cases = fc.sample(fuzzCase(16), { numRuns: 300, seed: 11 });
    for (const c of cases) {
      const r = parseScenario(scenarioText(c, 'gen'), 'gen.yaml');
      if (!r.ok) throw new Error('the generator wrote a bad scenario');
      const e = exercised(plan(r.scenario, 'v6.18', undefined, { snapshotEvery: true }));
      if (e.some((x) => x.startsWith('KSM page'))) seen.set('merged', (seen.get('merged') ?? 0) + 1);
      for (const x of e) seen.set(x, (seen.get(x) ?? 0) + 1);
    }
    expect(seen.get('merged') ?? 0).toBeGreaterThan(cases.length / 6);
    for (const what of [
      'KSM page mapped 3+ times',
      'KSM zero page',
      'page shared after fork',
      'zero page',
      'unstable tree item',
      'volatile item',
      'SIGSEGV',
    ])
      expect(seen.get(what) ?? 0, what).toBeGreaterThan(5);
  });
});
