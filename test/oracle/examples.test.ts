/**
 * Every example's primary-MMU part (examples/ and examples/bugs/) agrees with the running kernel under
 * the nearest profile, and so does every regression case in cases/ (each once showed a difference the
 * fuzzer or a hand comparison found: fork of a vma without anon_vma, KSM counters at exit, PROT_NONE
 * merging, and the rest listed in docs/FIDELITY.md).
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

const scenarios = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => `${dir}/${f}`);

const files = [
  ...scenarios('examples'),
  ...scenarios('examples/bugs'),
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
