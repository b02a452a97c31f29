/**
 * The bug catalogue: every entry's scenario, with its switch, has a counterexample of the expected kind
 * with the fewest preemptions listed here; without it, every schedule up to one preemption is clean
 * (bench/check.ts runs them to exhaustion); every example scenario is clean too.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUGS, findBug } from '../../src/check/bugs.js';
import { exhaust, huntCatalogued, loadScenario } from '../../src/check/hunt.js';
import { type ProfileOverrides, parseProfileSetting, profileSettings } from '../../src/kernel/profiles.js';

/** The fewest preemptions each bug's counterexample needs (0: one of the serial orders shows it). */
const MIN_PREEMPTIONS: Record<string, number> = {
  'rfc-change-pte-no-seq': 2,
  'kvm-no-notifier-retry': 1,
  'kvm-flag-on-mprotect': 0,
  'ksm-merges-pinned-page': 0,
  'change-pte-before-clear-flush': 1,
  'change-pte-during-other-invalidation': 1,
  'gup-cow-vmsplice': 0,
  'fork-pinned-page': 0,
  'sva-stuck-write': 0,
  'hmm-no-read-retry': 1,
  'ksm-exit-race': 1,
};

const yamlIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(dir, f))
    .sort();

describe('the bug catalogue', () => {
  it('has at least ten entries, unique ids, and one scenario per file in examples/bugs', () => {
    expect(BUGS.length).toBeGreaterThanOrEqual(10);
    expect(new Set(BUGS.map((b) => b.id)).size).toBe(BUGS.length);
    expect(BUGS.map((b) => b.scenario).sort()).toEqual(yamlIn('examples/bugs'));
    expect(Object.keys(MIN_PREEMPTIONS).sort()).toEqual(BUGS.map((b) => b.id).sort());
    expect(findBug('fork-pinned-page')?.set).toEqual({ forkCopiesPinnedPages: false });
  });

  for (const bug of BUGS) {
    describe(bug.id, () => {
      it('names its kernel in the scenario and a switch `--set` accepts', () => {
        expect(loadScenario(bug.scenario).kernel).toBe(bug.kernel);
        const reparsed: ProfileOverrides = {};
        for (const s of profileSettings(bug.set)) expect(parseProfileSetting(s, reparsed)).toBeNull();
        expect(reparsed).toEqual(bug.set);
        // the switch is more than the base: the base alone is the clean run
        if (bug.base !== undefined) expect(bug.set).toMatchObject(bug.base);
        expect(bug.fix.length).toBeGreaterThan(10);
      });

      it(`with its switch: found, ${MIN_PREEMPTIONS[bug.id]} preemption(s), a${bug.kind === 'livelock' ? ' livelock' : 'n invariant'}`, () => {
        const r = huntCatalogued(bug);
        expect(r.found).toBe(true);
        expect(r.preemptions).toBe(MIN_PREEMPTIONS[bug.id]);
        expect(r.first?.kind).toBe(bug.kind);
        expect(r.first?.preemptions).toBe(MIN_PREEMPTIONS[bug.id]);
      });

      it(`without it${bug.base ? ' (under its what-if base)' : ''}: every schedule with at most one preemption is clean`, () => {
        const r = exhaust(loadScenario(bug.scenario), {
          maxPreemptions: 1,
          file: bug.scenario,
          profileOverrides: bug.base,
        });
        expect(r.first?.problem).toBeUndefined();
        expect(r.complete).toBe(true);
        expect(r.schedules).toBeGreaterThan(1);
      });
    });
  }
});

describe('every example scenario is clean under the checker', () => {
  // every serial order of the parallel threads (test/cli/examples.test.ts walks random interleavings)
  for (const file of yamlIn('examples')) {
    it(file, () => {
      const r = exhaust(loadScenario(file), { maxPreemptions: 0, file });
      expect(r.first?.problem).toBeUndefined();
      expect(r.complete).toBe(true);
    });
  }
});

describe('the SPIN anchor scenarios (bench/spin/race-vcpus-N.yaml)', () => {
  it('parse, race N vCPUs of one guest against ksmd, and are clean in every serial order (N <= 2)', () => {
    for (const n of [1, 2, 3, 4]) {
      const s = loadScenario(`bench/spin/race-vcpus-${n}.yaml`);
      const par = s.steps.find((st) => st.op === 'parallel');
      expect(par?.op === 'parallel' ? par.threads.length : 0).toBe(n + 1);
    }
    for (const n of [1, 2]) {
      const file = `bench/spin/race-vcpus-${n}.yaml`;
      const r = exhaust(loadScenario(file), { maxPreemptions: 0, file });
      expect(r.first?.problem).toBeUndefined();
      expect(r.complete).toBe(true);
    }
  });
});
