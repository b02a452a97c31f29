/**
 * examples/custom-secondary — a NIC with an IOTLB written against mmsim's published API only — compiles
 * and runs against the built package, as a user's project would: the package is built (`npm run build`,
 * into a scratch node_modules/mmsim with the real package.json, so `import 'mmsim'` goes through its
 * exports map to dist/), the example's sources are compiled there with tsc, and node runs them. A working
 * NIC breaks no invariant; one whose invalidate callback does nothing is caught by the checker, both when
 * driven by hand through World.attach and in a scenario file using the steps its kind registers.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = join(ROOT, 'examples/custom-secondary');
/** Inside the repository so that `yaml` and @types/node resolve from its node_modules, as installed. */
const DIR = join(ROOT, 'test-artifacts', `custom-secondary-${process.pid}`);
const APP = join(DIR, 'app');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Outcome {
  counters: Record<string, number>;
  violations: string[];
}
interface Result {
  broken: boolean;
  byHand: Outcome;
  scenario: Outcome & { ok: boolean };
}

function runExample(...args: string[]): Result {
  const out = execFileSync(process.execPath, [join(APP, 'out/main.js'), '--json', ...args], {
    cwd: APP,
    encoding: 'utf8',
  });
  return JSON.parse(out) as Result;
}

describe('a secondary MMU of one own, against the built package', () => {
  beforeAll(() => {
    rmSync(DIR, { recursive: true, force: true });
    const pkg = join(DIR, 'node_modules/mmsim');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    // `npm run build`, into the scratch package instead of the worktree's dist/
    execFileSync(
      process.execPath,
      [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
    mkdirSync(APP);
    for (const f of readdirSync(EXAMPLE)) if (/\.(ts|json)$/.test(f)) cpSync(join(EXAMPLE, f), join(APP, f));
    execFileSync(process.execPath, [TSC, '-p', join(APP, 'tsconfig.json')], { cwd: APP, stdio: 'pipe' });
  }, 300_000);

  afterAll(() => {
    rmSync(DIR, { recursive: true, force: true });
  });

  it('imports only the package', () => {
    const sources = readdirSync(EXAMPLE).filter((f) => f.endsWith('.ts'));
    expect(sources.length).toBeGreaterThanOrEqual(2);
    for (const f of sources) {
      const imports = [...readFileSync(join(EXAMPLE, f), 'utf8').matchAll(/from '([^']*)'/g)].map(
        (m) => m[1],
      );
      for (const spec of imports) expect(spec, f).toMatch(/^(mmsim|\.\/[a-z-]+\.js)$/);
    }
  });

  it('keeps its IOTLB coherent: no violation, by hand or as a scenario', () => {
    const r = runExample();
    expect(r.byHand.violations).toEqual([]);
    expect(r.byHand.counters.iotlb_fills).toBe(8); // 4 pages written, 4 read back after MADV_DONTNEED
    expect(r.byHand.counters.iotlb_zaps).toBe(1);
    expect(r.scenario).toMatchObject({ ok: true, violations: [] });
    expect(r.scenario.counters).toEqual({
      'nic.eth0.fill_retries': 0,
      'nic.eth0.iotlb_fills': 8,
      'nic.eth0.iotlb_zaps': 1,
    });
  });

  it('with an invalidate callback that does nothing, breaks coherence and the checker says where', () => {
    const r = runExample('--broken');
    for (const outcome of [r.byHand, r.scenario]) {
      const coherence = outcome.violations.filter((v) => v.startsWith('coherence:'));
      expect(coherence.length).toBe(4);
      for (const v of coherence)
        expect(v).toMatch(/nic:eth0 maps 0x[0-9a-f]+ to pfn .* the primary pte is none/);
    }
    expect(r.scenario.ok).toBe(false);
    expect(r.scenario.counters['nic.eth0.iotlb_zaps']).toBe(0);
  });
});
