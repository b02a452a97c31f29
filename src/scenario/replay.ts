/**
 * Replaying a run: the run-length schedule form ("0*5,1*2,0*30", the thread chosen at every pause) and
 * the command line that reproduces a run exactly.
 */
import { type KernelName, type ProfileOverrides, profileSettings } from '../kernel/profiles.js';

/** "0*5,1*2,0" -> [0,0,0,0,0,1,1,0]. */
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
