/**
 * A snapshot taken before a scenario's `parallel` step, restored, then the rest run under some schedule,
 * must give exactly what a fresh run of the whole scenario gives under that schedule: the model checker
 * relies on it to skip re-running the steps before `parallel` (issue 10).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUGS } from '../../src/check/bugs.js';
import { worldFingerprint } from '../../src/check/fingerprint.js';
import type { ProfileOverrides } from '../../src/kernel/profiles.js';
import { pageLock, trylockPage } from '../../src/mm/page-lock.js';
import type { Scenario } from '../../src/scenario/ast.js';
import { type DriverOptions, type RunResult, ScenarioRun } from '../../src/scenario/run.js';
import { parallelStepIndex, snapshotRun, snapshotWorld } from '../../src/scenario/world-snapshot.js';
import { Rng } from '../../src/sim/rng.js';
import { PreemptionBoundedSearch } from '../../src/sim/search.js';
import { parseOk } from './helpers.js';

const files = ['examples', 'examples/bugs'].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f)),
);

const scenarios = files
  .map((file) => ({ file, scenario: parseOk(readFileSync(file, 'utf8'), file) }))
  .filter(({ scenario }) => parallelStepIndex(scenario) >= 0);

/** Each file's own profile, and for a bug scenario the switches that bring the bug back too. */
function profilesOf(file: string): { label: string; overrides?: ProfileOverrides }[] {
  const bug = BUGS.find((b) => b.scenario === file);
  return bug === undefined
    ? [{ label: 'as written' }]
    : [
        { label: 'clean', overrides: bug.base },
        { label: `bug ${bug.id}`, overrides: bug.set },
      ];
}

/** A random run-length schedule ("0*3,2*1,1*7,..."): threads past the last fall back to the default. */
function randomSchedule(rng: Rng): string {
  const runs: string[] = [];
  for (let i = 0; i < 12; i++) runs.push(`${rng.below(3)}*${1 + rng.below(12)}`);
  return runs.join(',');
}

function drivers(): DriverOptions[] {
  const rng = new Rng(2024);
  return [
    { schedule: randomSchedule(rng) },
    { schedule: randomSchedule(rng) },
    { schedule: randomSchedule(rng) },
    { schedule: '1*1000' },
    { interleave: 7 },
    { interleave: 12345 },
  ];
}

/** What one execution produced: its result, its event log and the final state's fingerprint. */
function outcome(run: ScenarioRun, r: RunResult) {
  return { result: r, events: [...run.events], fingerprint: worldFingerprint(run.world, []) };
}

describe('a run restored at its parallel step equals a fresh run', () => {
  let violationsCompared = 0;

  it('finds the scenarios with a parallel step', () => {
    expect(scenarios.map((s) => s.file)).toContain('examples/20-race-fault-vs-merge.yaml');
    expect(scenarios.map((s) => s.file)).toContain('examples/18-parallel-race.yaml');
    expect(scenarios.length).toBeGreaterThanOrEqual(13);
  });

  for (const { file, scenario } of scenarios) {
    for (const { label, overrides } of profilesOf(file)) {
      it(`${file} (${label})`, () => {
        const k = parallelStepIndex(scenario);
        const resumable = new ScenarioRun(scenario, { profileOverrides: overrides, file });
        resumable.runUntil(k);
        const snap = snapshotRun(resumable);
        let violations = 0;
        drivers().forEach((driver, i) => {
          if (i > 0) snap.restore(); // the first execution runs on from the prefix itself
          const restored = outcome(resumable, resumable.runFrom(k, driver));
          const fresh = new ScenarioRun(scenario, { profileOverrides: overrides, file, ...driver });
          const expected = outcome(fresh, fresh.run());
          expect(restored.result.traceHash, JSON.stringify(driver)).toBe(expected.result.traceHash);
          expect(restored.result.counters).toEqual(expected.result.counters);
          expect(restored.result.violations).toEqual(expected.result.violations);
          expect(restored.fingerprint).toBe(expected.fingerprint);
          expect(restored.result).toEqual(expected.result);
          expect(restored.events).toEqual(expected.events);
          violations += expected.result.violations.length;
        });
        violationsCompared += violations;
      });
    }
  }

  it('compared executions that broke invariants too', () => {
    expect(violationsCompared).toBeGreaterThan(0);
  });

  it('gives the bounded search the same executions (kvm-no-notifier-retry, bug on)', () => {
    const file = 'examples/bugs/kvm-no-notifier-retry.yaml';
    const scenario = scenarios.find((s) => s.file === file)!.scenario;
    const overrides = BUGS.find((b) => b.scenario === file)!.set;
    const results = (restoring: boolean): string[] => {
      const search = new PreemptionBoundedSearch(1);
      const k = parallelStepIndex(scenario);
      const out: string[] = [];
      const resumable = new ScenarioRun(scenario, { profileOverrides: overrides, file });
      resumable.runUntil(k);
      const snap = snapshotRun(resumable);
      for (;;) {
        search.begin();
        let r: RunResult;
        if (restoring) {
          snap.restore();
          r = resumable.runFrom(k, { search });
        } else r = new ScenarioRun(scenario, { profileOverrides: overrides, file, search }).run();
        out.push(`${r.traceHash} ${r.violations.map((v) => v.invariant).join(',')}`);
        if (!search.next()) return out;
      }
    };
    const fresh = results(false);
    expect(fresh.length).toBeGreaterThan(2);
    expect(fresh.some((line) => line.includes('coherence') || line.includes('stale'))).toBe(true);
    expect(results(true)).toEqual(fresh);
  });
});

