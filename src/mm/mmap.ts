/**
 * mmap(2), munmap(2), mprotect(2) and madvise(2) for anonymous memory (mm/mmap.c, mm/mprotect.c,
 * mm/madvise.c, v5.0). Each takes mmap_sem as the kernel does and is a path.
 */
import { PAGE_SIZE } from '../hw/page.js';
import { mkPte, PTE_ACCESSED, PTE_DIRTY, PTE_SOFT_DIRTY, PTE_SPECIAL, pteBits, ptePfn } from '../hw/pte.js';
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
    mm.insertVma(new Vma(k.newVmaId(), mm, addr, addr + len, vmFlagsFor(prot, shared), null, shmem, 0));
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
  if (tail.anonVma !== null) tail.anonVma.members.add(tail);
  if (tail.shmem !== null) tail.shmem.users++;
  mm.insertVma(tail);
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
    vma.anonVma.members.delete(vma);
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
    for (const vma of vmasIn(k, mm, start, mappedEnd)) {
      const newFlags =
        (vma.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) |
        (vmFlagsFor(prot, false) & (VM_READ | VM_WRITE | VM_EXEC));
      if (newFlags === vma.flags) continue;
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
      mm.pt.forEachMapped(vma.start / PAGE_SIZE, vma.end / PAGE_SIZE, (vpn, pte) => {
        const next = pteModify(pte, prot2 | PTE_ACCESSED);
        if (next !== pte) changes.push({ vpn, pte: next });
      });
      for (const c of changes) k.writePte(agent, mm, c.vpn * PAGE_SIZE, c.pte, 'change_pte_range');
      unlock(agent, mm.ptl);
      if (changes.length > 0) yield* k.flushTlbRange(agent, mm, vma.start, vma.end);
      yield* mmuNotifierInvalidateRangeEnd(k, agent, range);
    }
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
        for (const v of vmasIn(k, mm, start, end)) v.flags |= VM_NOHUGEPAGE;
        return unmapped;
      }
      case 'mergeable': {
        for (const v of vmasIn(k, mm, start, end)) {
          if (v.flags & VM_SHARED || v.flags & VM_MERGEABLE) continue; // KSM merges private anonymous memory only
          if (ksm !== null) {
            const err = yield* ksm.madviseMergeable(agent, v);
            if (err !== null) return err;
          }
          v.flags |= VM_MERGEABLE;
        }
        return unmapped;
      }
      case 'unmergeable': {
        for (const v of vmasIn(k, mm, start, end)) {
          if (!(v.flags & VM_MERGEABLE)) continue;
          if (ksm !== null) {
            const err = yield* ksm.madviseUnmergeable(agent, v, v.start, v.end);
            if (err !== null) return err;
          }
          v.flags &= ~VM_MERGEABLE;
        }
        return unmapped;
      }
    }
    return null;
  } finally {
    if (exclusive) unlock(agent, mm.mmapLock);
    else unlockShared(mm.mmapLock);
  }
}
