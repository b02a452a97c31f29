/** Unit tests of the primary-MMU modules: vma, mm, mmap, kernel primitives, access, memory, gup, fork, exit. */
import { describe, expect, it } from 'vitest';
import { ZERO_CONTENT } from '../../src/hw/content.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, ZERO_PFN } from '../../src/hw/frames.js';
import {
  mkPte,
  PTE_ACCESSED,
  PTE_DIRTY,
  PTE_NX,
  PTE_PRESENT,
  PTE_PROTNONE,
  PTE_RW,
  PTE_USER,
  pteAccessible,
  ptePresent,
  pteProtnone,
} from '../../src/hw/pte.js';
import { translate, userAccess } from '../../src/mm/access.js';
import { AnonVmaRegistry } from '../../src/mm/anon-vma.js';
import { followPage, getUserPages, putUserPages } from '../../src/mm/gup.js';
import { Task } from '../../src/mm/kernel.js';
import { Mm } from '../../src/mm/mm.js';
import { MMAP_BASE, parseProt, TASK_SIZE } from '../../src/mm/mmap.js';
import { pageLock } from '../../src/mm/page-lock.js';
import {
  formatVmFlags,
  VM_DONTFORK,
  VM_EXEC,
  VM_MAYWRITE,
  VM_READ,
  VM_SHARED,
  Vma,
  vmFlagsFor,
} from '../../src/mm/vma.js';
import { type Agent, type Path, type Pause, resume, runToCompletion, unlock } from '../../src/sim/exec.js';
import { addr, harness, PAGE } from './helpers.js';

/** Step a path until it pauses at a preemption point with this label (or a lock wait); returns that pause. */
function runUntil<R>(path: Path<R>, stop: (p: Pause) => boolean): Pause {
  for (;;) {
    const r = resume(path);
    if (r.done === true) throw new Error('the path finished before the expected pause');
    if (stop(r.value)) return r.value;
    if (r.value.kind === 'lock-wait') throw new Error(`unexpected wait on ${r.value.lock.name}`);
  }
}

describe('vma and prot', () => {
  it('parseProt accepts r?w?x? and none', () => {
    expect(parseProt('rw')).toEqual({ read: true, write: true, exec: false });
    expect(parseProt('rwx')).toEqual({ read: true, write: true, exec: true });
    expect(parseProt('x')).toEqual({ read: false, write: false, exec: true });
    expect(parseProt('none')).toEqual({ read: false, write: false, exec: false });
    for (const bad of ['', 'wr', 'rr', 'q', 'RW']) expect(parseProt(bad)).toBeUndefined();
  });

  it('vm_page_prot: private writable starts read-only; shared writable is RW; exec clears NX; none is PAGE_NONE (protnone)', () => {
    const mm = new Mm(1, 'p');
    const vma = (prot: string, shared: boolean): Vma =>
      new Vma(1, mm, 0, PAGE, vmFlagsFor(parseProt(prot)!, shared), null, null, 0);
    expect(vma('rw', false).pageProt()).toBe(PTE_PRESENT | PTE_USER | PTE_NX);
    expect(vma('rw', true).pageProt()).toBe(PTE_PRESENT | PTE_USER | PTE_NX | PTE_RW);
    expect(vma('rx', false).pageProt()).toBe(PTE_PRESENT | PTE_USER);
    expect(vma('none', false).pageProt()).toBe(PTE_PROTNONE);
    expect(vma('rw', false).isCowMapping()).toBe(true);
    expect(vma('r', false).isCowMapping()).toBe(true); // VM_MAYWRITE: mprotect could make it writable
    expect(vma('rw', true).isCowMapping()).toBe(false);
    expect(vma('rw', false).flags & VM_MAYWRITE).toBe(VM_MAYWRITE);
    expect(formatVmFlags(vmFlagsFor(parseProt('rw')!, true))).toBe('rw-s');
    expect(formatVmFlags(VM_READ | VM_EXEC)).toBe('r-xp');
    expect(vma('rw', false).pages).toBe(1);
  });

  it('Mm keeps vmas sorted and finds the one containing an address', () => {
    const mm = new Mm(1, 'p');
    const mk = (start: number, end: number): Vma => new Vma(start, mm, start, end, VM_READ, null, null, 0);
    const b = mk(10 * PAGE, 12 * PAGE);
    const a = mk(2 * PAGE, 4 * PAGE);
    const c = mk(20 * PAGE, 21 * PAGE);
    mm.insertVma(b);
    mm.insertVma(c);
    mm.insertVma(a);
    expect(mm.vmas).toEqual([a, b, c]);
    expect(mm.findVma(2 * PAGE)).toBe(a);
    expect(mm.findVma(4 * PAGE - 1)).toBe(a);
    expect(mm.findVma(4 * PAGE)).toBeUndefined();
    expect(mm.findVma(11 * PAGE + 5)).toBe(b);
    expect(mm.findVma(20 * PAGE)).toBe(c);
    expect(mm.findVma(0)).toBeUndefined();
    mm.removeVma(b);
    expect(mm.findVma(11 * PAGE)).toBeUndefined();
    expect(mm.vmas).toEqual([a, c]);
  });

  it('AnonVmaRegistry hands out ids and prunes anon_vmas with no members', () => {
    const r = new AnonVmaRegistry();
    const av = r.create(100);
    expect(r.get(av.id)).toBe(av);
    expect(r.create(5).id).not.toBe(av.id);
    const mm = new Mm(1, 'p');
    const v = new Vma(1, mm, 0, PAGE, VM_READ, av, null, 0);
    av.members.add(v);
    r.prune(av);
    expect(r.get(av.id)).toBe(av);
    av.members.delete(v);
    r.prune(av);
    expect(r.get(av.id)).toBeUndefined();
  });
});

