/**
 * The mmsim command: run, validate, experiment, list. Bad input is reported as file:line:col (or the
 * option at fault) with exit code 2 and nothing written; a failed expectation or a broken invariant
 * exits 1.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BUGS, formatBugs } from '../check/bugs.js';
import { exploreScenario } from '../check/explore.js';
import { EXPERIMENTS, findExperiment } from '../experiments/index.js';
import { renderBarChart } from '../experiments/svg.js';
import { renderCsv, renderTable } from '../experiments/table.js';
import {
  isKernelName,
  KERNEL_NAMES,
  type KernelName,
  PROFILES,
  type ProfileOverrides,
  parseProfileSetting,
  profileSettings,
} from '../kernel/profiles.js';
import type { Scenario, Step } from '../scenario/ast.js';
import { counterListing } from '../scenario/counters.js';
import { formatError, parseScenario } from '../scenario/parse.js';
import { formatEvent, type RunResult, ScenarioRun, ScenarioRuntimeError } from '../scenario/run.js';
import { toChromeTrace } from '../sim/log.js';
import { cmdOracle } from './oracle.js';
import { openOutput, writeOutput } from './output-file.js';
import { Progress, styler } from './term.js';
import { UsageError } from './usage-error.js';

export { UsageError };

export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdoutIsTty: boolean;
  /** Bytes for standard output (an output file named `-`); default: out() of their UTF-8 text. */
  outBytes?(chunk: Uint8Array): void;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  outBytes: (b) => process.stdout.write(b),
  err: (t) => process.stderr.write(t),
  stdoutIsTty: process.stdout.isTTY === true,
};

const HELP: Record<string, string> = {
  main: `mmsim — an executable model of Linux memory management and MMU notifiers

Usage: mmsim <command> [options]

Commands:
  run FILE          run a scenario file (YAML or JSON) and check its expectations
  validate FILE     check a scenario file without running it
  experiment NAME   run a named experiment across kernel profiles
  list              list experiments, kernel profiles and counters
  oracle FILE       compare a scenario's primary-MMU part with the running Linux kernel

Run 'mmsim <command> --help' for a command's options.

Examples:
  mmsim experiment change-pte
  mmsim run examples/01-zero-page.yaml --kernel v6.10
  mmsim list
`,
  run: `Usage: mmsim run FILE [--kernel K] [--seed N] [--json] [--trace out.json] [--steps] [--interleave S | --explore K | --schedule S] [--set F=V]

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
`,
  validate: `Usage: mmsim validate FILE

Checks a scenario file against the format (SCENARIO.md) without running it.
Exit code 0 if valid, 2 with file:line:col errors otherwise.

Example:
  mmsim validate examples/01-zero-page.yaml
`,
  experiment: `Usage: mmsim experiment NAME [--kernel K,...] [--format table|json|csv] [--svg out.svg] [--seed N] [--scale X]

Runs a named experiment on each kernel profile and prints one table.

Options:
  --kernel K,...    the kernel profiles to compare (default: the experiment's own list)
  --format F        table (default), json or csv
  --svg FILE        also write the chart as SVG
  --seed N          the seed (default 1)
  --scale X         workload size factor (default 1; e.g. 0.25 for a quick look)
  --set FIELD=VAL   a what-if change to every kernel profile (repeatable)

Examples:
  mmsim experiment change-pte
  mmsim experiment change-pte --kernel v5.0,rfc-2019 --format csv
  mmsim experiment flag-misuse --svg misuse.svg
`,
  list: `Usage: mmsim list
       mmsim list bugs [--json]

Lists the experiments, the kernel profiles and the counter names scenarios can test; \`list bugs\` the
catalogue of historical bugs the model checker finds (id, title, fix, kernel, scenario, set).
`,
};

function readScenario(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError(`${file}: cannot read the file (${code})`);
  }
  const parsed = parseScenario(text, file);
  if (!parsed.ok) throw new UsageError(parsed.errors.map(formatError).join('\n'));
  return parsed.scenario;
}

