/**
 * `mmsim check FILE`: model-check a scenario's `parallel` threads (check/check.ts) and print, per kernel,
 * whether the search completed, its executions and distinct final states, and every problem's minimal
 * counterexample as a numbered table; `--json` prints the report (what the browser visualizer opens),
 * `--counterexample OUT` writes the first counterexample, `--trace OUT` its Perfetto trace; `--shard I/N`
 * runs a deterministic share and `--merge` combines the shards' JSON into the report one run gives.
 */
import { readFileSync } from 'node:fs';
import { BUGS, type BugEntry, findBug } from '../check/bugs.js';
import {
  betterProblem,
  type CheckOptions,
  checkScenario,
  localRunner,
  type ShardReport,
  type ShardResult,
} from '../check/check.js';
import type { CheckReport, Counterexample } from '../check/counterexample.js';
import { runInWorkers } from '../check/workers.js';
import { profileSettings } from '../kernel/profiles.js';
import { ScenarioRun } from '../scenario/run.js';
import { HELP } from './help.js';
import { type Io, kernelListOption, outputOptions, overridesOption, parse, readScenario } from './options.js';
import { writeOutput } from './output-file.js';
import { Progress, styler } from './term.js';
import { describeTrace, writeTrace } from './trace-writer.js';

import { UsageError } from './usage-error.js';

const OPTIONS = {
  kernel: { type: 'string' },
  set: { type: 'string', multiple: true },
  bug: { type: 'string' },
  'max-preemptions': { type: 'string' },
  'no-reduction': { type: 'boolean' },
  'max-executions': { type: 'string' },
  workers: { type: 'string' },
  shard: { type: 'string' },
  merge: { type: 'boolean' },
  json: { type: 'boolean' },
  counterexample: { type: 'string' },
  trace: { type: 'string' },
  paranoid: { type: 'boolean' },
} as const;

function positiveInt(option: string, v: string | undefined, fallback: number, max = 1e9): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new UsageError(`--${option}: expected a whole number from 1 to ${max}, got '${v}'`);
  return Number(v);
}

function shardOption(v: string | undefined): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (m === null || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2]) || Number(m[2]) > 10_000)
    throw new UsageError(`--shard: expected I/N with 0 <= I < N <= 10000, got '${v}'`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

export function cmdCheck(args: string[], io: Io): number {
  const { values, positionals } = parse(args, OPTIONS);
  if (values.help) {
    io.out(HELP.check);
    return 0;
  }
  if (values.merge === true) return cmdMerge(positionals, values, io);
  let bug: BugEntry | undefined;
  if (values.bug !== undefined) {
    bug = findBug(values.bug as string);
    if (bug === undefined)
      throw new UsageError(
        `--bug: no bug '${values.bug}'; expected one of ${BUGS.map((b) => b.id).join(', ')}`,
      );
  }
  if (positionals.length > 1)
    throw new UsageError(`check takes one scenario file, got ${positionals.length}`);
  const file = positionals[0] ?? bug?.scenario;
  if (file === undefined)
    throw new UsageError('check: expected a scenario FILE (or --bug ID); see mmsim check --help');
  const scenario = readScenario(file);
  const text = readFileSync(file, 'utf8');
  const kernels =
    values.kernel !== undefined
      ? kernelListOption(values.kernel as string)
      : [bug?.kernel ?? scenario.kernel];
  const maxPreemptions =
    values['max-preemptions'] === undefined
      ? Number.POSITIVE_INFINITY
      : boundOption(values['max-preemptions'] as string);
  const shard = shardOption(values.shard as string | undefined);
  const workers = positiveInt('workers', values.workers as string | undefined, 1, 64);
  for (const o of ['counterexample', 'trace'] as const)
    if (values[o] === '') throw new UsageError(`--${o}: expected a file name ('-' for standard output)`);
  if (shard !== undefined && (values.counterexample !== undefined || values.trace !== undefined))
    throw new UsageError(
      '--shard: a shard prints its share as JSON for --merge; write counterexamples after merging',
    );
  const opts: CheckOptions = {
    file,
    text,
    kernels,
    profileOverrides: overridesOption(values.set as string[] | undefined),
    bug,
    maxPreemptions,
    reduction: values['no-reduction'] !== true,
    paranoid: values.paranoid === true,
    maxExecutions: positiveInt('max-executions', values['max-executions'] as string | undefined, 1_000_000),
    shard,
    workers,
  };
  const progress = new Progress(`checking ${file}`, 1);
  opts.progress = (done, total) => progress.update(done, total);
  const t0 = performance.now();
  const report =
    workers > 1
      ? runInWorkers(scenario, opts, workers)
      : checkScenario(scenario, opts, localRunner(scenario));
  progress.done();
  const seconds = (performance.now() - t0) / 1000;
  if (shard !== undefined) {
    io.out(`${JSON.stringify(report, null, 1)}\n`);
    io.err(`shard ${shard.index}/${shard.count} of ${file} checked in ${seconds.toFixed(2)} s\n`);
    return 0;
  }
  return finish(publicReport(report), values, io, seconds, file);
}

function boundOption(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 1000)
    throw new UsageError(`--max-preemptions: expected a whole number from 0 to 1000, got '${v}'`);
  return Number(v);
}