describe('mmap, munmap, split', () => {
  it('places mappings top-down below MMAP_BASE in the highest gap that fits, rounding lengths up to pages', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 1, 'rw'));
    expect(a).toBe(MMAP_BASE - PAGE);
    const b = addr(sys.mmap('p', 2 * PAGE + 1, 'rw'));
    expect(b).toBe(MMAP_BASE - 4 * PAGE);
    const c = addr(sys.mmap('p', PAGE, 'r'));
    expect(c).toBe(MMAP_BASE - 5 * PAGE);
    sys.munmap('p', b, 3 * PAGE);
    expect(addr(sys.mmap('p', 2 * PAGE, 'rw'))).toBe(MMAP_BASE - 3 * PAGE); // the top of the hole
    expect(addr(sys.mmap('p', 2 * PAGE, 'rw'))).toBe(MMAP_BASE - 7 * PAGE); // the 1-page rest is too small
    expect(addr(sys.mmap('p', PAGE, 'rw'))).toBe(MMAP_BASE - 4 * PAGE); // ... for this one it is not
    expect(sys.mmap('p', PAGE, 'rw', { at: 0x10000 })).toBe(0x10000);
    expect(sys.mmap('p', 2 * PAGE, 'rw', { at: TASK_SIZE - PAGE })).toBe('EINVAL');
    expect(sys.mmap('p', PAGE, 'rw', { at: TASK_SIZE - PAGE })).toBe(TASK_SIZE - PAGE);
    expect(sys.mmap('p', PAGE, 'rw', { at: 0 })).toBe('EINVAL');
    const vmas = sys.task('p').mm.vmas;
    for (let i = 1; i < vmas.length; i++) expect(vmas[i - 1].end).toBeLessThanOrEqual(vmas[i].start);
  });

  it('munmap in the middle splits a vma; both halves share the anon_vma, shmem offsets follow', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 4 * PAGE, 'rw'));
    const s = addr(sys.mmap('p', 4 * PAGE, 'rw', { shared: true }));
    sys.write('p', a, 'x');
    sys.write('p', s + 3 * PAGE, 'shm3');
    expect(sys.munmap('p', a + PAGE, PAGE)).toBeNull();
    expect(sys.munmap('p', s + PAGE, PAGE)).toBeNull();
    const mm = sys.task('p').mm;
    const span = (x: number): [number, number] => {
      const v = mm.findVma(x)!;
      return [v.start, v.end];
    };
    expect(span(a)).toEqual([a, a + PAGE]);
    expect(span(a + 3 * PAGE)).toEqual([a + 2 * PAGE, a + 4 * PAGE]);
    expect(span(s)).toEqual([s, s + PAGE]);
    expect(span(s + 2 * PAGE)).toEqual([s + 2 * PAGE, s + 4 * PAGE]);
    expect(mm.vmas.length).toBe(4);
    const [a0, a2, s0, s2] = [a, a + 2 * PAGE, s, s + 2 * PAGE].map((x) => mm.findVma(x)!);
    expect(a2.anonVma).toBe(a0.anonVma);
    expect(a0.anonVma!.members.size).toBe(2);
    expect(s2.shmem).toBe(s0.shmem);
    expect(s2.shmemPgoff).toBe(2);
    expect(s0.shmem!.users).toBe(2);
    expect(h.str('p', s + 3 * PAGE, 4)).toBe('shm3');
    expect(sys.munmap('p', a + 10 * PAGE, PAGE)).toBeNull(); // nothing there: fine
    h.clean();
    sys.munmap('p', s, 4 * PAGE);
    expect(mm.vmas.length).toBe(2);
    expect(h.sys.kernel.frames.used).toBe(1); // the shmem object died with its last vma
    h.clean();
  });

  it('mprotect of part of a vma splits it and changes only that part; PROT_NONE keeps the frame mapped', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    for (let i = 0; i < 3; i++) sys.write('p', a + i * PAGE, `${i}`);
    const pfn = h.pfn('p', a + PAGE);
    expect(sys.mprotect('p', a + PAGE, PAGE, 'none')).toBeNull();
    expect(sys.task('p').mm.vmas.length).toBe(3);
    const pte = h.pte('p', a + PAGE);
    // pte_present (the page stays mapped, KSM and the rmap find it) but the CPU faults: pte_protnone
    expect(ptePresent(pte)).toBe(true);
    expect(pteProtnone(pte)).toBe(true);
    expect(pteAccessible(pte)).toBe(false);
    expect(sys.read('p', a + PAGE, 1)).toMatchObject({ ok: false, error: 'SIGSEGV' });
    expect(sys.kernel.frames.mapcount(pfn)).toBe(1);
    h.clean();
    sys.mprotect('p', a + PAGE, PAGE, 'r');
    expect(h.pfn('p', a + PAGE)).toBe(pfn);
    expect(h.str('p', a + PAGE, 1)).toBe('1');
    expect(h.writable('p', a)).toBe(true);
    h.clean();
  });

  it('mprotect of a shared mapping to rw makes its ptes writable at once (no write fault needed)', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const s = addr(sys.mmap('p', PAGE, 'r', { shared: true }));
    h.str('p', s, 1);
    expect(h.writable('p', s)).toBe(false);
    sys.mprotect('p', s, PAGE, 'rw');
    expect(h.writable('p', s)).toBe(true);
    h.clean();
  });
});

