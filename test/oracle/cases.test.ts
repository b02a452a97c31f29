/**
 * The oracle's regression cases hold in the model too, with or without a real kernel here: each states
 * in its expectations what Linux 6.18 did (examples.test.ts compares them with the running kernel).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/scenario/run.js';

describe('the oracle cases hold in the model', () => {
  for (const f of readdirSync('test/oracle/cases')) {
    it(f, () => {
      const file = `test/oracle/cases/${f}`;
      const r = parseScenario(readFileSync(file, 'utf8'), file);
      expect(r.ok ? [] : r.errors).toEqual([]);
      if (!r.ok) return;
      const result = runScenario(r.scenario);
      expect(result.expectations.filter((e) => !e.ok)).toEqual([]);
    });
  }
});