/** The report without the shards' merge data. */
function publicReport(r: ShardReport): CheckReport {
  return {
    format: 'mmsim-check',
    version: 1,
    file: r.file,
    results: r.results.map((x) => ({
      kernel: x.kernel,
      complete: x.complete,
      ...(x.stoppedBy !== undefined ? { stoppedBy: x.stoppedBy } : {}),
      executions: x.executions,
      finalStates: x.finalStates,
      counterexamples: x.counterexamples,
    })),
  };
}

function finish(
  report: CheckReport,
  values: Record<string, unknown>,
  io: Io,
  seconds: number,
  file: string,
): number {
  const first = report.results.flatMap((r) => r.counterexamples)[0];
  const inputs = [file];
  if (values.counterexample !== undefined) {
    if (first === undefined) io.err('mmsim: --counterexample: no counterexample to write\n');
    else
      writeOutput(
        values.counterexample as string,
        `${JSON.stringify(first, null, 1)}\n`,
        outputOptions('--counterexample', inputs, io),
      );
  }
  if (values.trace !== undefined) {
    if (first === undefined) io.err('mmsim: --trace: no counterexample to trace\n');
    else {
      const events = replayEvents(first, file);
      io.err(
        `${describeTrace(writeTrace(values.trace as string, events, outputOptions('--trace', inputs, io)))}\n`,
      );
    }
  }
  if (values.json === true) io.out(`${JSON.stringify(report, null, 1)}\n`);
  else io.out(formatReport(report, io.stdoutIsTty));
  io.err(`checked in ${seconds.toFixed(2)} s\n`);
  return report.results.some((r) => r.counterexamples.length > 0) ? 1 : 0;
}

/** The counterexample's run with the event log on (for --trace). */
function replayEvents(c: Counterexample, file: string) {
  const scenario = readScenario(file);
  const run = new ScenarioRun(scenario, {
    kernel: c.kernel,
    profileOverrides: c.overrides as never,
    schedule: c.schedule,
    paranoid: c.paranoid === true,
    file,
    keepEvents: true,
  });
  run.run();
  return run.events;
}

