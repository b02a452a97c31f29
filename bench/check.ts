/**
 * bench/check: the interleaving checker, measured (issue 10's benchmark, issue 11's measures). Three tables:
 *  1. every example with `parallel`: the time to exhaust its schedule space (every schedule, no
 *     preemption bound: the bound is deepened until it adds no schedule), executions, distinct outcomes
 *     and executions per second; with reduction beside without, once the reducing checker is on main;
 *  2. every catalogued bug (src/check/bugs.ts): with its switch, the time to the first counterexample
 *     (bounds deepened from 0, so it has the fewest preemptions), executions, preemptions; without it
 *     (under its what-if base, if any), the clean search to exhaustion;
 *  3. the SPIN anchor: bench/spin/race.pml (the example-20 race in Promela) with 1-4 racing vCPUs against
 *     the same race in mmsim (bench/spin/race-vcpus-N.yaml): "find the bug" (kvmChangePteBumpsSeq=false,
 *     Promela BUMP=0) and "exhaust the correct protocol", SPIN end to end (spin -a, cc, pan), and the
 *     mmsim/SPIN time ratio. Skipped, with a line saying so, where spin or cc is missing.
 * Every search has a time budget (MMSIM_BENCH_CHECK_BUDGET_MS, default 10000 ms): a search it stops is
 * printed as incomplete with the bound it reached, and a ratio against it as a lower bound (">").
 * One untimed warm-up search first, so the JIT is not charged to the first row.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUGS } from '../src/check/bugs.js';
import { exploreScenario } from '../src/check/explore.js';
import { huntBug, loadScenario } from '../src/check/hunt.js';
import type { ProfileOverrides } from '../src/kernel/profiles.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const BUDGET_MS = Number(process.env.MMSIM_BENCH_CHECK_BUDGET_MS ?? 10_000);

interface Exhausted {
  complete: boolean;
  /** The highest preemption bound searched completely. */
  bound: number;
  executions: number;
  distinct: number;
  failing: number;
  /** Schedules run over every bound tried (what executions per second counts). */
  runs: number;
  ms: number;
}

class OutOfBudget extends Error {}

/** One bound's search, abandoned (OutOfBudget) once `deadline` passes. */
function search(
  file: string,
  set: ProfileOverrides | undefined,
  k: number,
  deadline: number,
  onRun: () => void,
): ReturnType<typeof exploreScenario> {
  return exploreScenario(loadScenario(file), {
    profileOverrides: set,
    maxPreemptions: k,
    maxRuns: Number.MAX_SAFE_INTEGER,
    file,
    progress: () => {
      onRun();
      if (performance.now() > deadline) throw new OutOfBudget();
    },
  });
}

/**
 * Every schedule: deepen the preemption bound until it adds no schedule (then the search at the previous
 * bound ran them all) or the budget runs out. `executions` counts the schedules of the last complete
 * bound (the space), `ms` the time of all bounds run.
 */
const exhausted = new Map<string, Exhausted>();

function exhaustUnbounded(file: string, set?: ProfileOverrides): Exhausted {
  const key = `${file} ${JSON.stringify(set ?? {})}`;
  const known = exhausted.get(key);
  if (known !== undefined) return known;
  const e = exhaustFresh(file, set);
  exhausted.set(key, e);
  return e;
}

function exhaustFresh(file: string, set?: ProfileOverrides): Exhausted {
  const t0 = performance.now();
  const deadline = t0 + BUDGET_MS;
  let last: Exhausted = {
    complete: false,
    bound: -1,
    executions: 0,
    distinct: 0,
    failing: 0,
    runs: 0,
    ms: 0,
  };
  let runs = 0;
  for (let k = 0; ; k++) {
    let r: ReturnType<typeof exploreScenario>;
    try {
      r = search(file, set, k, deadline, () => {
        runs++;
      });
    } catch (e) {
      if (e instanceof OutOfBudget) return { ...last, runs, ms: performance.now() - t0 };
      throw e;
    }
    const ms = performance.now() - t0;
    if (r.schedules === last.executions && k > 0) return { ...last, complete: true, runs, ms };
    last = {
      complete: false,
      bound: k,
      executions: r.schedules,
      distinct: r.distinctTraces,
      failing: r.failing,
      runs,
      ms,
    };
  }
}

