/**
 * mmap(2), munmap(2), mprotect(2) and madvise(2) for anonymous memory (mm/mmap.c, mm/mprotect.c,
 * mm/madvise.c, v5.0). Each takes mmap_sem as the kernel does and is a path.
 */

import { PG_ANON, PG_ANON_EXCLUSIVE } from '../hw/frames.js';
import { PAGE_SIZE, vpnAddress, vpnOf } from '../hw/page.js';
import {
  mkPte,
  PTE_ACCESSED,
  PTE_DIRTY,
  PTE_SOFT_DIRTY,
  PTE_SPECIAL,
  pteBits,
  pteMkwrite,
  ptePfn,
  pteProtnone,
  pteSpecial,
  pteWrite,
} from '../hw/pte.js';
import { type Agent, lock, lockShared, type Path, unlock, unlockShared } from '../sim/exec.js';
import type { Errno, Kernel } from './kernel.js';
import type { KsmHooks } from './ksm-port.js';
import type { Mm } from './mm.js';
import {
  MMU_NOTIFIER_USE_CHANGE_PTE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_UNMAP,
} from './notifier-port.js';
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './notify.js';
import { ShmemObject } from './shmem.js';
import {
  VM_ACCOUNT,
  VM_EXEC,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  Vma,
  vmFlagsFor,
} from './vma.js';
import { zapPageRange } from './zap.js';

/** mmap_base with ASLR off on x86-64 (below an 8 MiB stack gap): mappings are placed top-down from here. */
export const MMAP_BASE = 0x7fff_f7ff_f000;
/** The lowest address get_unmapped_area hands out. */
export const MMAP_MIN = 0x1_0000;
/** TASK_SIZE on x86-64 with 4-level paging. */
export const TASK_SIZE = 0x7fff_ffff_f000;

export interface Prot {
  read: boolean;
  write: boolean;
  exec: boolean;
}

export function parseProt(s: string): Prot | undefined {
  if (s === 'none') return { read: false, write: false, exec: false };
  if (!/^r?w?x?$/.test(s) || s === '') return undefined;
  return { read: s.includes('r'), write: s.includes('w'), exec: s.includes('x') };
}

function pageAligned(x: number): boolean {
  return Number.isInteger(x) && x % PAGE_SIZE === 0;
}

/** get_unmapped_area, top-down (arch_get_unmapped_area_topdown): the highest gap of `len` bytes below MMAP_BASE. */
function getUnmappedArea(mm: Mm, len: number): number {
  let end = MMAP_BASE;
  for (let i = mm.vmas.length - 1; i >= 0; i--) {
    const v = mm.vmas[i];
    if (v.start >= end) continue;
    if (v.end <= end - len) break;
    end = v.start;
  }
  return end - len >= MMAP_MIN ? end - len : -1;
}

/** do_mmap for MAP_ANONYMOUS (| MAP_SHARED), optionally MAP_FIXED_NOREPLACE at `at`. */
export function* doMmap(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  len: number,
  prot: Prot,
  opts: { at?: number; shared?: boolean } = {},
): Path<number | Errno> {
  if (len <= 0 || !Number.isFinite(len)) return 'EINVAL';
  len = Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  yield* lock(agent, mm.mmapLock);
  try {
    let addr: number;
    if (opts.at !== undefined) {
      if (!pageAligned(opts.at) || opts.at + len > TASK_SIZE || opts.at < PAGE_SIZE) return 'EINVAL';
      addr = opts.at;
      for (const v of mm.vmas) if (v.start < addr + len && v.end > addr) return 'EEXIST';
    } else {
      addr = getUnmappedArea(mm, len);
      if (addr < 0) return 'ENOMEM';
    }
    const shared = opts.shared === true;
    let shmem: ShmemObject | null = null;
    if (shared) {
      shmem = new ShmemObject(k.nextShmem++);
      shmem.users = 1;
    }
    const vma = new Vma(k.newVmaId(), mm, addr, addr + len, vmFlagsFor(prot, shared), null, shmem, 0);
    mm.insertVma(vma);
    vmaMerge(k, vma); // mmap_region: a neighbour with the same flags grows over the new range instead
    return addr;
  } finally {
    unlock(agent, mm.mmapLock);
  }
}

