/**
 * A digest of everything a kernel path can observe in a World — page tables, vmas, locks, frames, CPU
 * TLBs, every secondary MMU's translations and sequence counts, the counters — and of where each
 * thread is paused. Two equal digests within one execution mean the execution came back to the same
 * state: the livelock detector's test (check/livelock.ts). Effort counters that a retry loop bumps on
 * every turn (a secondary's faults, retries, stuck writes) are left out, so they do not hide a cycle;
 * every other counter is in, so progress anywhere (ksmd scanning a page, a notifier call) breaks it.
 */

import { PAGE_SIZE } from '../hw/page.js';
import { ptePfn, pteSpecial } from '../hw/pte.js';
import type { Mm } from '../mm/mm.js';
import { secondaryKinds } from '../scenario/secondary-kinds.js';
import type { World } from '../scenario/world.js';
import type { Pause } from '../sim/exec.js';
import { Digest } from '../sim/hash.js';
import type { Thread } from '../sim/scheduler.js';
import type { LivelockDecision } from './livelock.js';

/** Is `name` (`FAMILY.NAME.counter`) an effort counter its kind declares? */
function effortCounter(): (name: string) => boolean {
  const effort = new Map(secondaryKinds().map((k) => [k.counters.group, k.counters.effort]));
  return (name) => {
    const parts = name.split('.');
    return parts.length === 3 && (effort.get(parts[0])?.includes(parts[2]) ?? false);
  };
}

function pauseText(p: Pause | null, done: boolean): string {
  if (done) return 'done';
  if (p === null) return 'start';
  if (p.kind === 'preempt') return p.label;
  if (p.kind === 'lock-wait') return `lock ${p.lock.name}`;
  return `wait ${p.label}`;
}

export function worldFingerprint(w: World, threads: readonly Thread[]): string {
  const d = new Digest();
  const k = w.kernel;
  for (const t of threads) d.string(pauseText(t.paused, t.done));
  const isEffort = effortCounter();
  for (const [name, value] of Object.entries(k.counters.snapshot())) {
    if (isEffort(name)) continue;
    d.string(name);
    d.number(value);
  }
  d.number(w.violations.length);
  const f = k.frames;
  const pfns = new Set<number>();
  for (const mm of [...k.mms.values()].sort((a, b) => a.id - b.id)) {
    d.number(mm.id);
    d.number((mm.exiting ? 1 : 0) + (mm.dead ? 2 : 0));
    d.string(mm.mmapLock.owner?.name ?? '');
    d.number(mm.mmapLock.readers);
    d.string(mm.ptl.owner?.name ?? '');
    digestMappings(d, w, mm, pfns);
  }
  for (const pfn of [...pfns].sort((a, b) => a - b)) {
    d.number(pfn);
    d.number(f.raw.refcount[pfn]);
    d.number(f.mapcount(pfn));
    d.number(f.raw.flags[pfn]);
    d.number(f.raw.content[pfn]);
  }
  for (const view of w.secondaries()) {
    d.string(view.name);
    for (const n of view.retryState?.() ?? []) d.number(n);
    for (const t of view.translations()) {
      d.number(t.address);
      d.number(t.pfn);
      d.number(t.writable ? 1 : 0);
    }
  }
  return d.hex();
}

/** The livelock detector's record of one decision (check/livelock.ts): who ran, from where, and the state. */
export function livelockDecision(
  world: World | null,
  ready: readonly Thread[],
  all: readonly Thread[],
  chosen: Thread,
  fingerprint: () => string = () => worldFingerprint(world!, all),
): LivelockDecision {
  const retrying: number[] = [];
  all.forEach((t, i) => {
    if (!t.done && t.paused?.kind === 'preempt' && t.paused.retry === true) retrying.push(i);
  });
  const p = chosen.paused;
  return {
    thread: all.indexOf(chosen),
    enabled: ready.map((t) => all.indexOf(t)),
    retrying,
    label: p === null ? 'start' : p.kind === 'lock-wait' ? `lock ${p.lock.name}` : p.label,
    state: retrying.length > 0 && world !== null ? fingerprint() : undefined,
  };
}

/** An mm's vmas, ptes and CPU TLB entries into `d`; the frames its ptes map into `pfns` (check/final-state.ts too). */
export function digestMappings(d: Digest, w: World, mm: Mm, pfns: Set<number>): void {
  for (const vma of mm.vmas) {
    d.number(vma.start);
    d.number(vma.end);
    d.number(vma.flags);
    mm.pt.forEachMapped(vma.start / PAGE_SIZE, vma.end / PAGE_SIZE, (vpn, pte) => {
      d.number(vpn);
      d.number(pte);
      if (!pteSpecial(pte)) pfns.add(ptePfn(pte));
    });
  }
  for (const tlb of w.kernel.machine.tlbs) {
    tlb.forEach(mm.id, (vpn, pte) => {
      d.number(vpn);
      d.number(pte);
    });
  }
}