function kernelOption(v: string | undefined): KernelName | undefined {
  if (v === undefined) return undefined;
  if (!isKernelName(v))
    throw new UsageError(`--kernel: unknown kernel '${v}'; expected one of ${KERNEL_NAMES.join(', ')}`);
  return v;
}

function seedOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 0xffff_ffff)
    throw new UsageError(`--seed: expected a non-negative integer below 2^32, got '${v}'`);
  return Number(v);
}

/** `--set FIELD=VALUE` (repeatable): what-if changes to the kernel profile. */
function overridesOption(settings: string[] | undefined): ProfileOverrides | undefined {
  if (settings === undefined || settings.length === 0) return undefined;
  const o: ProfileOverrides = {};
  for (const s of settings) {
    const err = parseProfileSetting(s, o);
    if (err !== null) throw new UsageError(`--set: ${err}`);
  }
  return o;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

function parse(
  args: string[],
  options: OptionSpec,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return {
      values: r.values as Record<string, string | boolean | string[] | undefined>,
      positionals: r.positionals,
    };
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** Output options for a command: the inputs it must not overwrite, and where `-` goes. */
function outputOptions(option: string, inputs: readonly string[], io: Io) {
  return {
    option,
    inputs,
    stdout: io.outBytes ?? ((b: Uint8Array) => io.out(Buffer.from(b).toString('utf8'))),
  };
}

function cmdRun(args: string[], io: Io): number {
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
    io.out(HELP.run);
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
  // checked (and opened) before the run, so a bad path costs no time; written after it
  const traceOut =
    tracePath === undefined ? undefined : openOutput(tracePath, outputOptions('--trace', [file], io));
  const stepLines: string[] = [];
  let seen = 0;
  const progress = new Progress(`running ${file}`, countSteps(scenario.steps));
  const run = new ScenarioRun(scenario, {
    kernel,
    seed,
    file,
    interleave,
    profileOverrides,
    schedule,
    onStep: (index, step, world) => {
      progress.update(index + 1);
      if (!values.steps) return;
      const events = world.kernel.machine.log.events;
      stepLines.push(`step ${index} ${step.op} (${step.pos.file}:${step.pos.line}:${step.pos.col})`);
      for (; seen < events.length; seen++) {
        if (events[seen].kind !== 'step') stepLines.push(`  ${formatEvent(events[seen])}`);
      }
    },
  });
  let result: RunResult;
  try {
    result = run.run();
    progress.done();
  } catch (e) {
    progress.done();
    traceOut?.abort();
    if (e instanceof ScenarioRuntimeError)
      throw new UsageError(`${e.pos.file}:${e.pos.line}:${e.pos.col}: error: ${e.message}`);
    throw e;
  }
  if (traceOut !== undefined) {
    try {
      traceOut.write(`${JSON.stringify(toChromeTrace(run.events))}\n`);
      traceOut.commit();
    } catch (e) {
      traceOut.abort();
      throw e;
    }
  }
  if (values.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
  else {
    if (stepLines.length > 0) io.out(`${stepLines.join('\n')}\n\n`);
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

function cmdValidate(args: string[], io: Io): number {
  const { values, positionals } = parse(args, {});
  if (values.help) {
    io.out(HELP.validate);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('validate: expected one scenario FILE');
  const s = readScenario(positionals[0]);
  io.out(
    `${positionals[0]}: ok (${s.name}: ${s.steps.length} steps, ${s.expect.length} expectations, kernel ${s.kernel})\n`,
  );
  return 0;
}

function cmdList(args: string[], io: Io): number {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (values.help) {
    io.out(HELP.list);
    return 0;
  }
  if (positionals[0] === 'bugs' && positionals.length === 1) {
    io.out(values.json ? `${JSON.stringify(BUGS, null, 2)}\n` : formatBugs());
    return 0;
  }
  if (positionals.length > 0 || values.json)
    throw new UsageError(`list: expected nothing or 'bugs [--json]', got '${args.join(' ')}'`);
  const lines = ['Experiments:'];
  for (const e of EXPERIMENTS) lines.push(`  ${e.name.padEnd(14)} ${e.description}`);
  lines.push('', 'Kernel profiles:');
  for (const k of KERNEL_NAMES) lines.push(`  ${k.padEnd(14)} ${PROFILES[k].description}`);
  lines.push('', 'Counters:');
  for (const [name, meaning] of counterListing()) lines.push(`  ${name.padEnd(32)} ${meaning}`);
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

function cmdExperiment(args: string[], io: Io): number {
  const { values, positionals } = parse(args, {
    kernel: { type: 'string' },
    format: { type: 'string' },
    svg: { type: 'string' },
    seed: { type: 'string' },
    scale: { type: 'string' },
    set: { type: 'string', multiple: true },
  });
  if (values.help) {
    io.out(HELP.experiment);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(
      `experiment: expected one NAME; one of ${EXPERIMENTS.map((e) => e.name).join(', ')}`,
    );
  const exp = findExperiment(positionals[0]);
  if (exp === undefined)
    throw new UsageError(
      `experiment: unknown experiment '${positionals[0]}'; expected one of ${EXPERIMENTS.map((e) => e.name).join(', ')}`,
    );
  const kernels =
    values.kernel === undefined
      ? exp.defaultKernels
      : (values.kernel as string).split(',').map((k) => kernelOption(k.trim())!);
  const format = (values.format as string | undefined) ?? 'table';
  if (!['table', 'json', 'csv'].includes(format))
    throw new UsageError(`--format: expected table, json or csv, got '${format}'`);
  const scaleText = (values.scale as string | undefined) ?? '1';
  const scale = Number(scaleText);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 64)
    throw new UsageError(`--scale: expected a number in (0, 64], got '${scaleText}'`);
  const seed = seedOption(values.seed as string | undefined) ?? 1;
  const svgPath = values.svg as string | undefined;
  if (svgPath === '-' && format !== 'table')
    throw new UsageError(`--svg -: the chart takes standard output; --format ${format} cannot share it`);
  if (svgPath !== undefined && svgPath !== '-') openOutput(svgPath, outputOptions('--svg', [], io)).abort();
  const progress = new Progress(exp.name, 1);
  const result = exp.run({
    kernels,
    seed,
    scale,
    progress: (done, total) => progress.update(done, total),
  });
  progress.done();
  if (svgPath !== undefined)
    writeOutput(svgPath, renderBarChart(result.chart), outputOptions('--svg', [], io));
  if (format === 'json') {
    io.out(
      `${JSON.stringify({ name: result.name, title: result.title, kernels, seed, scale, rows: result.records, violations: result.violations, notes: result.notes }, null, 2)}\n`,
    );
  } else if (format === 'csv') io.out(renderCsv(result.columns, result.rows));
  else {
    // with the chart on standard output, the table goes to standard error
    const say = svgPath === '-' ? io.err : io.out;
    const s = styler({ isTTY: svgPath !== '-' && io.stdoutIsTty });
    say(
      `${s.bold(result.title)}\n${wrap(result.summary, 80)}\n\n${renderTable(result.columns, result.rows)}\n\n`,
    );
    for (const n of result.notes) say(`${wrap(n, 80)}\n`);
  }
  return result.violations === 0 ? 0 : 1;
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}

export function main(argv: string[], io: Io = defaultIo): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(HELP.main);
        return command === undefined ? 2 : 0;
      case 'run':
        return cmdRun(rest, io);
      case 'validate':
        return cmdValidate(rest, io);
      case 'experiment':
        return cmdExperiment(rest, io);
      case 'list':
        return cmdList(rest, io);
      case 'oracle':
        return cmdOracle(rest, io);
      default:
        throw new UsageError(
          `unknown command '${command}'; expected run, validate, experiment, list or oracle (see mmsim --help)`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message.startsWith('mmsim') ? '' : 'mmsim: '}${e.message}\n`);
      return 2;
    }
    io.err(
      `mmsim: internal error: ${(e as Error).message}\n  (this is a bug in mmsim; set MMSIM_DEBUG=1 for details)\n`,
    );
    if (process.env.MMSIM_DEBUG) io.err(`${(e as Error).stack}\n`);
    return 3;
  }
}
