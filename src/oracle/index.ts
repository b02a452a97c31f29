/**
 * The differential oracle: the primary-MMU part of a scenario on the running Linux kernel and in mmsim,
 * compared page by page (sharing partition) and counter by counter at every step with its own `expect`
 * and at the end. A difference that the profile fields in which the chosen profile differs from the
 * running kernel's explain is reported as expected (with the commit); anything else is unexplained.
 */
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { Scenario } from '../scenario/ast.js';
import { type Comparison, compare, differenceCount, realStates } from './compare.js';
import {
  differingFields,
  type ModelledDifference,
  nearestProfile,
  overridesFor,
  UNMODELLED,
} from './fidelity.js';
import { type Plan, plan } from './plan.js';
import {
  type HelperRun,
  type HelperSession,
  runHelper,
  runningKernelVersion,
  unavailableReason,
} from './real-kernel.js';

export { OracleScenarioError } from './plan.js';
export { EXIT_UNAVAILABLE, HelperSession, unavailableReason } from './real-kernel.js';

export class OracleUnavailable extends Error {}

/** The real kernel stopped answering midway (a fatal from the helper, a timeout). */
export class OracleRealKernelFailure extends Error {}

export interface OracleOptions {
  /** The profile to compare with (default: the nearest to the running kernel). */
  kernel?: KernelName;
  timeoutSeconds?: number;
}

export interface OracleResult {
  name: string;
  kernel: KernelName;
  /** Which kernel runs here, and whether `kernel` was chosen as the nearest to it. */
  running: string;
  nearest: boolean;
  skipped: string[];
  comparison: Comparison;
  /** Differences explained by modelled version differences (the profile fields that explain them). */
  expected: { fields: ModelledDifference[]; differences: number } | null;
  /** Differences nothing explains. */
  unexplained: Comparison;
  unexplainedCount: number;
  /** Not compared by design (docs/FIDELITY.md). */
  notModelled: string[];
  modelMs: number;
  realMs: number;
  /** What the run exercised, as the model saw it (the fuzzer's coverage): see `exercised`. */
  exercised: string[];
}

/** The states and outcomes a plan went through, by name (KSM page, page shared after fork, SIGSEGV...). */
export function exercised(p: Plan): string[] {
  const seen = new Set<string>();
  for (const pt of p.points) {
    for (const g of pt.model.partition) {
      if (g.kind === 'ksm') seen.add(g.members.length >= 3 ? 'KSM page mapped 3+ times' : 'KSM page');
      else if (g.kind === 'zero') seen.add('zero page');
      else if (new Set(g.members.map((m) => m.split(':')[0])).size > 1) seen.add('page shared after fork');
    }
    const c = pt.model.counters;
    if (c.ksm_zero_pages > 0) seen.add('KSM zero page');
    if (c.pages_unshared > 0) seen.add('unstable tree item');
    if (c.pages_volatile > 0) seen.add('volatile item');
  }
  for (const s of p.steps) {
    if (s.model.startsWith('sig')) seen.add('SIGSEGV');
    else if (s.model.startsWith('err')) seen.add(`${s.op} ${s.model.slice(4)}`);
  }
  return [...seen].sort();
}

/** Compare the model's run with the real answers; null means the model could not replay the steps. */
function compareWith(p: Plan, answers: readonly string[], countersNote: string | null): Comparison {
  const real = realStates(p, answers);
  return compare(
    p,
    p.points.map((pt) => pt.model),
    real,
    countersNote,
  );
}

/** Where the oracle can run and with which profile by default. */
function target(options: OracleOptions): {
  version: [number, number];
  nearest: KernelName;
  kernel: KernelName;
} {
  const reason = unavailableReason();
  if (reason !== null) throw new OracleUnavailable(reason);
  const version = runningKernelVersion();
  const nearest = nearestProfile(version);
  return { version, nearest, kernel: options.kernel ?? nearest };
}

export function runOracle(scenario: Scenario, options: OracleOptions = {}): OracleResult {
  const t = target(options);
  const t0 = Date.now();
  const p = plan(scenario, t.kernel);
  const modelMs = Date.now() - t0;
  const real = runHelper(p.commands, options.timeoutSeconds ?? 60);
  return judge(scenario, p, real, t, modelMs);
}

/** The same through a long-lived helper (many scenarios, one process and one lock: the fuzzer). */
export async function runOracleIn(
  session: HelperSession,
  scenario: Scenario,
  options: OracleOptions & { snapshotEvery?: boolean } = {},
): Promise<OracleResult> {
  const t = target(options);
  const t0 = Date.now();
  const p = plan(scenario, t.kernel, undefined, { snapshotEvery: options.snapshotEvery });
  const modelMs = Date.now() - t0;
  const real = await session.run(p.commands, options.timeoutSeconds ?? 60);
  return judge(scenario, p, real, t, modelMs, options.snapshotEvery);
}