describe('kernel primitives', () => {
  it('getPage/putPage count references; the last put frees the frame and its content', () => {
    const h = harness();
    const k = h.sys.kernel;
    const bytes = new Uint8Array(PAGE);
    bytes[7] = 7;
    const content = k.contents.intern(bytes);
    const pfn = k.allocPage(content);
    expect(k.frames.raw.refcount[pfn]).toBe(1);
    k.getPage(pfn);
    k.putPage(pfn);
    expect(k.frames.isFree(pfn)).toBe(false);
    expect(k.contents.explicitCount).toBe(1);
    k.putPage(pfn);
    expect(k.frames.isFree(pfn)).toBe(true);
    expect(k.contents.explicitCount).toBe(0);
    expect(() => k.putPage(pfn)).toThrow(/underflow/);
    // the zero page is never counted
    k.getPage(ZERO_PFN);
    k.putPage(ZERO_PFN);
    expect(k.frames.raw.refcount[ZERO_PFN]).toBe(1);
  });

  it('allocPage returns -1 when RAM is exhausted; setContent moves the content reference', () => {
    const h = harness('v5.0', { ramBytes: 2 * PAGE });
    const k = h.sys.kernel;
    const pfn = k.allocPage(ZERO_CONTENT);
    expect(pfn).toBe(1);
    expect(k.allocPage(ZERO_CONTENT)).toBe(-1);
    const a = k.contents.write(ZERO_CONTENT, 0, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    k.setContent(pfn, a);
    k.contents.clearMemo(); // now only the frame holds it
    expect(k.contents.explicitCount).toBe(1);
    k.setContent(pfn, 5);
    expect(k.contents.explicitCount).toBe(0);
    k.putPage(pfn);
    expect(k.frames.used).toBe(0);
  });

  it('rmapWalk finds every (mm, address) mapping an anonymous page, through the anon_vma', () => {
    const h = harness();
    const { sys } = h;
    const k = sys.kernel;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    sys.write('p', a + PAGE, 'x');
    const pfn = h.pfn('p', a + PAGE);
    expect(k.frames.raw.flags[pfn] & PG_ANON).toBe(PG_ANON);
    sys.fork('p', 'c');
    sys.fork('c', 'g');
    const who = (): string[] => k.rmapWalk(pfn).map((r) => `${r.mm.owner}@${r.address - a}`);
    expect(who().sort()).toEqual(['c@4096', 'g@4096', 'p@4096']);
    sys.write('c', a + PAGE, 'y');
    expect(who().sort()).toEqual(['g@4096', 'p@4096']);
    const copy = h.pfn('c', a + PAGE);
    expect(k.rmapWalk(copy).map((r) => r.mm.owner)).toEqual(['c']);
    sys.exit('p');
    expect(who()).toEqual(['g@4096']);
  });
});

describe('CPU access (translate, userAccess)', () => {
  it('the page walk sets accessed, and dirty on a write, and fills the TLB', () => {
    const h = harness();
    const { sys } = h;
    const k = sys.kernel;
    sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw'));
    sys.write('p', a, 'x');
    const mm = sys.task('p').mm;
    const vpn = a / PAGE;
    const pfn = h.pfn('p', a);
    mm.pt.set(vpn, mkPte(pfn, PTE_PRESENT | PTE_USER | PTE_RW)); // old and clean
    k.machine.tlbs[sys.task('p').agent.cpu].flushMm(mm.id);
    expect(translate(k, sys.task('p').agent, mm, a, false)).toBe(pfn);
    expect(mm.pt.get(vpn) & (PTE_ACCESSED | PTE_DIRTY)).toBe(PTE_ACCESSED);
    expect(translate(k, sys.task('p').agent, mm, a, true)).toBe(pfn);
    expect(mm.pt.get(vpn) & PTE_DIRTY).toBe(PTE_DIRTY);
    expect(k.machine.tlbs[sys.task('p').agent.cpu].lookup(mm.id, vpn)).toBe(mm.pt.get(vpn));
    expect(translate(k, sys.task('p').agent, mm, a + PAGE, false)).toBe(-1);
  });

  it('a CPU uses its TLB without walking: a pte changed without a flush is not seen (and the checker says so)', () => {
    const h = harness();
    const { sys } = h;
    const k = sys.kernel;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    sys.write('p', a, 'old');
    sys.write('p', a + PAGE, 'new');
    const mm = sys.task('p').mm;
    const oldPfn = h.pfn('p', a);
    // a broken path re-points the pte and forgets the flush
    mm.pt.set(a / PAGE, mm.pt.get((a + PAGE) / PAGE));
    expect(translate(k, sys.task('p').agent, mm, a, false)).toBe(oldPfn);
    h.checker.checkCoherence();
    expect(h.violations.list.map((v) => v.invariant)).toContain('coherence');
  });

  it('a store spanning pages stores page by page; a load returns the bytes; the mm records its CPU', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 3 * PAGE, 'rw'));
    const bytes = new Uint8Array(PAGE + 10).map((_, i) => i & 255);
    expect(sys.write('p', a + PAGE - 5, bytes)).toEqual({ ok: true });
    expect(h.bytes('p', a + PAGE - 5, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(h.bytes('p', a + 2 * PAGE + 3, 2)).toEqual([(PAGE + 8) & 255, (PAGE + 9) & 255]);
    expect(sys.kernel.counters.get('faults.anon_write')).toBe(3);
    expect(sys.task('p').mm.cpumask.has(sys.task('p').agent.cpu)).toBe(true);
    // whole-page stores by content id
    expect(sys.store('p', a, 2 * PAGE, { pages: (i) => sys.kernel.contents.fill(0x40 + i) })).toEqual({
      ok: true,
    });
    expect(h.bytes('p', a + PAGE + 100, 1)).toEqual([0x41]);
    h.clean();
  });

  it('a shared page allocated by a read fault is mapped writable when the vma is', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const s = addr(sys.mmap('p', PAGE, 'rw', { shared: true }));
    expect(h.bytes('p', s, 1)).toEqual([0]);
    expect(h.writable('p', s)).toBe(true);
    expect(sys.kernel.counters.get('faults.shmem_read')).toBe(1);
    sys.write('p', s, 'w');
    expect(sys.kernel.counters.get('faults.shmem_write')).toBe(0); // no fault: the pte was writable
    h.clean();
  });
});

