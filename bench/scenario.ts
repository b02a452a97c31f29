/**
 * bench/scenario: scale through the scenario path (issue 14, point 7). The headline experiment's fleet
 * written as a scenario file — guests write their memory through their vCPUs (3/4 a common image, 1/4
 * their own), ksmd makes two full scans, the guests read everything back and rewrite a sixteenth — run
 * with the invariants checked after every step (the default: what each step changed), not at all, only
 * at the end (the checker still watches every access: what every_step adds to it is the per-step part),
 * and swept over all of memory after every step (--paranoid); and 20,000 trivial steps the same ways.
 * Each case runs in a process of its own; time and peak memory (max RSS) are printed side by side.
 * Targets: 16 guests x 1 GiB with invariants at every step under 30 s and 2 GiB; the checks cost under
 * 10% of the run at the headline experiment's size (4 guests x 16 MiB). A fresh process spends most of
 * a run that small compiling (about 0.1 s of work in 0.7 s of CPU), so the headline case is also run
 * warm: 30 times in one process, the median of the last 20.
 * `npm run bench -- scenario`, or `tsx bench/scenario.ts --run --quick` without the 16 GiB fleet.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../src/scenario/parse.js';
import { ScenarioRun } from '../src/scenario/run.js';

type Checks = 'every_step' | 'at_end' | 'off' | 'paranoid';

interface Case {
  kind: 'fleet' | 'trivial';
  /** Guests and pages per guest (fleet), or steps (trivial). */
  guests: number;
  pages: number;
  checks: Checks;
  /** Run it this many times in its process and report the median of the last two thirds (warm). */
  repeat?: number;
}

/** The scenario's `invariants:` for a case (paranoid is every_step plus a sweep per step, an option of the run). */
function invariantsMode(checks: Checks): string {
  return checks === 'paranoid' ? 'every_step' : checks;
}

/** The headline fleet as a scenario: `guests` guests of `pages` pages each. */
export function fleetScenario(guests: number, pages: number, checks: Checks): string {
  const shared = Math.floor(pages * 0.75);
  const ramPages = Math.ceil(guests * pages * 1.25) + 4096;
  const lines = [
    'mmsim: 1',
    `name: fleet-${guests}x${pages}`,
    'kernel: v5.0',
    `machine: { ram: ${ramPages}p }`,
    'ksm: { pages_to_scan: 1000 }',
    `checks: { invariants: ${invariantsMode(checks)} }`,
    'steps:',
  ];
  for (let g = 0; g < guests; g++) {
    lines.push(
      `  - spawn: qemu${g}`,
      `  - mmap: { proc: qemu${g}, size: ${pages}p, prot: rw, as: ram }`,
      `  - madvise: { proc: qemu${g}, addr: ram, size: ${pages}p, advice: mergeable }`,
      `  - vm: { name: vm${g}, proc: qemu${g}, memslots: [{ gfn: 0, addr: ram, size: ${pages}p }] }`,
      `  - guest: { vm: vm${g}, op: write, gfn: 0, pages: ${shared}, pattern: { seed: 1 } }`,
      `  - guest: { vm: vm${g}, op: write, gfn: ${shared}, pages: ${pages - shared}, pattern: { seed: ${1000 + g} } }`,
    );
  }
  lines.push('  - ksm: { full_scans: 2 }');
  for (let g = 0; g < guests; g++) lines.push(`  - guest: { vm: vm${g}, op: read, gfn: 0, pages: ${pages} }`);
  for (let g = 0; g < guests; g++)
    lines.push(
      `  - guest: { vm: vm${g}, op: write, gfn: 0, pages: ${Math.floor(pages / 16)}, fill: ${g + 1} }`,
    );
  lines.push('expect:', '  - invariants: hold');
  return `${lines.join('\n')}\n`;
}

/** `steps` one-byte reads of one page (after the page is written once), on the default 256 MiB machine. */
export function trivialScenario(steps: number, checks: Checks): string {
  return `${[
    'mmsim: 1',
    'name: trivial-steps',
    `checks: { invariants: ${invariantsMode(checks)} }`,
    'steps:',
    '  - spawn: a',
    '  - mmap: { proc: a, size: 1p, prot: rw, as: buf }',
    '  - write: { proc: a, addr: buf, fill: 7 }',
    `  - repeat: { times: ${steps - 3}, steps: [{ read: { proc: a, addr: buf, size: 1 } }] }`,
    'expect:',
    '  - invariants: hold',
  ].join('\n')}\n`;
}

