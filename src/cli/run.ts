/**
 * `mmsim run FILE`: one scenario, its invariants and expectations (or, with --explore, every schedule
 * of its parallel threads up to a preemption bound). Exit 0 if all holds, 1 otherwise, 2 for bad input.
 */
import { exploreScenario } from '../check/explore.js';
import { KERNEL_NAMES, type KernelName, type ProfileOverrides, profileSettings } from '../kernel/profiles.js';
import type { Scenario, Step } from '../scenario/ast.js';
import { formatEvent, type RunResult, ScenarioRun, ScenarioRuntimeError } from '../scenario/run.js';
import {
  type Io,
  kernelOption,
  outputOptions,
  overridesOption,
  parse,
  readScenario,
  seedOption,
} from './options.js';
import { Progress, styler } from './term.js';
import { describeTrace, openTrace } from './trace-writer.js';
import { UsageError } from './usage-error.js';

export const RUN_HELP = `Usage: mmsim run FILE [--kernel K] [--seed N] [--json] [--trace out.json] [--steps] [--interleave S | --explore K | --schedule S] [--set F=V]

Runs a scenario: every step, the invariants after each step, then every expectation.
Exit code 0 if all expectations hold and no invariant broke, 1 otherwise, 2 for a bad file or option.

Options:
  --kernel K        override the scenario's kernel (${KERNEL_NAMES.join(', ')})
  --seed N          override the scenario's seed (a non-negative integer)
  --json            print the result as JSON
  --trace FILE      write the event log as Chrome trace-event JSON (opens in Perfetto)
  --steps           print every step with the events it caused
  --set FIELD=VAL   a what-if change to the kernel profile (repeatable), e.g.
                    --set kvmChangePteBumpsSeq=false  --set useChangePteFlagAt.wpPageCopy=false
  --explore K       model-check: run every schedule of the 'parallel' threads with at most K
                    preemptions (K = 0..9) and report the first that breaks anything
  --max-runs N      stop --explore after N schedules (default 100000)
  --schedule S      replay one schedule printed by --explore or a violation report
  --interleave S    run 'parallel' threads interleaved at every preemption point, in the order a
                    random walk seeded with S picks (the same S gives the same interleaving)

Examples:
  mmsim run examples/03-ksm-merge.yaml
  mmsim run examples/03-ksm-merge.yaml --kernel rfc-2019 --json
  mmsim run examples/05-guest-after-merge.yaml --trace trace.json
`;