describe('fault paths under interleaving', () => {
  it('two threads racing a first write to one page: the loser frees its page and stores into the winner’s', () => {
    const h = harness();
    const { sys } = h;
    const k = sys.kernel;
    const p = sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw'));
    const thread2 = new Task(99, 'p/2', p.mm, k.newAgent('p/2'));
    const one = userAccess(k, p, a, 1, { bytes: new Uint8Array([1]) });
    runUntil(one, (x) => x.kind === 'preempt' && x.label.startsWith('do_anonymous_page'));
    expect(k.frames.used).toBe(1); // thread 1 allocated its page
    expect(runToCompletion(userAccess(k, thread2, a + 1, 1, { bytes: new Uint8Array([2]) }))).toEqual({
      ok: true,
    });
    expect(k.frames.used).toBe(2);
    expect(runToCompletion(one)).toEqual({ ok: true });
    expect(k.frames.used).toBe(1);
    expect(h.bytes('p', a, 2)).toEqual([1, 2]);
    h.clean();
  });

  it('v5.0 do_wp_page waits for a locked page (lock_page) and re-checks the pte', () => {
    const h = harness('v5.0');
    const { sys } = h;
    const k = sys.kernel;
    sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw'));
    sys.write('p', a, 'x');
    sys.mprotect('p', a, PAGE, 'r');
    sys.mprotect('p', a, PAGE, 'rw'); // read-only pte: the next write goes through do_wp_page
    const pfn = h.pfn('p', a);
    // someone (ksmd, say) holds the page lock
    const holder: Agent = k.newAgent('ksmd');
    const pl = pageLock(k, pfn);
    pl.owner = holder;
    const w = userAccess(k, sys.task('p'), a, 1, { bytes: new Uint8Array([9]) });
    const pause = runUntil(w, (x) => x.kind === 'lock-wait');
    expect(pause.kind === 'lock-wait' && pause.lock).toBe(pl);
    expect(k.frames.raw.refcount[pfn]).toBe(2); // do_wp_page holds a reference while it sleeps
    expect(sys.task('p').mm.ptl.held).toBe(false); // ... and not the ptl
    unlock(holder, pl);
    expect(runToCompletion(w)).toEqual({ ok: true });
    expect(h.pfn('p', a)).toBe(pfn); // then reuses: the only mapping
    expect(k.frames.raw.refcount[pfn]).toBe(1);
    expect(pl.held).toBe(false);
    h.clean();
  });
});