/** Split vmas so that `addr` is a boundary (__split_vma); both halves share anon_vma and shmem. */
export function splitVmaAt(k: Kernel, mm: Mm, addr: number): void {
  const v = mm.findVma(addr);
  if (v === undefined || v.start === addr) return;
  const tail = new Vma(
    k.newVmaId(),
    mm,
    addr,
    v.end,
    v.flags,
    v.anonVma,
    v.shmem,
    v.shmemPgoff + (addr - v.start) / PAGE_SIZE,
  );
  v.end = addr;
  tail.anonId = v.anonId;
  tail.forkChild = v.forkChild;
  if (tail.anonVma !== null) tail.anonVma.join(tail);
  if (tail.shmem !== null) tail.shmem.users++;
  mm.insertVma(tail);
}

/**
 * May `src` (a vma just created or changed) merge with its neighbour `tgt` as far as anon_vmas go?
 * v5.0's is_mergeable_anon_vma (mm/mmap.c) lets only the neighbour bring an anon_vma, and only one that
 * is not a fork child's; v6.16's 879bca0a2c4f ("mm/vma: fix incorrectly disallowed anonymous VMA
 * merges", mm/vma.c is_mergeable_anon_vma in v6.18) lets either side bring it on the same condition.
 */
function anonMergeable(k: Kernel, src: Vma, tgt: Vma): boolean {
  if (src.anonId === tgt.anonId) return true; // neither has one, or they share it (halves of one vma)
  if (src.anonId !== 0 && tgt.anonId !== 0) return false;
  if (src.anonId === 0) return !tgt.forkChild;
  return k.profile.vmaMergeFaultedNextToUnfaulted && !src.forkChild;
}

/** is_mergeable_vma for adjacent `lo` and `hi`: same flags, and the same shmem object at the next offset. */
function flagsMergeable(lo: Vma, hi: Vma): boolean {
  return (
    lo.end === hi.start &&
    lo.flags === hi.flags &&
    lo.shmem === hi.shmem &&
    (lo.shmem === null || hi.shmemPgoff === lo.shmemPgoff + lo.pages)
  );
}

/** `keep` grows over its neighbour `gone`, taking its anon_vma if it has none (dup_anon_vma), and `gone` goes. */
function absorb(k: Kernel, keep: Vma, gone: Vma): void {
  if (gone.start < keep.start) {
    keep.start = gone.start;
    keep.shmemPgoff = gone.shmemPgoff;
  } else keep.end = gone.end;
  if (keep.anonVma === null && gone.anonVma !== null) {
    keep.anonVma = gone.anonVma;
    keep.anonVma.join(keep);
    keep.anonId = gone.anonId;
    keep.forkChild = gone.forkChild;
  }
  removeVma(k, gone);
}

/**
 * vma_merge (mm/mmap.c v5.0; vma_merge_new_range / vma_merge_existing_range, mm/vma.c v6.18) after
 * `vma` was created or changed: it joins its neighbours where flags, shmem object and anon_vmas allow
 * (both at once only if their anon_vmas are compatible). Returns the vma that now covers its range.
 * What the oracle sees of it: fork copies the ptes of a vma with an anon_vma, so zero-page ptes of a
 * range merged into a faulted vma are copied (found by the oracle's fuzzer).
 */
export function vmaMerge(k: Kernel, vma: Vma): Vma {
  const vmas = vma.mm.vmas;
  const i = vmas.indexOf(vma);
  const prev = i > 0 ? vmas[i - 1] : undefined;
  const next = i + 1 < vmas.length ? vmas[i + 1] : undefined;
  const left = prev !== undefined && flagsMergeable(prev, vma) && anonMergeable(k, vma, prev);
  const right = next !== undefined && flagsMergeable(vma, next) && anonMergeable(k, vma, next);
  if (left && right && (prev.anonId === 0 || next.anonId === 0 || prev.anonId === next.anonId)) {
    absorb(k, prev, vma);
    absorb(k, prev, next);
    return prev;
  }
  if (left) {
    absorb(k, prev, vma);
    return prev;
  }
  if (right) {
    absorb(k, next, vma);
    return next;
  }
  return vma;
}

/**
 * The vma_modify_flags pattern of mprotect_fixup and madvise_update_vma: a vma in [start, end) whose
 * flags would not change is left alone (no split); one that changes is split at the range's ends, `change`
 * runs on the piece (it sets the flags), and the piece merges with its neighbours where it can.
 */