interface Hunted {
  found: boolean;
  ms: number;
  executions: number;
  preemptions?: number;
  kind?: string;
}

/** The first counterexample with the fewest preemptions: bounds 0, 1, ... each searched to its first failure. */
function hunt(file: string, set: ProfileOverrides): Hunted {
  const t0 = performance.now();
  const deadline = t0 + BUDGET_MS;
  let executions = 0;
  let lastCount = -1;
  for (let k = 0; ; k++) {
    let runs = 0;
    let r: ReturnType<typeof exploreScenario>;
    try {
      r = exploreScenario(loadScenario(file), {
        profileOverrides: set,
        maxPreemptions: k,
        maxRuns: Number.MAX_SAFE_INTEGER,
        file,
        stopAtFirst: true,
        progress: (n) => {
          runs = n;
          if (performance.now() > deadline) throw new OutOfBudget();
        },
      });
    } catch (e) {
      if (e instanceof OutOfBudget)
        return { found: false, ms: performance.now() - t0, executions: executions + runs };
      throw e;
    }
    executions += r.schedules;
    if (r.first !== undefined)
      return {
        found: true,
        ms: performance.now() - t0,
        executions,
        preemptions: r.first.preemptions,
        kind: r.first.kind,
      };
    if (r.schedules === lastCount) return { found: false, ms: performance.now() - t0, executions };
    lastCount = r.schedules;
  }
}

function exhaustedCell(e: Exhausted): string {
  return e.complete ? `all (<= ${e.bound})` : e.bound < 0 ? 'none' : `<= ${e.bound} only`;
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

const rate = (n: number, ms: number): string => (ms > 0 ? (n / (ms / 1000)).toFixed(0) : '-');

function examplesTable(): void {
  const files = [join(root, 'examples'), join(root, 'examples/bugs')].flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(d, f)),
  );
  const withParallel = files.filter((f) => /^\s*- parallel:/m.test(readFileSync(f, 'utf8'))).sort();
  console.log(
    `\nbench/check: examples with parallel, exhausted (no preemption bound; budget ${BUDGET_MS} ms each). ` +
      'Reduced: the DPOR checker is not on main yet; the plain search only.',
  );
  const rows: string[][] = [];
  for (const f of withParallel) {
    const bug = BUGS.find((b) => join(root, b.scenario) === f);
    const e = exhaustUnbounded(relative(root, f), bug?.base);
    rows.push([
      relative(root, f),
      exhaustedCell(e),
      e.ms.toFixed(0),
      String(e.executions),
      String(e.distinct),
      rate(e.runs, e.ms),
      e.failing > 0 ? `${e.failing} FAILING` : 'clean',
      'n/a',
    ]);
  }
  table(
    ['scenario', 'schedules', 'ms', 'executions', 'distinct traces', 'exec/s', 'result', 'reduced'],
    rows,
  );
}

function bugsTable(): void {
  console.log(
    `\nbench/check: ${BUGS.length} catalogued bugs; found = bounds deepened from 0 with the switch; clean = exhausted without it`,
  );
  const rows: string[][] = [];
  for (const bug of BUGS) {
    const h = hunt(bug.scenario, bug.set);
    const c = exhaustUnbounded(bug.scenario, bug.base);
    rows.push([
      bug.id,
      h.found ? h.ms.toFixed(0) : `NOT FOUND (${h.ms.toFixed(0)})`,
      String(h.executions),
      String(h.preemptions ?? '-'),
      h.kind ?? '-',
      `${c.executions}${c.failing > 0 ? ' FAILING' : ''}`,
      exhaustedCell(c),
      c.ms.toFixed(0),
    ]);
  }
  table(['bug', 'found ms', 'executions', 'preempt', 'kind', 'clean schedules', 'bound', 'clean ms'], rows);
}

interface SpinRun {
  ms: number;
  /** pan alone (the search, without spin -a and the compile). */
  panMs: number;
  errors: number;
  states: number;
}