describe('get_user_pages', () => {
  it('a read gup of untouched memory returns the zero page and takes no reference', () => {
    const h = harness();
    const { sys } = h;
    const k = sys.kernel;
    const p = sys.spawn('p');
    const a = addr(sys.mmap('p', 2 * PAGE, 'rw'));
    const r = runToCompletion(getUserPages(k, p.agent, p.mm, a, 2, { write: false, pin: true }));
    expect(r).toEqual({ pfns: [ZERO_PFN, ZERO_PFN], refs: 1 });
    expect(followPage(p.mm, a, false)).toBe(ZERO_PFN);
    expect(followPage(p.mm, a, true)).toBe(-1);
    if (typeof r !== 'string') putUserPages(k, r);
    expect(k.frames.raw.refcount[ZERO_PFN]).toBe(1);
    h.clean();
  });

  it('a write gup faults the page in writable; pins count the profile’s bias; unpin restores the count', () => {
    for (const kernel of ['v5.0', 'v6.10'] as const) {
      const h = harness(kernel);
      const { sys } = h;
      sys.spawn('p');
      const a = addr(sys.mmap('p', PAGE, 'rw'));
      expect(sys.gup('p', a, 1, { write: true, pin: true, name: 'pin' })).toBeNull();
      const pfn = h.pfn('p', a);
      expect(h.writable('p', a)).toBe(true);
      expect(sys.kernel.frames.raw.refcount[pfn]).toBe(1 + (kernel === 'v6.10' ? 1024 : 1));
      expect(sys.gup('p', a, 1, { write: false, pin: false, name: 'get' })).toBeNull();
      expect(sys.kernel.frames.raw.refcount[pfn]).toBe(2 + (kernel === 'v6.10' ? 1024 : 1));
      h.clean();
      sys.unpin('pin');
      sys.unpin('get');
      expect(sys.kernel.frames.raw.refcount[pfn]).toBe(1);
      h.clean();
    }
  });

  it('a write gup of a COW-shared page breaks COW for the caller (FOLL_WRITE)', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw'));
    sys.write('p', a, 'x');
    sys.fork('p', 'c');
    const shared = h.pfn('p', a);
    sys.gup('c', a, 1, { write: true, pin: false, name: 'g' });
    expect(h.pfn('c', a)).not.toBe(shared);
    expect(h.pfn('p', a)).toBe(shared);
    h.clean();
  });

  it('a pinned page outlives munmap (mapcount 0, the pin holds it) and is freed by the unpin', () => {
    const h = harness();
    const { sys } = h;
    sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw'));
    sys.write('p', a, 'x');
    const pfn = h.pfn('p', a);
    sys.gup('p', a, 1, { write: true, pin: true, name: 'pin' });
    sys.munmap('p', a, PAGE);
    expect(sys.kernel.frames.isFree(pfn)).toBe(false);
    expect(sys.kernel.frames.mapcount(pfn)).toBe(0);
    h.clean();
    sys.unpin('pin');
    expect(sys.kernel.frames.isFree(pfn)).toBe(true);
    h.clean();
  });
});

