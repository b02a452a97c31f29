import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fleetScenario } from '../../bench/scenario.js';
import { parseScenario } from '../../src/scenario/parse.js';

describe('the gallery', () => {
  it("the headline fleet is bench/scenario.ts's own text (4 guests x 4096 pages), under a comment", () => {
    const file = 'src/web/gallery/headline-fleet.yaml';
    const text = readFileSync(file, 'utf8');
    const body = text
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    expect(body).toBe(fleetScenario(4, 4096, 'every_step'));
    expect(parseScenario(text, file).ok).toBe(true);
  });
});
