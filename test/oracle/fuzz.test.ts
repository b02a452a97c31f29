/**
 * Differential fuzzing against the running kernel (src/oracle/fuzz.ts): a fixed seed's random
 * primary-MMU sequences agree step by step with Linux; a difference is shrunk and written to
 * oracle-found/ and its minimal scenario printed. `npm run oracle:fuzz -- --runs N` runs more.
 */
import { describe, expect, it } from 'vitest';
import { fuzz } from '../../src/oracle/fuzz.js';
import { unavailable } from './real.js';

const RUNS = 120;

describe.skipIf(unavailable !== null)('differential fuzzing against the running kernel', () => {
  it(`${RUNS} random sequences agree with Linux at every step`, async () => {
    const r = await fuzz({ runs: RUNS, seed: 20261125, outDir: 'oracle-found' });
    if (r.found !== null) console.log(`shrunk to ${r.found.file}:\n${r.found.text}`);
    expect(r.found?.differences ?? []).toEqual([]);
    expect(r.compared).toBeGreaterThanOrEqual(RUNS);
  });
});