export function formatReport(report: CheckReport, tty: boolean): string {
  const s = styler({ isTTY: tty });
  const lines: string[] = [];
  lines.push(`${s.bold(report.file)}`);
  const header = ['kernel', 'complete', 'executions', 'final states', 'counterexamples'];
  const rows = report.results.map((r) => [
    r.kernel,
    r.complete ? 'yes' : `no (${r.stoppedBy})`,
    String(r.executions),
    String(r.finalStates),
    r.counterexamples.length === 0 ? 'none' : r.counterexamples.map((c) => problemName(c)).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  lines.push(`  ${fmt(header)}`);
  for (const r of rows) lines.push(`  ${fmt(r)}`);
  for (const r of report.results) {
    if (!r.complete)
      lines.push(
        s.dim(`  ${r.kernel}: the search stopped at ${r.stoppedBy}; what it did not reach is unchecked`),
      );
    for (const c of r.counterexamples) lines.push('', ...formatCounterexample(c, tty));
  }
  return `${lines.join('\n')}\n`;
}

function problemName(c: Counterexample): string {
  return c.problem.kind === 'invariant' ? `invariant ${c.problem.invariant}` : c.problem.kind;
}

/** The interleaving as a numbered table, the offending transition marked. */
export function formatCounterexample(c: Counterexample, tty: boolean): string[] {
  const s = styler({ isTTY: tty });
  const out: string[] = [];
  out.push(
    `${s.red('COUNTEREXAMPLE')} ${c.kernel}: ${problemName(c)} — ${c.preemptions} preemption(s), ${c.transitions.length} transition(s)`,
  );
  out.push(`  ${c.problem.message}`);
  out.push(`  threads: ${c.threads.join('; ')}`);
  out.push(`  ${'#'.padStart(3)}  thread  cpu  from -> to`);
  for (const t of c.transitions) {
    const mark = t.index === c.offending ? s.red('>') : ' ';
    out.push(
      `${mark} ${String(t.index).padStart(3)}  ${String(t.thread).padStart(6)}  ${String(t.cpu).padStart(3)}  ${t.from} -> ${t.to}`,
    );
    for (const e of t.events) out.push(`${' '.repeat(20)}${s.dim(e)}`);
  }
  const sets = profileSettings(c.overrides as never)
    .map((x) => ` --set ${x}`)
    .join('');
  const paranoid = c.paranoid === true ? ' --paranoid' : '';
  out.push(
    `  replay: mmsim run ${c.file} --kernel ${c.kernel}${sets} --schedule ${c.schedule}${paranoid} --steps`,
  );
  return out;
}

function cmdMerge(files: string[], values: Record<string, unknown>, io: Io): number {
  if (files.length === 0) throw new UsageError("--merge: expected the shards' JSON files");
  const shards: ShardReport[] = files.map((f) => {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new UsageError(`${f}: not a shard report (${(e as Error).message})`);
    }
    const r = data as ShardReport;
    if (r?.format !== 'mmsim-check' || r.shard === undefined || !Array.isArray(r.results))
      throw new UsageError(`${f}: not a shard report of mmsim check --shard I/N`);
    return r;
  });
  const first = shards[0];
  const count = first.shard!.count;
  const seen = new Set<number>();
  for (const [i, r] of shards.entries()) {
    if (r.file !== first.file || r.settings !== first.settings || r.shard!.count !== count)
      throw new UsageError(`${files[i]}: a shard of another check (file, options or shard count differ)`);
    if (seen.has(r.shard!.index)) throw new UsageError(`${files[i]}: shard ${r.shard!.index} given twice`);
    seen.add(r.shard!.index);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) throw new UsageError(`--merge: shard(s) ${missing.join(', ')} of ${count} missing`);
  const results = first.results.map((r0, k) =>
    mergeResults(
      shards.map((s) => s.results[k]),
      r0,
    ),
  );
  const report: CheckReport = { format: 'mmsim-check', version: 1, file: first.file, results };
  if (values.json === true) io.out(`${JSON.stringify(report, null, 1)}\n`);
  else io.out(formatReport(report, io.stdoutIsTty));
  return results.some((r) => r.counterexamples.length > 0) ? 1 : 0;
}

function mergeResults(parts: readonly ShardResult[], r0: ShardResult) {
  const states = new Set<string>();
  for (const p of parts) for (const h of p.finalStateHashes) states.add(h);
  const best = new Map<string, Counterexample>();
  for (const p of parts)
    for (const c of p.counterexamples) {
      const key = problemName(c);
      const b = best.get(key);
      if (b === undefined || betterCounterexample(c, b)) best.set(key, c);
    }
  const stopped = parts.find((p) => !p.complete);
  return {
    kernel: r0.kernel,
    complete: stopped === undefined,
    ...(stopped?.stoppedBy !== undefined ? { stoppedBy: stopped.stoppedBy } : {}),
    executions: parts.reduce((n, p) => n + p.executions, 0),
    finalStates: states.size,
    counterexamples: [...best.values()].sort((a, b) => (problemName(a) < problemName(b) ? -1 : 1)),
  };
}

function betterCounterexample(a: Counterexample, b: Counterexample): boolean {
  return betterProblem(
    {
      key: '',
      kind: a.problem.kind,
      message: '',
      decisions: [],
      preemptions: a.preemptions,
      offending: a.offending,
    },
    {
      key: '',
      kind: b.problem.kind,
      message: '',
      decisions: [],
      preemptions: b.preemptions,
      offending: b.offending,
    },
  )
    ? true
    : a.preemptions === b.preemptions && a.offending === b.offending && a.schedule < b.schedule;
}
