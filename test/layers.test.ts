/** docs/ARCHITECTURE.md, Layers: data flows down; nothing below imports from above. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const RANK: Record<string, number> = {
  sim: 0,
  kernel: 1,
  hw: 2,
  mm: 3,
  notifier: 4,
  secondary: 5,
  scenario: 6,
  experiments: 7,
  check: 7,
  oracle: 7,
  cli: 8,
  web: 8,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (file: string): string => relative('src', file).split('/')[0];

describe('layer rule', () => {
  it('no module imports from a layer above its own', () => {
    const upward: string[] = [];
    for (const file of files('src')) {
      const layer = layerOf(file);
      if (!(layer in RANK)) continue; // src/index.ts and src/api.ts sit on top
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = layerOf(normalize(join(dirname(file), m[1])));
        if (target in RANK && RANK[target] > RANK[layer]) upward.push(`${file} -> ${m[1]}`);
        if (!(target in RANK)) upward.push(`${file} -> ${m[1]} (the top-level API)`);
      }
    }
    expect(upward).toEqual([]);
  });
});
