/**
 * The commands' help texts and the version: what `mmsim --help`, `mmsim help CMD`, `mmsim CMD --help`
 * and `mmsim --version` print. This module imports nothing heavy, so the process entry answers those
 * without loading the model (see entry.ts).
 */
import { readFileSync } from 'node:fs';
import { KERNEL_NAMES } from '../kernel/profiles.js';
import { AUTO_JSON_MAX_EVENTS, DEFAULT_MAX_STEPS } from './run-limits.js';

const MAIN_HELP = `mmsim — an executable model of Linux memory management and MMU notifiers

Usage: mmsim <command> [options]

Commands:
  run FILE          run a scenario file (YAML or JSON) and check its expectations
  check FILE        model-check every interleaving of its parallel threads
  validate FILE     check a scenario file without running it
  experiment NAME   run a named experiment across kernel profiles
  list              list experiments, kernel profiles and counters
  oracle FILE       compare a scenario's primary-MMU part with the running Linux kernel
  web [FILE]        the browser visualizer: serve it on localhost and print the URL

Run 'mmsim help <command>' or 'mmsim <command> --help' for a command's options;
'mmsim --version' prints the version.

Examples:
  mmsim experiment change-pte
  mmsim run examples/01-zero-page.yaml --kernel v6.10
  mmsim list
`;

const RUN_HELP = `Usage: mmsim run FILE [--kernel K] [--seed N] [--json | --steps] [--trace OUT]
                      [--interleave S | --schedule S | --explore K [--max-runs N]] [--set F=V]... [--paranoid]
                      [--max-steps N] [--max-memory MIB]

Runs a scenario: every step, the invariants after each step, then every expectation.
Exit code 0 if all expectations hold and no invariant broke, 1 otherwise, 2 for a bad file or option.

Options:
  --kernel K        override the scenario's kernel (${KERNEL_NAMES.join(', ')})
  --seed N          override the scenario's seed (a non-negative integer)
  --json            print the result as JSON
  --steps           print every step with the events it caused, as the run goes
  --trace OUT       write every event as a trace for Perfetto, streamed as the run goes: OUT.json is
                    Chrome trace-event JSON, OUT.pftrace Perfetto's native protobuf (best for large
                    traces), any other name JSON up to ${AUTO_JSON_MAX_EVENTS.toLocaleString('en-US')} events, then protobuf; '-' is
                    standard output (the report then goes to standard error)
  --set FIELD=VAL   a what-if change to the kernel profile (repeatable), e.g.
                    --set kvmChangePteBumpsSeq=false  --set useChangePteFlagAt.wpPageCopy=false
  --interleave S    run 'parallel' threads interleaved at every preemption point, in the order a
                    random walk seeded with S picks (the same S gives the same interleaving)
  --schedule S      replay one schedule printed by --explore or a violation report
  --explore K       model-check: run every schedule of the 'parallel' threads with at most K
                    preemptions (K = 0..9) and report the first that breaks anything
  --max-runs N      stop --explore after N schedules (default 100000)
  --max-steps N     refuse a scenario that would execute more than N steps (default
                    ${DEFAULT_MAX_STEPS.toLocaleString('en-US')}; repeat bodies count once per time, ksm once per full scan)
  --max-memory MIB  stop the run with an error when mmsim itself uses more host memory than this
                    (default: 80% of this host's RAM), instead of exhausting the host
  --paranoid        sweep every invariant over all of memory after every step (default: check what
                    each step changed, and sweep everything at the end)

Examples:
  mmsim run examples/05-ksm-merge.yaml
  mmsim run examples/05-ksm-merge.yaml --kernel rfc-2019 --json
  mmsim run examples/08-guest-after-merge-v5.0.yaml --trace trace.json
  mmsim run examples/20-race-fault-vs-merge.yaml --explore 2 --set kvmChangePteBumpsSeq=false
`;

const VALIDATE_HELP = `Usage: mmsim validate FILE

Checks a scenario file against the format (docs/SCENARIO.md) without running it.
Exit code 0 if valid, 2 with file:line:col errors otherwise.

Example:
  mmsim validate examples/01-zero-page.yaml
`;

