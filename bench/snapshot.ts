/**
 * bench/snapshot: what the model checker saves by restoring a snapshot of the World at a `parallel` step
 * instead of re-running the steps before it (issue 10). For examples 20 and 18 and for the headline
 * fleet (4 guests x 16 MiB, a `parallel` step appended), side by side: re-running the prefix from a new
 * run, taking the snapshot once, and restoring it after an execution of the rest (medians).
 * `npm run bench -- snapshot`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario } from '../src/scenario/ast.js';
import { parseScenario } from '../src/scenario/parse.js';
import { ScenarioRun } from '../src/scenario/run.js';
import { parallelStepIndex, snapshotRun } from '../src/scenario/world-snapshot.js';
import { fleetScenario } from './scenario.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parse(text: string, file: string): Scenario {
  const r = parseScenario(text, file);
  if (!r.ok) throw new Error(`${file} does not parse: ${r.errors[0]?.message}`);
  return r.scenario;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

function measure(label: string, scenario: Scenario, reps: number): void {
  const k = parallelStepIndex(scenario);
  const prefix: number[] = [];
  for (let i = 0; i < reps; i++) prefix.push(time(() => new ScenarioRun(scenario).runUntil(k)));
  const run = new ScenarioRun(scenario, { interleave: 1 });
  run.runUntil(k);
  let snap = snapshotRun(run);
  const takings: number[] = [];
  for (let i = 0; i < Math.min(reps, 5); i++)
    takings.push(
      time(() => {
        snap = snapshotRun(run);
      }),
    );
  const taking = median(takings);
  const restore: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < reps; i++) {
    rest.push(time(() => run.runFrom(k, { interleave: i })));
    restore.push(time(() => snap.restore()));
  }
  const p = median(prefix);
  const r = median(restore);
  console.log(
    `  ${label}: ${k} steps before parallel, ${snap.objects} objects, ${(snap.bytes / 1024).toFixed(0)} KiB of typed arrays`,
  );
  console.log(
    `    re-run prefix ${p.toFixed(2)} ms | snapshot (once) ${taking.toFixed(2)} ms | restore ${r.toFixed(3)} ms (${(p / r).toFixed(0)}x faster) | rest of the run ${median(rest).toFixed(2)} ms`,
  );
}

export async function run(): Promise<void> {
  console.log('== bench/snapshot: restore at `parallel` vs re-running the steps before it (medians) ==');
  for (const f of ['examples/20-race-fault-vs-merge.yaml', 'examples/18-parallel-race.yaml']) {
    const file = join(root, f);
    measure(f, parse(readFileSync(file, 'utf8'), file), 21);
  }
  const fleet = `${fleetScenario(4, 4096, 'every_step').replace(
    /\nexpect:/,
    '\n  - parallel: { threads: [[{ guest: { vm: vm0, op: write, gfn: 0, fill: 9 } }], [{ ksm: { scan: 8 pages } }]] }\nexpect:',
  )}`;
  measure('headline fleet, 4 guests x 16 MiB', parse(fleet, 'fleet.yaml'), 5);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