/** spin -a, cc, pan in a fresh directory; the time covers all three. */
function spinRun(dir: string, vcpus: number, bump: boolean): SpinRun | string {
  const t0 = performance.now();
  const model = join(here, 'spin/race.pml');
  const steps: [string, string[]][] = [
    ['spin', [`-DNVCPU=${vcpus}`, `-DBUMP=${bump ? 1 : 0}`, '-a', model]],
    ['cc', ['-O2', '-DSAFETY', '-o', 'pan', 'pan.c']],
    ['./pan', ['-m100000']],
  ];
  let out = '';
  let panMs = 0;
  for (const [cmd, args] of steps) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
    if (cmd === './pan') panMs = performance.now() - t;
    if (r.error !== undefined) return `${cmd}: ${r.error.message}`;
    if (cmd !== './pan' && r.status !== 0) return `${cmd} failed: ${r.stderr || r.stdout}`;
    out = r.stdout;
  }
  const ms = performance.now() - t0;
  const errors = Number(/errors: (\d+)/.exec(out)?.[1] ?? Number.NaN);
  const states = Number(/(\d+) states, stored/.exec(out)?.[1] ?? Number.NaN);
  return { ms, panMs, errors, states };
}

function spinAvailable(): string | null {
  for (const [cmd, arg] of [
    ['spin', '-V'],
    ['cc', '--version'],
  ]) {
    const r = spawnSync(cmd, [arg], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) return `${cmd} not found`;
  }
  return null;
}

function ratio(a: number, b: number, lowerBound: boolean): string {
  return `${lowerBound ? '>' : ''}${(a / b).toFixed(2)}`;
}

function spinTable(): void {
  console.log(
    '\nbench/check: the SPIN anchor: the example-20 race with 1-4 racing vCPUs (bench/spin/race.pml, bench/spin/race-vcpus-N.yaml); SPIN end to end (spin -a + cc + pan)',
  );
  const missing = spinAvailable();
  if (missing !== null) {
    console.log(`bench/check: SPIN anchor skipped: ${missing} (apt-get install spin gcc)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-spin-'));
  const rows: string[][] = [];
  try {
    for (const n of [1, 2, 3, 4]) {
      const file = `bench/spin/race-vcpus-${n}.yaml`;
      const sBug = spinRun(dir, n, false);
      const sOk = spinRun(dir, n, true);
      if (typeof sBug === 'string' || typeof sOk === 'string') {
        console.log(`bench/check: SPIN anchor skipped: ${typeof sBug === 'string' ? sBug : sOk}`);
        return;
      }
      const h = hunt(file, { kvmChangePteBumpsSeq: false });
      const e = exhaustUnbounded(file);
      rows.push([
        String(n),
        `${sBug.ms.toFixed(0)} (${sBug.errors > 0 ? 'found' : 'NOT FOUND'}, ${sBug.states} st, pan ${sBug.panMs.toFixed(0)})`,
        `${h.ms.toFixed(0)} (${h.found ? `found, ${h.executions} ex, ${h.preemptions} pre` : `not found in ${h.executions} ex`})`,
        ratio(h.ms, sBug.ms, !h.found),
        `${sOk.ms.toFixed(0)} (${sOk.errors === 0 ? 'clean' : 'ERRORS'}, ${sOk.states} st, pan ${sOk.panMs.toFixed(0)})`,
        `${e.ms.toFixed(0)} (${e.failing > 0 ? 'FAILING, ' : ''}${e.executions} ex, ${exhaustedCell(e)})`,
        ratio(e.ms, sOk.ms, !e.complete),
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  table(
    [
      'vCPUs',
      'SPIN find ms',
      'mmsim find ms',
      'find mmsim/SPIN',
      'SPIN exhaust ms',
      'mmsim exhaust ms',
      'exhaust mmsim/SPIN',
    ],
    rows,
  );
}

export async function run(): Promise<void> {
  huntBug(loadScenario(BUGS[0].scenario), BUGS[0].set, { file: BUGS[0].scenario }); // warm-up, untimed
  const only = process.env.MMSIM_BENCH_CHECK_PARTS?.split(',') ?? ['examples', 'bugs', 'spin'];
  if (only.includes('examples')) examplesTable();
  if (only.includes('bugs')) bugsTable();
  if (only.includes('spin')) spinTable();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
