/**
 * bench/bugs: the bug catalogue (src/check/bugs.ts) through the bounded checker. Per bug: with its switch,
 * the time to the first counterexample (deepening the preemption bound from 0, so the counterexample has
 * the fewest preemptions), the schedules run to get there and the counterexample's preemptions (target:
 * every one under 1 s); without it, every schedule up to the bound at which the schedule count stops
 * growing (all schedules: exhausted), or up to MMSIM_BENCH_BUGS_K preemptions (default 8) — clean.
 * One untimed warm-up hunt first, so the JIT is not charged to the first bug.
 */
import { pathToFileURL } from 'node:url';
import { BUGS } from '../src/check/bugs.js';
import { exhaust, huntCatalogued, loadScenario } from '../src/check/hunt.js';
import type { ProfileOverrides } from '../src/kernel/profiles.js';

interface CleanRun {
  schedules: number;
  bound: number;
  exhausted: boolean;
  clean: boolean;
  ms: number;
}

/** Deepen the bound until no new schedule appears (every schedule run) or the bound cap. */
function cleanUpTo(file: string, maxBound: number, base?: ProfileOverrides): CleanRun {
  const s = loadScenario(file);
  let last = -1;
  let ms = 0;
  for (let k = 0; k <= maxBound; k++) {
    const r = exhaust(s, { maxPreemptions: k, file, profileOverrides: base });
    ms += r.timeMs;
    if (r.failing > 0) return { schedules: r.schedules, bound: k, exhausted: false, clean: false, ms };
    if (r.schedules === last)
      return { schedules: r.schedules, bound: k - 1, exhausted: true, clean: true, ms };
    last = r.schedules;
    if (k === maxBound) return { schedules: r.schedules, bound: k, exhausted: false, clean: true, ms };
  }
  throw new Error('unreachable');
}

export async function run(): Promise<void> {
  const maxBound = Number(process.env.MMSIM_BENCH_BUGS_K ?? 8);
  huntCatalogued(BUGS[0]); // warm-up
  console.log(
    `bench/bugs: ${BUGS.length} catalogued bugs; found = deepening from 0 preemptions with the switch; clean = without it`,
  );
  const head = ['bug', 'found ms', 'schedules', 'preempt', 'kind', 'clean schedules', 'bound', 'clean ms'];
  const rows: string[][] = [];
  for (const bug of BUGS) {
    const h = huntCatalogued(bug);
    const c = cleanUpTo(bug.scenario, maxBound, bug.base);
    rows.push([
      bug.id,
      h.found ? h.timeMs.toFixed(0) : 'NOT FOUND',
      String(h.executions),
      String(h.preemptions ?? '-'),
      h.first?.kind ?? '-',
      `${c.schedules}${c.clean ? '' : ' FAILING'}`,
      c.exhausted ? `all (<= ${c.bound})` : `<= ${c.bound}`,
      c.ms.toFixed(0),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
