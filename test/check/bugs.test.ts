/**
 * The bug catalogue: `mmsim check`'s search (partial-order reduced, no preemption bound) finds every
 * entry's bug with its switch — a counterexample of the expected kind with the fewest preemptions
 * listed here — and exhausts the same scenario clean without it; every example scenario is clean too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUGS, findBug } from '../../src/check/bugs.js';
import { checkScenario, localRunner } from '../../src/check/check.js';
import { exhaust, loadScenario } from '../../src/check/hunt.js';
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

      const check = (withSwitch: boolean) => {
        const scenario = loadScenario(bug.scenario);
        const text = readFileSync(bug.scenario, 'utf8');
        const report = checkScenario(
          scenario,
          {
            file: bug.scenario,
            text,
            kernels: [bug.kernel],
            ...(withSwitch ? { bug } : { profileOverrides: bug.base }),
            maxPreemptions: Number.POSITIVE_INFINITY,
            reduction: true,
            maxExecutions: 100_000,
          },
          localRunner(scenario),
        );
        return report.results[0];
      };

      it(`with its switch: found, ${MIN_PREEMPTIONS[bug.id]} preemption(s), a${bug.kind === 'livelock' ? ' livelock' : 'n invariant'}`, () => {
        const r = check(true);
        const ofKind = r.counterexamples.filter((x) => x.problem.kind === bug.kind);
        const c = ofKind.sort((a, b) => a.preemptions - b.preemptions)[0];
        expect(c, JSON.stringify(r.counterexamples.map((x) => x.problem))).toBeDefined();
        expect(c?.preemptions).toBe(MIN_PREEMPTIONS[bug.id]);
        expect(Math.min(...r.counterexamples.map((x) => x.preemptions))).toBe(MIN_PREEMPTIONS[bug.id]);
        expect(c?.bug).toBe(bug.id);
        expect(c?.transitions.length).toBe(c!.offending + 1);
      }, 120_000);

      it(`without it${bug.base ? ' (under its what-if base)' : ''}: exhausted clean, no preemption bound`, () => {
        const r = check(false);
        expect(r.counterexamples.map((x) => x.problem.message)).toEqual([]);
        expect(r.complete).toBe(true);
        expect(r.executions).toBeGreaterThan(1);
      }, 120_000);
    });
  }
});

describe('every example scenario is clean under the checker', () => {
  // example 18's three threads are checked up to two preemptions here (bench/check.ts goes further)
  const BOUND: Record<string, number> = { 'examples/18-parallel-race.yaml': 2 };
  for (const file of yamlIn('examples')) {
    it(file, () => {
      const scenario = loadScenario(file);
      const report = checkScenario(
        scenario,
        {
          file,
          text: readFileSync(file, 'utf8'),
          kernels: [scenario.kernel],
          maxPreemptions: BOUND[file] ?? Number.POSITIVE_INFINITY,
          reduction: true,
          maxExecutions: 100_000,
        },
        localRunner(scenario),
      );
      expect(report.results[0].counterexamples.map((c) => c.problem.message)).toEqual([]);
      expect(report.results[0].complete).toBe(true);
    }, 300_000);
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