describe('snapshotWorld', () => {
  function prefixOf(file: string): { scenario: Scenario; run: ScenarioRun; k: number } {
    const scenario = parseOk(readFileSync(file, 'utf8'), file);
    const run = new ScenarioRun(scenario, { file });
    const k = parallelStepIndex(scenario);
    run.runUntil(k);
    return { scenario, run, k };
  }

  it('puts a World back: state, counters, event log, page locks and RNG', () => {
    const { run, k } = prefixOf('examples/20-race-fault-vs-merge.yaml');
    const w = run.world;
    const snap = snapshotWorld(w);
    const before = {
      fingerprint: worldFingerprint(w, []),
      counters: w.counterValues(),
      log: w.kernel.machine.log.hash(),
      events: w.kernel.machine.log.length,
      rng: w.rng.nextU32(),
    };
    run.runFrom(k, { interleave: 3 });
    expect(worldFingerprint(w, [])).not.toBe(before.fingerprint);
    snap.restore();
    expect({
      fingerprint: worldFingerprint(w, []),
      counters: w.counterValues(),
      log: w.kernel.machine.log.hash(),
      events: w.kernel.machine.log.length,
      rng: w.rng.nextU32(),
    }).toEqual(before);
  });

  it('puts back the page locks, kept beside the Kernel', () => {
    const { run } = prefixOf('examples/20-race-fault-vs-merge.yaml');
    const k = run.world.kernel;
    const snap = snapshotWorld(run.world);
    const ksmd = k.newAgent('test.ksmd');
    // pages handed out (page locks, like every per-frame state, are only ever taken on those)
    const [a, b] = [k.frames.everUsedBelow - 1, k.frames.everUsedBelow - 2];
    expect(b).toBeGreaterThan(0);
    expect(trylockPage(k, ksmd, a)).toBe(true);
    pageLock(k, b).owner = ksmd;
    snap.restore();
    expect(pageLock(k, a).held).toBe(false);
    expect(pageLock(k, b).held).toBe(false);
  });

  it('refuses a World with a thread paused mid-path', () => {
    const { run } = prefixOf('examples/20-race-fault-vs-merge.yaml');
    const w = run.world as typeof run.world & { paused?: unknown };
    w.paused = run.steps([], 0); // a path held by the World, as a paused thread would be
    expect(() => snapshotWorld(w)).toThrow(/root\[0\]\.paused: a generator/);
  });

  /**
   * Functions are leaves: a closure's captured variables are not restored. Each function a World holds
   * was reviewed: it captures only `this` or objects that are themselves in the World (restored in
   * place), never a counter or cache of its own. A new one fails here until it is reviewed the same way.
   */
  it('holds only reviewed functions', () => {
    const reviewed = [
      /\.notifier\.ops\.\w+: /, // a secondary MMU's mmu_notifier_ops: arrows calling its methods
      /\.notifiers\.list\[\d+\]\.ops\.\w+: /, // the same ops, reached through the mm's chain
      /\.pt\.watch: /, // the invariant checker's pte-store hook (captures the checker and the mm)
      /\.tlbs\[\d+\]\.watch: /, // the invariant checker's TLB-fill hook (captures the checker)
      /\.counterGroup\.name: /, // counter naming (captures the group's strings)
      /\.checker\.sources\.\w+: /, // the World's views for the checker (capture the World)
      /\.checker\.visitTranslation: /, // the checker's visitor of a range's translations (captures the checker)
      /\.ksm(\.hooks)?\.\w+: /, // KSM's madvise/fork/exit hooks (capture the Ksm and its state)
      /\.(ops|interval)\.\w+: /, // an HMM mirror's interval-notifier ops
    ];
    for (const file of scenarios.map((s) => s.file)) {
      const { run } = prefixOf(file);
      const unreviewed = snapshotWorld(run.world)
        .functions()
        .filter((f) => !reviewed.some((r) => r.test(f)));
      expect(unreviewed, file).toEqual([]);
    }
  });

  it('finds the parallel step, nested in a repeat too', () => {
    const s = parseOk(
      [
        'mmsim: 1',
        'steps:',
        '  - spawn: a',
        '  - repeat: { times: 2, steps: [{ parallel: { threads: [[{ spawn: b }], [{ spawn: c }]] } }] }',
      ].join('\n'),
    );
    expect(parallelStepIndex(s)).toBe(1);
    expect(parallelStepIndex(parseOk('mmsim: 1\nsteps:\n  - spawn: a\n'))).toBe(-1);
  });
});