/** Run one case in this process: seconds, peak RSS in MiB, steps, ok. */
interface Outcome {
  seconds: number;
  /** CPU seconds (user + system): what the run costs, whatever else the machine is doing. */
  cpu: number;
  mib: number;
  ok: boolean;
  violations: number;
}

function runCase(c: Case): Outcome {
  const text =
    c.kind === 'fleet' ? fleetScenario(c.guests, c.pages, c.checks) : trivialScenario(c.pages, c.checks);
  const parsed = parseScenario(text, `${c.kind}.yaml`);
  if (!parsed.ok) throw new Error(`the generated scenario does not parse: ${parsed.errors[0]?.message}`);
  const runs: Outcome[] = [];
  for (let i = 0; i < (c.repeat ?? 1); i++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = new ScenarioRun(parsed.scenario, { paranoid: c.checks === 'paranoid' }).run();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    runs.push({
      seconds,
      cpu: (cpu.user + cpu.system) / 1e6,
      mib: process.resourceUsage().maxRSS / 1024,
      ok: r.ok,
      violations: r.violations.length,
    });
  }
  if (runs.length === 1) return runs[0];
  const warm = runs.slice(Math.floor(runs.length / 3));
  const median = (key: 'seconds' | 'cpu'): number =>
    warm.map((o) => o[key]).sort((a, b) => a - b)[warm.length >> 1];
  return { ...runs[runs.length - 1], seconds: median('seconds'), cpu: median('cpu') };
}

function inChild(c: Case): Outcome | string {
  const r = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      '--max-old-space-size=4096',
      fileURLToPath(import.meta.url),
      '--case',
      JSON.stringify(c),
    ],
    { encoding: 'utf8', timeout: 900_000 },
  );
  if (r.status !== 0) return `failed (${r.signal ?? `exit ${r.status}`}) ${r.stderr.split('\n')[0] ?? ''}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const CHECKS: Checks[] = ['off', 'at_end', 'every_step', 'paranoid'];

function row(label: string, cases: Case[], skip: readonly Checks[] = []): void {
  const cells: string[] = [];
  const cpu = new Map<Checks, number>();
  for (const c of cases) {
    if (skip.includes(c.checks)) {
      cells.push(`${c.checks}: (skipped)`);
      continue;
    }
    const r = inChild(c);
    if (typeof r === 'string') {
      cells.push(`${c.checks}: ${r}`);
      continue;
    }
    // ratios of CPU time: the wall clock of a shared machine also counts waiting for a core
    cpu.set(c.checks, r.cpu);
    const ratios = (['off', 'at_end'] as const)
      .filter((base) => base !== c.checks && cpu.has(base) && (base === 'off' || c.checks === 'every_step'))
      .map((base) => `${(r.cpu / cpu.get(base)!).toFixed(2)}x ${base}`);
    cells.push(
      `${c.checks}: ${r.seconds.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s${ratios.length > 0 ? ` (${ratios.join(', ')})` : ''}, ${r.mib.toFixed(0)} MiB${r.ok ? '' : ', NOT OK'}`,
    );
  }
  console.log(`  ${label}`);
  for (const cell of cells) console.log(`    ${cell}`);
}

export async function run(): Promise<void> {
  const quick = process.argv.includes('--quick');
  console.log(
    '== bench/scenario: the fleet and trivial steps as scenarios, invariants off / at the end / every step / paranoid ==',
  );
  const cases = (kind: Case['kind'], guests: number, pages: number) =>
    CHECKS.map((checks) => ({ kind, guests, pages, checks }));
  row('headline fleet, 4 guests x 16 MiB (target: every_step within 10% of off)', cases('fleet', 4, 4096));
  row(
    'the same, warm (30 runs in one process, the median of the last 20)',
    CHECKS.map((checks) => ({ kind: 'fleet' as const, guests: 4, pages: 4096, checks, repeat: 30 })),
  );
  row('16 guests x 16 MiB', cases('fleet', 16, 4096));
  row('20,000 trivial steps on 256 MiB', cases('trivial', 0, 20_000));
  if (!quick)
    row('16 guests x 1 GiB (target: every_step < 30 s, < 2 GiB)', cases('fleet', 16, 262_144), [
      'at_end',
      'paranoid',
    ]);
}

const at = process.argv.indexOf('--case');
if (at >= 0) console.log(JSON.stringify(runCase(JSON.parse(process.argv[at + 1]) as Case)));
else if (process.argv.includes('--run')) await run(); // `tsx bench/scenario.ts --run [--quick]`
