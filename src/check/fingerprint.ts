/**
 * A digest of everything a kernel path can observe in a World — page tables, vmas, locks, frames, CPU
 * TLBs, every secondary MMU's translations and sequence counts, the counters — and of where each
 * thread is paused. Two equal digests within one execution mean the execution came back to the same
 * state: the livelock detector's test (check/livelock.ts). Effort counters that a retry loop bumps on
 * every turn (a secondary's faults, retries, stuck writes) are left out, so they do not hide a cycle;
 * every other counter is in, so progress anywhere (ksmd scanning a page, a notifier call) breaks it.
 */

import { vpnOf } from '../hw/page.js';
import { ptePfn, pteSpecial } from '../hw/pte.js';
import type { Mm } from '../mm/mm.js';
import type { Vma } from '../mm/vma.js';
import { secondaryKinds } from '../scenario/secondary-kinds.js';
import type { World } from '../scenario/world.js';
import type { Pause } from '../sim/exec.js';
import { SumDigest, stringHash } from '../sim/hash.js';
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

/** Item tags of the world's digest: one per kind of item. */
const Item = {
  Thread: 1,
  Counter: 2,
  Violations: 3,
  MmState: 4,
  MmapLockOwner: 5,
  MmapLockReaders: 6,
  PtlOwner: 7,
  Vma: 8,
  Pte: 9,
  TlbEntry: 10,
  FrameState: 11,
  FrameRefcount: 12,
  FrameMapcount: 13,
  SecondaryRetryState: 14,
  Translation: 15,
} as const;

const names = new Map<string, number>();
/** A name's hash, remembered (the same few names come back at every transition). */
function nameHash(s: string): number {
  let h = names.get(s);
  if (h === undefined) {
    h = stringHash(s);
    names.set(s, h);
  }
  return h;
}

let isEffort: ((name: string) => boolean) | null = null;
const counterHashes = new Map<string, number>();
/** A counter's name hash, or 0 for an effort counter (left out); remembered per name. */
function counterHash(name: string): number {
  let h = counterHashes.get(name);
  if (h === undefined) {
    isEffort ??= effortCounter();
    h = isEffort(name) ? 0 : stringHash(name) || 1;
    counterHashes.set(name, h);
  }
  return h;
}

/**
 * The world's digest as a sum of items (sim/hash.ts SumDigest): two equal digests within one execution
 * mean it came back to the same state (the livelock detector), and the digest after a transition minus
 * the one before is that transition's own change (check/search.ts: whether a retry's attempt changed
 * anything, whatever other threads did meanwhile).
 */
export function worldDigest(w: World, threads: readonly Thread[]): SumDigest {
  const d = new SumDigest();
  const k = w.kernel;
  for (let i = 0; i < threads.length; i++)
    d.item(Item.Thread, i, nameHash(pauseText(threads[i].paused, threads[i].done)));
  k.counters.forEach((name, value) => {
    const h = counterHash(name);
    if (h !== 0) d.count(Item.Counter, h, 0, value);
  });
  d.count(Item.Violations, 0, 0, w.violations.length);
  const f = k.frames;
  const pfns = new Set<number>();
  for (const mm of k.mms.values()) {
    d.item(Item.MmState, mm.id, (mm.exiting ? 1 : 0) + (mm.dead ? 2 : 0));
    d.item(Item.MmapLockOwner, mm.id, nameHash(mm.mmapLock.owner?.name ?? ''));
    d.count(Item.MmapLockReaders, mm.id, 0, mm.mmapLock.readers);
    d.item(Item.PtlOwner, mm.id, nameHash(mm.ptl.owner?.name ?? ''));
    visitMappings(w, mm, {
      vma: (vma) => d.item(Item.Vma, mm.id, vma.start, vma.end, vma.flags),
      pte: (vpn, pte) => {
        d.item(Item.Pte, mm.id, vpn, pte);
        if (!pteSpecial(pte)) pfns.add(ptePfn(pte));
      },
      tlb: (cpu, vpn, pte) => d.item(Item.TlbEntry, cpu, mm.id, vpn, pte),
    });
  }
  for (const pfn of pfns) {
    d.item(Item.FrameState, pfn, f.raw.flags[pfn], f.raw.content[pfn]);
    d.count(Item.FrameRefcount, pfn, 0, f.raw.refcount[pfn]);
    d.count(Item.FrameMapcount, pfn, 0, f.mapcount(pfn));
  }
  for (const view of w.secondaries()) {
    const name = nameHash(view.name);
    const retry = view.retryState?.() ?? [];
    for (let i = 0; i < retry.length; i++) d.count(Item.SecondaryRetryState, name, i, retry[i]);
    for (const t of view.translations()) d.item(Item.Translation, name, t.address, t.pfn, t.writable ? 1 : 0);
  }
  return d;
}

/** worldDigest as text. */
export function worldFingerprint(w: World, threads: readonly Thread[]): string {
  return worldDigest(w, threads).hex();
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

/** What one walk of an mm's mappings visits (visitMappings). */
export interface MappingVisitor {
  vma(vma: Vma): void;
  /** Each pte that is not none in the vma just visited, in address order. */
  pte(vpn: number, pte: number): void;
  /** Each CPU TLB's entries for the mm, after its vmas. */
  tlb(cpu: number, vpn: number, pte: number): void;
}

/**
 * One walk of an mm's vmas, their ptes and the CPU TLB entries for it: the livelock digest's and the
 * final-state hash's (check/final-state.ts), which must see the same mappings.
 */
export function visitMappings(w: World, mm: Mm, v: MappingVisitor): void {
  for (const vma of mm.vmas) {
    v.vma(vma);
    mm.pt.forEachMapped(vpnOf(vma.start), vpnOf(vma.end), v.pte);
  }
  const tlbs = w.kernel.machine.tlbs;
  for (let cpu = 0; cpu < tlbs.length; cpu++) tlbs[cpu].forEach(mm.id, (vpn, pte) => v.tlb(cpu, vpn, pte));
}