describe('fork and exit', () => {
  it('fork skips VM_DONTFORK vmas, shares the anon_vma, write-protects only private ptes, flushes the parent TLB', () => {
    const h = harness();
    const { sys } = h;
    const k = sys.kernel;
    sys.spawn('p');
    const a = addr(sys.mmap('p', PAGE, 'rw'));
    sys.mmap('p', PAGE, 'r'); // keeps d a vma of its own (an adjacent rw mmap would merge into a's)
    const d = addr(sys.mmap('p', PAGE, 'rw'));
    const s = addr(sys.mmap('p', PAGE, 'rw', { shared: true }));
    for (const x of [a, d, s]) sys.write('p', x, 'x');
    sys.task('p').mm.findVma(d)!.flags |= VM_DONTFORK;
    const flushes = k.counters.get('tlb.flush_local');
    sys.fork('p', 'c');
    expect(k.counters.get('tlb.flush_local')).toBe(flushes + 1);
    const cm = sys.task('c').mm;
    expect(cm.vmas.length).toBe(3);
    expect(cm.findVma(d)).toBeUndefined();
    expect(cm.findVma(a)!.anonVma).toBe(sys.task('p').mm.findVma(a)!.anonVma);
    expect(h.writable('p', a)).toBe(false);
    expect(h.writable('c', a)).toBe(false);
    expect(h.writable('p', s)).toBe(true);
    // the shared vma has no anon_vma: copy_page_range skips it and the child faults the page in again
    expect(h.pte('c', s)).toBe(0);
    expect(cm.findVma(s)!.flags & VM_SHARED).toBe(VM_SHARED);
    expect(cm.anonRss).toBe(1);
    expect(cm.shmemRss).toBe(0);
    expect(sys.read('c', s, 1)).toMatchObject({ ok: true });
    expect(h.pfn('c', s)).toBe(h.pfn('p', s));
    expect(cm.shmemRss).toBe(1);
    expect(k.frames.raw.flags[h.pfn('p', a)] & PG_ANON_EXCLUSIVE).toBe(0);
    expect(sys.read('c', d, 1)).toEqual({ ok: false, error: 'SIGSEGV' });
    h.clean();
  });

  it('exit tears down everything: frames, page tables, the mm; the task stays as a zombie', () => {
    const h = harness();
    const { sys } = h;
    const k = sys.kernel;
    sys.spawn('p');
    const a = addr(sys.mmap('p', 4 * PAGE, 'rw'));
    const s = addr(sys.mmap('p', PAGE, 'rw', { shared: true }));
    for (let i = 0; i < 4; i++) sys.write('p', a + i * PAGE, `${i}`);
    sys.write('p', s, 's');
    sys.gup('p', a, 2, { write: true, pin: true, name: 'pin' });
    const mm = sys.task('p').mm;
    sys.exit('p');
    expect(k.frames.used).toBe(0);
    expect(mm.pt.ptePages).toBe(0);
    expect(mm.vmas).toEqual([]);
    expect(mm.dead).toBe(true);
    expect(k.mms.has(mm.id)).toBe(false);
    expect(sys.task('p').alive).toBe(false);
    expect(sys.pinnedRefs().size).toBe(0);
    expect(mm.anonRss).toBe(0);
    h.clean();
  });
});