export function cmdRun(args: string[], io: Io): number {
  const { values, positionals } = parse(args, {
    kernel: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
    trace: { type: 'string' },
    steps: { type: 'boolean' },
    interleave: { type: 'string' },
    set: { type: 'string', multiple: true },
    explore: { type: 'string' },
    'max-runs': { type: 'string' },
    schedule: { type: 'string' },
  });
  if (values.help) {
    io.out(RUN_HELP);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError('run: expected one scenario FILE (see mmsim run --help)');
  const file = positionals[0];
  const kernel = kernelOption(values.kernel as string | undefined);
  const seed = seedOption(values.seed as string | undefined);
  const interleave = values.interleave === undefined ? undefined : seedOption(values.interleave as string);
  const profileOverrides = overridesOption(values.set as string[] | undefined);
  const scenario = readScenario(file);
  const tracePath = values.trace as string | undefined;
  if (tracePath === '-' && (values.json || values.steps))
    throw new UsageError('--trace -: the trace takes standard output; --json and --steps cannot share it');
  if (values.explore !== undefined) {
    return cmdExplore(scenario, file, kernel, profileOverrides, values, io);
  }
  const schedule = values.schedule as string | undefined;
  if (schedule !== undefined && !/^\d+(\*\d+)?(,\d+(\*\d+)?)*$/.test(schedule)) {
    throw new UsageError(
      `--schedule: expected thread indices with repeat counts like 0*5,1*2,0, got '${schedule}'`,
    );
  }
  // checked (and opened) before the run, so a bad path costs no time; written as the run goes
  const trace =
    tracePath === undefined ? undefined : openTrace(tracePath, outputOptions('--trace', [file], io));
  /** --steps: the events of the steps now running, printed when a step ends. */
  let stepEvents: string[] = [];
  let printedSteps = false;
  const progress = new Progress(`running ${file}`, countSteps(scenario.steps));
  const run = new ScenarioRun(scenario, {
    kernel,
    seed,
    file,
    interleave,
    profileOverrides,
    schedule,
    onStep: (index, step) => {
      progress.update(index + 1);
      if (!values.steps) return;
      io.out(
        `step ${index} ${step.op} (${step.pos.file}:${step.pos.line}:${step.pos.col})\n${stepEvents.join('')}`,
      );
      stepEvents = [];
      printedSteps = true;
    },
  });
  if (trace !== undefined || values.steps)
    run.world.kernel.machine.log.attach((e) => {
      trace?.event(e);
      if (values.steps && e.kind !== 'step') stepEvents.push(`  ${formatEvent(e)}\n`);
    });
  let result: RunResult;
  try {
    result = run.run();
    progress.done();
  } catch (e) {
    progress.done();
    trace?.abort();
    if (e instanceof ScenarioRuntimeError)
      throw new UsageError(`${e.pos.file}:${e.pos.line}:${e.pos.col}: error: ${e.message}`);
    throw e;
  }
  if (trace !== undefined) io.err(`mmsim: ${describeTrace(trace.finish())}\n`);
  if (printedSteps) io.out('\n');
  if (values.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
  else {
    // with the trace on standard output, the report goes to standard error
    if (tracePath === '-') io.err(formatRunResult(result, styler({})));
    else io.out(formatRunResult(result, styler({ isTTY: io.stdoutIsTty })));
  }
  return result.ok ? 0 : 1;
}

/** `run --explore K`: every schedule of the parallel threads with at most K preemptions. */
function cmdExplore(
  scenario: Scenario,
  file: string,
  kernel: KernelName | undefined,
  profileOverrides: ProfileOverrides | undefined,
  values: Record<string, string | boolean | string[] | undefined>,
  io: Io,
): number {
  const k = values.explore as string;
  if (!/^\d$/.test(k)) throw new UsageError(`--explore: expected a preemption bound from 0 to 9, got '${k}'`);
  const maxRunsText = (values['max-runs'] as string | undefined) ?? '100000';
  if (!/^\d+$/.test(maxRunsText) || Number(maxRunsText) < 1)
    throw new UsageError(`--max-runs: expected a positive integer, got '${maxRunsText}'`);
  const progress = new Progress(`exploring ${file}`, Number(maxRunsText));
  const r = exploreScenario(scenario, {
    kernel,
    profileOverrides,
    maxPreemptions: Number(k),
    maxRuns: Number(maxRunsText),
    file,
    progress: (n) => progress.update(n),
  });
  progress.done();
  const kernelName = kernel ?? scenario.kernel;
  if (values.json)
    io.out(
      `${JSON.stringify({ name: scenario.name, kernel: kernelName, maxPreemptions: Number(k), ...r }, null, 2)}\n`,
    );
  else {
    const s = styler({ isTTY: io.stdoutIsTty });
    io.out(
      `${s.bold(scenario.name)}  kernel ${kernelName}  schedules with <= ${k} preemptions: ${r.schedules}${r.complete ? ' (all)' : ' (stopped at --max-runs)'}, ${r.distinctTraces} distinct traces\n`,
    );
    if (r.failing === 0) io.out(`  ${s.green('no schedule broke an invariant or an expectation')}\n`);
    else {
      io.out(`  ${s.red(`${r.failing} failing schedule(s)`)}; the first: ${r.first?.problem}\n`);
      io.out(
        `  replay: mmsim run ${file} --kernel ${kernelName}${profileSettings(profileOverrides)
          .map((x) => ` --set ${x}`)
          .join('')} --schedule ${r.first?.schedule} --steps\n`,
      );
    }
  }
  return r.failing === 0 ? 0 : 1;
}

/** Steps the runner will execute (repeat bodies times their count, every parallel thread). */
function countSteps(steps: readonly Step[]): number {
  let n = 0;
  for (const s of steps) {
    if (s.op === 'repeat') n += s.times * countSteps(s.steps);
    else if (s.op === 'parallel') for (const t of s.threads) n += countSteps(t);
    else n++;
  }
  return n;
}

export function formatRunResult(r: RunResult, s = styler({})): string {
  const lines: string[] = [];
  lines.push(
    `${s.bold(r.name)}  kernel ${r.kernel}  seed ${r.seed}  ${r.ok ? s.green('OK') : s.red('FAILED')}`,
  );
  for (const e of r.expectations) {
    const mark = e.ok ? s.green('ok  ') : s.red('FAIL');
    lines.push(
      `  ${mark} ${e.text}${e.ok ? '' : `  (actual: ${typeof e.actual === 'string' ? e.actual : JSON.stringify(e.actual)}; ${e.at})`}`,
    );
  }
  for (const o of r.outcomes) {
    const w = o.where;
    const where =
      w === undefined ? '' : w.count === 1 ? `: ${w.first}` : ` ${w.count} times, ${w.first} .. ${w.last}`;
    lines.push(`  ${s.dim('note')} step ${o.step} ${o.op} returned ${o.result}${where} (${o.at})`);
  }
  for (const v of r.violations) {
    lines.push(`  ${s.red('VIOLATION')} ${v.invariant}: ${v.message}`);
    lines.push(
      `    step ${v.step}${v.at ? ` (${v.at})` : ''}; agents ${v.agents.join(', ')}; at ${v.addresses.join(', ')}`,
    );
    lines.push(`    replay: ${v.trace.replay}`);
    for (const e of v.trace.events) lines.push(`      ${e}`);
  }
  const interesting = Object.entries(r.counters).filter(([, v]) => v !== 0);
  if (interesting.length > 0) {
    lines.push('  counters:');
    for (const [k, v] of interesting) lines.push(`    ${k.padEnd(36)} ${String(v).padStart(10)}`);
  }
  lines.push(`  trace hash ${r.traceHash}`);
  return `${lines.join('\n')}\n`;
}