function* modifyFlags(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  flagsOf: (v: Vma) => number,
  change: (v: Vma, flags: number) => Path<Errno | null>,
): Path<Errno | null> {
  for (const v of mm.vmas.filter((x) => x.start < end && x.end > start)) {
    if (!mm.vmas.includes(v) || flagsOf(v) === v.flags) continue;
    const from = Math.max(start, v.start);
    const to = Math.min(end, v.end);
    splitVmaAt(k, mm, from);
    splitVmaAt(k, mm, to);
    const piece = mm.findVma(from)!;
    const err = yield* change(piece, flagsOf(piece));
    if (err !== null) return err;
    vmaMerge(k, piece);
  }
  return null;
}

/** The vmas overlapping [start, end), after splitting at both ends. */
function vmasIn(k: Kernel, mm: Mm, start: number, end: number): Vma[] {
  splitVmaAt(k, mm, start);
  splitVmaAt(k, mm, end);
  return mm.vmas.filter((v) => v.start >= start && v.end <= end);
}

/** Drop a vma from its mm, its anon_vma and its shmem object (remove_vma). */
export function removeVma(k: Kernel, vma: Vma): void {
  vma.mm.removeVma(vma);
  if (vma.anonVma !== null) {
    vma.anonVma.leave(vma);
    k.anonVmas.prune(vma.anonVma);
  }
  if (vma.shmem !== null && --vma.shmem.users === 0) {
    for (const pfn of vma.shmem.pages.values()) k.putPage(pfn);
    vma.shmem.pages.clear();
  }
}

/** do_munmap (mm/mmap.c v5.0): unmap_region with event UNMAP, then the vmas go. */
export function* doMunmap(k: Kernel, agent: Agent, mm: Mm, start: number, len: number): Path<Errno | null> {
  if (!pageAligned(start) || len <= 0) return 'EINVAL';
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  if (end > TASK_SIZE) return 'EINVAL';
  yield* lock(agent, mm.mmapLock);
  try {
    const vmas = vmasIn(k, mm, start, end);
    if (vmas.length === 0) return null;
    yield* zapPageRange(k, agent, mm, vmas, start, end, MMU_NOTIFY_UNMAP, 'unmap_region');
    for (const v of vmas) removeVma(k, v);
    return null;
  } finally {
    unlock(agent, mm.mmapLock);
  }
}

/**
 * change_pte_range's pte_modify: keep pfn, accessed, dirty, soft-dirty, special; take the new prot
 * (PROT_NONE's is _PAGE_PROTNONE: the page stays mapped, every access faults).
 */
function pteModify(pte: number, prot: number): number {
  const keep = pteBits(pte) & (PTE_ACCESSED | PTE_DIRTY | PTE_SOFT_DIRTY | PTE_SPECIAL);
  return mkPte(ptePfn(pte), prot | keep);
}

/**
 * mprotect(2): do_mprotect_pkey → mprotect_fixup → change_protection inside a PROTECTION_VMA range
 * (mm/mprotect.c v5.0). Vmas are changed in address order; a hole stops the walk with ENOMEM, leaving
 * the vmas before it changed (as the kernel does).
 */
