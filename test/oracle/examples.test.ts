/**
 * Every example's primary-MMU part agrees with the running kernel under the nearest profile, and the
 * model-bug regression cases in cases/ agree too (each once showed a difference: fork of a vma without
 * anon_vma, KSM counters at exit, PROT_NONE merging).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatComparison, runOracle } from '../../src/oracle/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { unavailable } from './real.js';

function load(file: string) {
  const r = parseScenario(readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error(`${file} does not parse`);
  return r.scenario;
}

/** Differences documented as model bugs not yet fixed (docs/FIDELITY.md), by file. */
const KNOWN: Record<string, number> = {};

const files = [
  ...readdirSync('examples')
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => `examples/${f}`),
  ...readdirSync('test/oracle/cases').map((f) => `test/oracle/cases/${f}`),
];

describe.skipIf(unavailable !== null)('the real kernel agrees with the nearest profile', () => {
  for (const file of files) {
    it(file, () => {
      const r = runOracle(load(file));
      expect(r.nearest).toBe(true);
      const want = KNOWN[file] ?? 0;
      if (r.unexplainedCount !== want) console.log(formatComparison(r.unexplained).join('\n'));
      expect(r.unexplainedCount).toBe(want);
    });
  }
});