/** Compare the real answers with the model's plan and explain what the modelled differences explain. */
function judge(
  scenario: Scenario,
  p: Plan,
  real: HelperRun,
  { version, nearest, kernel }: { version: [number, number]; nearest: KernelName; kernel: KernelName },
  modelMs: number,
  snapshotEvery?: boolean,
): OracleResult {
  if (real.failure !== undefined)
    throw new OracleRealKernelFailure(`the real kernel run failed: ${real.failure}`);
  const { others } = realStates(p, real.answers);
  const countersNote =
    others.length > 0
      ? `other processes use KSM (${others.join(' ')}): the global KSM counters and the full scans a ksm step completes cannot be compared, and ksmd scans their mergeable areas too while a ksm step runs`
      : null;
  const comparison = compareWith(p, real.answers, countersNote);
  let unexplained = comparison;
  let expected: OracleResult['expected'] = null;
  const total = differenceCount(comparison);
  if (total > 0) {
    // the modelled version differences between the chosen profile and the running kernel's
    const fields = differingFields(kernel, nearest);
    const tryFields = (fs: ModelledDifference[]): Comparison => {
      const o: ProfileOverrides = overridesFor(fs, nearest);
      return compareWith(plan(scenario, kernel, o, { snapshotEvery }), real.answers, countersNote);
    };
    // the smallest set of them that explains everything: all of them, then drop each one not needed
    let best: { fs: ModelledDifference[]; c: Comparison } | null = null;
    if (fields.length > 0) {
      const all = tryFields(fields);
      if (differenceCount(all) < total) best = { fs: fields, c: all };
      if (best !== null && differenceCount(all) === 0)
        for (const f of fields) {
          const fewer: ModelledDifference[] = best.fs.filter((g) => g !== f);
          const c = tryFields(fewer);
          if (differenceCount(c) === 0) best = { fs: fewer, c };
        }
    }
    if (best !== null) {
      unexplained = best.c;
      expected = { fields: best.fs, differences: total - differenceCount(best.c) };
    }
  }
  const version18 = `${version[0]}.${version[1]}`;
  return {
    name: scenario.name,
    kernel,
    running: `Linux ${version18}`,
    nearest: kernel === nearest,
    skipped: p.skipped,
    comparison,
    expected,
    unexplained,
    unexplainedCount: differenceCount(unexplained),
    notModelled: UNMODELLED.map((u) => `${u.what}: ${u.handling}`),
    modelMs,
    realMs: real.timeMs,
    exercised: exercised(p),
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

/** The differences as readable tables. */
export function formatComparison(c: Comparison): string[] {
  const out: string[] = [];
  for (const s of c.steps) out.push(`  step ${s.at} ${s.op}: mmsim ${s.model}, Linux ${s.real}`);
  for (const pt of c.points) {
    if (pt.pages.length === 0 && pt.counters.length === 0) continue;
    out.push(`  at ${pt.at}:`);
    const rows = [['page', 'mmsim', 'Linux'], ...pt.pages.map((d) => [d.page, d.model, d.real])];
    if (pt.pages.length > 0) out.push(...table(rows).map((l) => `    ${l}`));
    for (const d of pt.counters) out.push(`    ${d.name}: mmsim ${d.model}, Linux ${d.real}`);
  }
  return out;
}

export function formatOracle(r: OracleResult): string {
  const lines: string[] = [];
  lines.push(
    `${r.name}: mmsim ${r.kernel} vs ${r.running}${r.nearest ? ` (${r.kernel} is the profile nearest the running kernel)` : ''}`,
  );
  for (const s of r.skipped) lines.push(`  skipped ${s}`);
  if (r.comparison.countersNotComparable) lines.push(`  note: ${r.comparison.countersNotComparable}`);
  const points = r.comparison.points.length;
  if (differenceCount(r.comparison) === 0) {
    lines.push(`  agree at all ${points} snapshot points (partitions, KSM counters, step outcomes)`);
  } else {
    if (r.expected !== null) {
      lines.push(
        `  ${r.expected.differences} expected difference(s): ${r.kernel} lacks what the running kernel does here:`,
      );
      for (const f of r.expected.fields) lines.push(`    ${f.field} (${f.commit}): ${f.what}`);
      lines.push(...formatComparison(r.comparison));
    }
    if (r.unexplainedCount > 0) {
      lines.push(`  ${r.unexplainedCount} unexplained difference(s):`);
      lines.push(...formatComparison(r.unexplained));
    }
  }
  lines.push(`  (mmsim ${r.modelMs} ms, Linux ${r.realMs} ms)`);
  return `${lines.join('\n')}\n`;
}