export function* doMprotect(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  start: number,
  len: number,
  prot: Prot,
): Path<Errno | null> {
  if (!pageAligned(start) || len < 0) return 'EINVAL';
  if (len === 0) return null;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  yield* lock(agent, mm.mmapLock);
  try {
    // how far from start the range is mapped without a hole
    let cursor = start;
    for (const v of mm.vmas) {
      if (v.end <= cursor) continue;
      if (v.start > cursor || cursor >= end) break;
      cursor = v.end;
    }
    const mappedEnd = Math.min(cursor, end);
    const result: Errno | null = mappedEnd < end ? 'ENOMEM' : null;
    if (mappedEnd === start) return result;
    const access = vmFlagsFor(prot, false) & (VM_READ | VM_WRITE | VM_EXEC);
    const flagsOf = (v: Vma): number => {
      const f = (v.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | access;
      // mprotect_fixup: a private vma turning writable is charged (VM_ACCOUNT, kept when write goes);
      // since 2023 an unfaulted anonymous one turning read-only is uncharged again
      if (f & VM_WRITE) return v.flags & (VM_ACCOUNT | VM_WRITE | VM_SHARED) ? f : f | VM_ACCOUNT;
      if (k.profile.mprotectUnaccountsUnfaulted && v.shmem === null && v.anonVma === null)
        return f & ~VM_ACCOUNT;
      return f;
    };
    yield* modifyFlags(k, mm, start, mappedEnd, flagsOf, function* (vma, newFlags) {
      vma.flags = newFlags;
      const range = mmuNotifierRangeInit(
        'change_protection',
        MMU_NOTIFY_PROTECTION_VMA,
        k.profile.useChangePteFlagAt.changeProtection ? MMU_NOTIFIER_USE_CHANGE_PTE : 0,
        vma,
        mm,
        vma.start,
        vma.end,
      );
      yield* mmuNotifierInvalidateRangeStart(k, agent, range);
      yield* lock(agent, mm.ptl);
      const prot2 = vma.pageProt();
      const changes: { vpn: number; pte: number }[] = [];
      // 64fe24a3e05e (v6.0) can_change_pte_writable: in a private writable vma, a pte of an exclusive
      // anonymous page becomes writable now (its write fault would only reuse the page)
      const upgrade =
        k.profile.mprotectMakesExclusiveWritable && (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
      mm.pt.forEachMapped(vpnOf(vma.start), vpnOf(vma.end), (vpn, pte) => {
        let next = pteModify(pte, prot2 | PTE_ACCESSED);
        if (upgrade && !pteWrite(next) && !pteProtnone(next) && !pteSpecial(next)) {
          const fl = k.frames.flagsOf(ptePfn(next));
          if (fl & PG_ANON && fl & PG_ANON_EXCLUSIVE) next = pteMkwrite(next);
        }
        if (next !== pte) changes.push({ vpn, pte: next });
      });
      for (const c of changes) k.writePte(agent, mm, vpnAddress(c.vpn), c.pte, 'change_pte_range');
      unlock(agent, mm.ptl);
      if (changes.length > 0) yield* k.flushTlbRange(agent, mm, vma.start, vma.end);
      yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
      return null;
    });
    return result;
  } finally {
    unlock(agent, mm.mmapLock);
  }
}

export type Advice = 'mergeable' | 'unmergeable' | 'dontneed' | 'nohugepage';

/**
 * madvise(2) (mm/madvise.c v5.0; MADV_MERGEABLE/UNMERGEABLE through ksm_madvise). A length of zero does
 * nothing; the advice applies to the mapped parts of the range, and any hole makes the result ENOMEM.
 */
export function* doMadvise(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  start: number,
  len: number,
  advice: Advice,
  ksm: KsmHooks | null,
): Path<Errno | null> {
  if (!pageAligned(start) || len < 0) return 'EINVAL';
  if (len === 0) return null;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  const exclusive = advice !== 'dontneed'; // madvise_need_mmap_write
  if (exclusive) yield* lock(agent, mm.mmapLock);
  else yield* lockShared(agent, mm.mmapLock);
  try {
    const covered = mm.vmas.filter((v) => v.start < end && v.end > start);
    if (covered.length === 0) return 'ENOMEM';
    let mapped = 0;
    for (const v of covered) mapped += Math.min(end, v.end) - Math.max(start, v.start);
    const unmapped: Errno | null = mapped < end - start ? 'ENOMEM' : null;
    switch (advice) {
      case 'dontneed': {
        // MADV_DONTNEED: zap_page_range; anonymous memory reads back as zeroes afterwards
        yield* zapPageRange(k, agent, mm, covered, start, end, MMU_NOTIFY_CLEAR, 'zap_page_range');
        return unmapped;
      }
      case 'nohugepage': {
        const err = yield* modifyFlags(
          k,
          mm,
          start,
          end,
          (v) => v.flags | VM_NOHUGEPAGE,
          function* (v, flags) {
            v.flags = flags;
            return null;
          },
        );
        return err ?? unmapped;
      }
      case 'mergeable': {
        // ksm_madvise: KSM merges private anonymous memory only; a shared vma keeps its flags
        const flagsOf = (v: Vma): number => (v.flags & VM_SHARED ? v.flags : v.flags | VM_MERGEABLE);
        const err = yield* modifyFlags(k, mm, start, end, flagsOf, function* (v, flags) {
          if (ksm !== null) {
            const e = yield* ksm.madviseMergeable(agent, v);
            if (e !== null) return e;
          }
          v.flags = flags;
          return null;
        });
        return err ?? unmapped;
      }
      case 'unmergeable': {
        const err = yield* modifyFlags(
          k,
          mm,
          start,
          end,
          (v) => v.flags & ~VM_MERGEABLE,
          function* (v, flags) {
            if (ksm !== null) {
              const e = yield* ksm.madviseUnmergeable(agent, v, v.start, v.end);
              if (e !== null) return e;
            }
            v.flags = flags;
            return null;
          },
        );
        return err ?? unmapped;
      }
    }
    return null;
  } finally {
    if (exclusive) unlock(agent, mm.mmapLock);
    else unlockShared(mm.mmapLock);
  }
}
