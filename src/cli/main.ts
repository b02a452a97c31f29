/**
 * The mmsim command: run, validate, experiment, list. Bad input is reported as file:line:col (or the
 * option at fault) with exit code 2 and nothing written; a failed expectation or a broken invariant
 * exits 1.
 */
import { BUGS, formatBugs } from '../check/bugs.js';
import { EXPERIMENTS, findExperiment } from '../experiments/index.js';
import { renderBarChart } from '../experiments/svg.js';
import { renderCsv, renderTable } from '../experiments/table.js';
import { KERNEL_NAMES, PROFILES, profileSettings } from '../kernel/profiles.js';
import { counterListing } from '../scenario/counters.js';
import { cmdCheck } from './check.js';
import { HELP, version } from './help.js';
import {
  defaultIo,
  type Io,
  kernelListOption,
  outputOptions,
  overridesOption,
  parse,
  readScenario,
  seedOption,
} from './options.js';
import { cmdOracle } from './oracle.js';
import { openOutput, writeOutput } from './output-file.js';
import { cmdRun } from './run.js';
import { Progress, styler } from './term.js';
import { UsageError } from './usage-error.js';
import { cmdWeb } from './web.js';

export { formatRunResult } from './run.js';
export type { Io };
export { UsageError };

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
    values.kernel === undefined ? exp.defaultKernels : kernelListOption(values.kernel as string);
  const profileOverrides = overridesOption(values.set as string[] | undefined);
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
    profileOverrides,
    progress: (done, total) => progress.update(done, total),
  });
  progress.done();
  if (svgPath !== undefined)
    writeOutput(svgPath, renderBarChart(result.chart), outputOptions('--svg', [], io));
  if (format === 'json') {
    io.out(
      `${JSON.stringify({ name: result.name, title: result.title, kernels, seed, scale, set: profileSettings(profileOverrides), rows: result.records, violations: result.violations, notes: result.notes }, null, 2)}\n`,
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

/** A message with control characters (a NUL from the file, an escape sequence) shown, not sent raw. */
function visible(message: string): string {
  let out = '';
  for (const c of message) {
    const code = c.charCodeAt(0);
    const control = (code < 0x20 && c !== '\n' && c !== '\t') || (code >= 0x7f && code < 0xa0);
    out += control ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

/** `mmsim help [COMMAND]`: the main help, or what `mmsim COMMAND --help` prints. */
function cmdHelp(args: string[], io: Io): number {
  if (args.length === 0) {
    io.out(HELP.main);
    return 0;
  }
  if (args.length > 1 || args[0].startsWith('-'))
    throw new UsageError(`help: expected nothing or one command, got '${args.join(' ')}'`);
  return main([args[0], '--help'], io);
}

export function main(argv: string[], io: Io = defaultIo): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
        io.out(HELP.main);
        return command === undefined ? 2 : 0;
      case 'help':
        return cmdHelp(rest, io);
      case '--version':
        io.out(`mmsim ${version()}\n`);
        return 0;
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
      case 'web':
        return cmdWeb(rest, io);
      case 'check':
        return cmdCheck(rest, io);
      default:
        throw new UsageError(
          `unknown command '${command}'; expected run, check, validate, experiment, list, oracle or web (see mmsim --help)`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message.startsWith('mmsim') ? '' : 'mmsim: '}${visible(e.message)}\n`);
      return 2;
    }
    io.err(
      `mmsim: internal error: ${visible((e as Error).message)}\n  (this is a bug in mmsim; set MMSIM_DEBUG=1 for details)\n`,
    );
    if (process.env.MMSIM_DEBUG) io.err(`${(e as Error).stack}\n`);
    return 3;
  }
}