const EXPERIMENT_HELP = `Usage: mmsim experiment NAME [--kernel K,...] [--format table|json|csv] [--svg out.svg] [--seed N] [--scale X]

Runs a named experiment on each kernel profile and prints one table.

Options:
  --kernel K,...    the kernel profiles to compare (default: the experiment's own list)
  --format F        table (default), json or csv
  --svg FILE        also write the chart as SVG ('-': standard output, the table then on standard error)
  --seed N          the seed (default 1)
  --scale X         workload size factor (default 1; e.g. 0.25 for a quick look)
  --set FIELD=VAL   a what-if change to every kernel profile (repeatable)

Examples:
  mmsim experiment change-pte
  mmsim experiment change-pte --kernel v5.0,rfc-2019 --format csv
  mmsim experiment flag-misuse --svg misuse.svg
`;

const LIST_HELP = `Usage: mmsim list
       mmsim list bugs [--json]

Lists the experiments, the kernel profiles and the counter names scenarios can test; \`list bugs\` the
catalogue of historical bugs the model checker finds (id, title, fix, kernel, scenario, set).
`;

const CHECK_HELP = `Usage: mmsim check FILE [--kernel K,...] [--set F=V]... [--bug ID] [--max-preemptions N]
                    [--no-reduction] [--max-executions N] [--workers N] [--shard I/N]
                    [--paranoid] [--json] [--counterexample OUT] [--trace OUT]
       mmsim check --bug ID [options]
       mmsim check --merge SHARD.json... [--json]

Explores every interleaving of the scenario's 'parallel' threads at the kernel paths' preemption
points (no bound unless --max-preemptions), one execution per equivalence class (dynamic
partial-order reduction; under a preemption bound, a cache of the classes explored, in order of
preemptions), and reports per kernel: complete or not, executions, distinct final
states, and for every invariant, expectation, livelock or deadlock that can fail, a counterexample
with the fewest preemptions, then the fewest transitions, as a table that replays with
'mmsim run FILE --schedule S'.

Options:
  --kernel K,...        kernels to check (default: the scenario's)
  --set F=V             a what-if kernel-profile field (repeatable)
  --bug ID              apply a catalogued bug's switch (mmsim list bugs); FILE defaults to its scenario
  --max-preemptions N   explore only schedules with at most N preemptions
  --no-reduction        every schedule, no partial-order reduction (for comparison)
  --max-executions N    stop after N executions (default 1000000); the report says it stopped
  --workers N           run the search on N worker threads (the report does not change)
  --shard I/N           run share I of N (0 <= I < N) and print it as JSON for --merge
  --paranoid            also sweep every invariant over all of memory at every quiescent point of
                        every execution (default: what each transition touched, and a full sweep
                        at the end of each execution)
  --merge               the positional files are shard reports: combine them into one report
  --json                print the report as JSON (the format the browser visualizer opens)
  --counterexample OUT  write the first counterexample as JSON ('-': standard output)
  --trace OUT           write the first counterexample's trace (.json Chrome, .pftrace Perfetto)

Exit codes: 0 nothing fails, 1 a counterexample was found, 2 bad input.

Examples:
  mmsim check examples/20-race-fault-vs-merge.yaml
  mmsim check examples/20-race-fault-vs-merge.yaml --set kvmChangePteBumpsSeq=false
  mmsim check --bug rfc-change-pte-no-seq
  mmsim check examples/18-parallel-race.yaml --max-preemptions 1 --no-reduction
`;

/** Help texts by command ('main' is mmsim's own); commands not here print their own (oracle, ...). */
export const HELP: Readonly<Record<string, string>> = {
  main: MAIN_HELP,
  run: RUN_HELP,
  check: CHECK_HELP,
  validate: VALIDATE_HELP,
  experiment: EXPERIMENT_HELP,
  list: LIST_HELP,
};

/** This package's version, from its package.json (two levels up from src/cli and dist/cli alike). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/**
 * What to print for a command line that only asks for help or the version, when this module knows the
 * answer; undefined otherwise (main answers it).
 */
export function quickAnswer(argv: readonly string[]): string | undefined {
  const [first, second, ...more] = argv;
  if (more.length > 0) return undefined;
  if (second === undefined) {
    if (first === '--help' || first === '-h' || first === 'help') return HELP.main;
    if (first === '--version') return `mmsim ${version()}\n`;
    return undefined;
  }
  if (first === 'help' && Object.hasOwn(HELP, second) && second !== 'main') return HELP[second];
  if ((second === '--help' || second === '-h') && Object.hasOwn(HELP, first) && first !== 'main')
    return HELP[first];
  return undefined;
}
