/**
 * Replaying a run: the run-length schedule form ("0*5,1*2,0*30", the thread chosen at every pause) and
 * the command line that reproduces a run exactly.
 */
import { type KernelName, type ProfileOverrides, profileSettings } from '../kernel/profiles.js';

/** One run of a schedule: `thread` chosen `count` times in a row. */
export interface ScheduleRun {
  thread: number;
  count: number;
}

/** More pauses than any run can have (a run stops long before: see the step limit). */
export const MAX_SCHEDULE_PAUSES = 1_000_000_000;

/**
 * "0*5,1*2,0" -> runs [{0,5},{1,2},{0,1}], never expanded. A string error says what is wrong: the form,
 * a thread index not below `threads` (the most threads any parallel step has), or a total count past
 * MAX_SCHEDULE_PAUSES.
 */
export function parseSchedule(text: string, threads: number): ScheduleRun[] | string {
  const runs: ScheduleRun[] = [];
  let total = 0;
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:\*(\d+))?$/.exec(part.trim());
    if (!m) return `expected thread indices with repeat counts like 0*5,1*2,0, got '${part}'`;
    const thread = Number(m[1]);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    if (thread >= threads)
      return threads === 0
        ? 'the scenario has no parallel step, so there is nothing to schedule'
        : `thread ${m[1]} does not exist: the scenario's parallel steps have at most ${threads} thread${threads === 1 ? '' : 's'} (0..${threads - 1})`;
    if (count < 1) return `a repeat count must be at least 1, got '${part}'`;
    total += count;
    if (total > MAX_SCHEDULE_PAUSES)
      return `the schedule chooses more than ${MAX_SCHEDULE_PAUSES.toLocaleString('en-US')} times, more than any run pauses`;
    runs.push({ thread, count });
  }
  return runs;
}

/** "0*5,1*2,0" -> [0,0,0,0,0,1,1,0] (for tests and small schedules; bad parts are skipped). */
export function expandSchedule(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:\*(\d+))?\s*$/.exec(part);
    if (!m) continue;
    for (let i = 0; i < Number(m[2] ?? 1); i++) out.push(Number(m[1]));
  }
  return out;
}

/** [0,0,0,1,1,0] -> "0*3,1*2,0". */
export function compressSchedule(decisions: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < decisions.length; ) {
    let j = i;
    while (j < decisions.length && decisions[j] === decisions[i]) j++;
    parts.push(j - i > 1 ? `${decisions[i]}*${j - i}` : `${decisions[i]}`);
    i = j;
  }
  return parts.join(',');
}

export interface ReplaySettings {
  file: string;
  kernel: KernelName;
  seed: number;
  /** The thread chosen at every pause, when the run followed a schedule (--schedule, --explore). */
  decisions?: readonly number[];
  interleave?: number;
  profileOverrides?: ProfileOverrides;
}

/** The command line that reproduces this run exactly. */
export function replayCommand(r: ReplaySettings): string {
  const parts = ['mmsim run', r.file, '--kernel', r.kernel, '--seed', String(r.seed)];
  if (r.decisions !== undefined) parts.push('--schedule', compressSchedule(r.decisions));
  else if (r.interleave !== undefined) parts.push('--interleave', String(r.interleave));
  for (const setting of profileSettings(r.profileOverrides)) parts.push('--set', setting);
  parts.push('--steps');
  return parts.join(' ');
}
