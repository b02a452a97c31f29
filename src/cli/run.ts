/**
 * `mmsim run FILE`: one scenario, its invariants and expectations (or, with --explore, every schedule
 * of its parallel threads up to a preemption bound). Exit 0 if all holds, 1 otherwise, 2 for bad input.
 */
import { exploreScenario } from '../check/explore.js';
import { type KernelName, type ProfileOverrides, profileSettings } from '../kernel/profiles.js';
import type { Scenario } from '../scenario/ast.js';
import {
  formatEvent,
  parseSchedule,
  type RunResult,
  ScenarioRun,
  ScenarioRuntimeError,
} from '../scenario/run.js';
import { HELP } from './help.js';
import { HostMemoryExhausted, hostMemoryError, hostMemoryGuard, maxMemoryOption } from './host-memory.js';
import {
  type Io,
  kernelOption,
  outputOptions,
  overridesOption,
  parse,
  readScenario,
  seedOption,
} from './options.js';
import { checkStepLimit, executedSteps, formatCount, maxStepsOption, parallelThreads } from './run-limits.js';
import { describeFailures, unexpectedFailures } from './run-warnings.js';
import { Progress, styler } from './term.js';
import { describeTrace, openTrace } from './trace-writer.js';
import { UsageError } from './usage-error.js';

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
    'max-steps': { type: 'string' },
    'max-memory': { type: 'string' },
    paranoid: { type: 'boolean' },
  });
  if (values.help) {
    io.out(HELP.run);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError('run: expected one scenario FILE (see mmsim run --help)');
  const file = positionals[0];
  checkCombinations(values);
  const kernel = kernelOption(values.kernel as string | undefined);
  const seed = seedOption(values.seed as string | undefined);
  const interleave = seedOption(values.interleave as string | undefined, '--interleave');
  const profileOverrides = overridesOption(values.set as string[] | undefined);
  const maxSteps = maxStepsOption(values['max-steps'] as string | undefined);
  const maxMemory = maxMemoryOption(values['max-memory'] as string | undefined);
  const scenario = readScenario(file);
  const tracePath = values.trace as string | undefined;
  const threads = parallelThreads(scenario.steps);
  for (const o of ['interleave', 'schedule', 'explore'])
    if (values[o] !== undefined && threads === 0)
      throw new UsageError(`--${o}: ${file} has no parallel step, so there is nothing to interleave`);
  checkStepLimit(scenario, file, maxSteps);
  if (values.explore !== undefined) {
    return cmdExplore(scenario, file, kernel, profileOverrides, values, io);
  }
  const schedule = values.schedule as string | undefined;
  if (schedule !== undefined) {
    const runs = parseSchedule(schedule, threads);
    if (typeof runs === 'string') throw new UsageError(`--schedule: ${runs}`);
  }
  // checked (and opened) before the run, so a bad path costs no time; written as the run goes
  const trace =
    tracePath === undefined ? undefined : openTrace(tracePath, outputOptions('--trace', [file], io));
  /** --steps: the events of the steps now running, printed when a step ends. */
  let stepEvents: string[] = [];
  let printedSteps = false;
  const progress = new Progress(`running ${file}`, executedSteps(scenario.steps, scenario.ksm.pagesToScan));
  const run = new ScenarioRun(scenario, {
    kernel,
    seed,
    file,
    interleave,
    profileOverrides,
    schedule,
    paranoid: values.paranoid === true,
    onStep: (index, step) => {
      stepsDone = index + 1;
      progress.update(stepsDone);
      if (!values.steps) return;
      io.out(
        `step ${index} ${step.op} (${step.pos.file}:${step.pos.line}:${step.pos.col})\n${stepEvents.join('')}`,
      );
      stepEvents = [];
      printedSteps = true;
    },
  });
  run.world.kernel.frames.onFreshFrames = hostMemoryGuard(maxMemory);
  let stepsDone = 0;
  if (trace !== undefined || values.steps || progress.enabled)
    run.world.kernel.machine.log.attach((e) => {
      // a long step stays visibly alive: the bar moves with the events too
      if (progress.enabled && (e.seq & 0xffff) === 0)
        progress.update(stepsDone, undefined, `  ${formatCount(e.seq)} events`);
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
    if (e instanceof HostMemoryExhausted) throw hostMemoryError(file, e);
    throw e;
  }
  if (trace !== undefined) io.err(`mmsim: ${describeTrace(trace.finish())}\n`);
  const unexpected = unexpectedFailures(scenario, result);
  if (unexpected.length > 0) io.err(`mmsim: ${describeFailures(unexpected)}\n`);
  if (printedSteps) io.out('\n');
  if (values.json)
    io.out(
      `${JSON.stringify(unexpected.length > 0 ? { ...result, warnings: unexpected } : result, null, 2)}\n`,
    );
  else {
    // with the trace on standard output, the report goes to standard error
    if (tracePath === '-') io.err(formatRunResult(result, styler({})));
    else io.out(formatRunResult(result, styler({ isTTY: io.stdoutIsTty })));
  }
  return result.ok ? 0 : 1;
}

/** Options that mean nothing together, or without another, are refused (exit 2) rather than ignored. */
function checkCombinations(values: Record<string, string | boolean | string[] | undefined>): void {
  const has = (o: string): boolean => values[o] !== undefined && values[o] !== false;
  const refuse = (a: string, b: string, why: string): void => {
    if (has(a) && has(b)) throw new UsageError(`--${a} and --${b} cannot go together: ${why}`);
  };
  for (const o of ['schedule', 'interleave', 'trace', 'steps', 'seed', 'max-steps', 'max-memory', 'paranoid'])
    refuse('explore', o, `--explore runs many schedules of the scenario's own seed and prints a summary`);
  refuse('schedule', 'interleave', 'each chooses how the parallel threads interleave; give one');
  refuse('json', 'steps', 'both print to standard output; --trace FILE records every event instead');
  if (values.trace === '-') {
    refuse('trace', 'json', 'the trace takes standard output');
    refuse('trace', 'steps', 'the trace takes standard output');
  }
  if (has('max-runs') && !has('explore'))
    throw new UsageError('--max-runs: only --explore runs many schedules');
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
