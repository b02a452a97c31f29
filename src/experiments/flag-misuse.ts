/**
 * flag-misuse: where MMU_NOTIFIER_USE_CHANGE_PTE would be unsafe. Each row runs a guest on rfc-2019
 * (KVM trusts the flag and skips invalidate_range_start/end) and sets the flag on one more kernel path
 * than the RFC does. The validator reports the misuse (invariant 5); the coherence, stale-write and data
 * invariants show the damage a secondary MMU that honoured it would do. The first row is the RFC as
 * posted: no misuse, no damage. The last shows the RFC's own text (strict rule) contradicting its
 * replace_page.
 */

import { PAGE_SIZE } from '../hw/page.js';
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { Violation } from '../notifier/violations.js';
import { World } from '../scenario/world.js';
import { expectSetup } from '../secondary/common.js';
import { KvmGuest } from '../secondary/kvm/index.js';
import { Scheduler } from '../sim/scheduler.js';
import { P_MISUSE_CLEARED, replaceWritablePage } from './misuse-paths.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';

interface Case {
  site: string;
  what: string;
  expectSafe: boolean;
  run(w: World, ctx: GuestSetup): void;
  rule?: 'v2' | 'strict';
}

interface GuestSetup {
  addr: number;
  pages: number;
}

const PAGES = 8;

/** A process with a guest on it that has written every page (so KVM holds writable sptes). */
function setup(
  kernel: KernelName,
  seed: number,
  rule: 'v2' | 'strict',
  profileOverrides?: ProfileOverrides,
): { w: World; ctx: GuestSetup } {
  const w = new World({
    kernel,
    seed,
    ramBytes: 16 * 1024 * 1024,
    recording: true,
    changePteRule: rule,
    profileOverrides,
  });
  w.sys.spawn('vmm');
  const size = PAGES * PAGE_SIZE;
  const addr = w.sys.mmap('vmm', size, 'rw');
  if (typeof addr === 'string') throw new Error(addr);
  w.sys.madvise('vmm', addr, size, 'mergeable');
  const vm = expectSetup(w.attach(KvmGuest.create(w.kernel, 'vm0', w.task('vmm'), [{ gfn: 0, addr, size }])));
  const c = w.kernel.contents;
  for (let i = 0; i < PAGES; i++) {
    const id = c.pattern(3, i % 2); // pairs of identical pages for KSM
    vm.write(i, { pages: () => id });
  }
  return { w, ctx: { addr, pages: PAGES } };
}

function guestTouchesAll(w: World, ctx: GuestSetup, write: boolean): void {
  const vm = w.secondary('kvm:vm0', KvmGuest)!;
  const id = w.kernel.contents.fill(0x5a);
  for (let i = 0; i < ctx.pages; i++) {
    if (write) vm.write(i, { pages: () => id });
    else vm.read(i);
  }
}

const CASES: Case[] = [
  {
    site: 'RFC call sites',
    what: 'KSM merge + guest COW, flag only where the RFC sets it',
    expectSafe: true,
    run(w, ctx) {
      w.ksm.runUntilStable();
      guestTouchesAll(w, ctx, false);
      guestTouchesAll(w, ctx, true);
    },
  },
  {
    site: 'mprotect',
    what: 'change_protection(PROT_READ) with the flag: many ptes, not via set_pte_at_notify',
    expectSafe: false,
    run(w, ctx) {
      w.kernel.forceUseChangePteAt.add('change_protection');
      w.sys.mprotect('vmm', ctx.addr, ctx.pages * PAGE_SIZE, 'r');
      guestTouchesAll(w, ctx, true);
    },
  },
  {
    site: 'munmap',
    what: 'unmap_region with the flag: ptes cleared, pages freed',
    expectSafe: false,
    run(w, ctx) {
      w.kernel.forceUseChangePteAt.add('unmap_region');
      w.sys.munmap('vmm', ctx.addr, ctx.pages * PAGE_SIZE);
      w.sys.spawn('other');
      const a = w.sys.mmap('other', ctx.pages * PAGE_SIZE, 'rw');
      if (typeof a === 'number') w.sys.write('other', a, 'secret of another process');
      guestTouchesAll(w, ctx, true);
    },
  },
  {
    site: 'DONTNEED 1 page',
    what: 'zap_page_range of one page with the flag: pte cleared, not replaced',
    expectSafe: false,
    run(w, ctx) {
      w.kernel.forceUseChangePteAt.add('zap_page_range');
      w.sys.madvise('vmm', ctx.addr, PAGE_SIZE, 'dontneed');
      guestTouchesAll(w, ctx, false);
    },
  },
  {
    site: 'RW->RO new pfn',
    what: 'a writable page replaced by a new read-only one while the guest writes',
    expectSafe: false,
    run(w, ctx) {
      const k = w.kernel;
      const t = w.task('vmm');
      const vma = t.mm.findVma(ctx.addr)!;
      const vm = w.secondary('kvm:vm0', KvmGuest)!;
      const sched = new Scheduler();
      sched.add('kernel', replaceWritablePage(k, w.ksm.agent, vma, ctx.addr));
      const id = k.contents.fill(0x77);
      sched.add('guest', vm.guestAccess(0, 0, true, { pages: () => id }));
      sched.runUntil('kernel', P_MISUSE_CLEARED.label);
      sched.finish('guest');
      sched.finish('kernel');
      vm.read(0);
      w.sys.read('vmm', ctx.addr, 16);
    },
  },
  {
    site: 'strict RFC text',
    what: "the RFC's own replace_page (RO->RO new pfn) judged by the RFC v1 text",
    expectSafe: true,
    rule: 'strict',
    run(w, ctx) {
      w.ksm.runUntilStable();
      guestTouchesAll(w, ctx, false);
    },
  },
];

function count(vs: readonly Violation[], inv: string): number {
  return vs.filter((v) => v.invariant === inv).length;
}

export const flagMisuse: Experiment = {
  name: 'flag-misuse',
  description: 'where USE_CHANGE_PTE would be unsafe, and what a KVM that honoured it would break',
  defaultKernels: ['rfc-2019'],
  run(opts: ExperimentOptions): ExperimentResult {
    const rows: (string | number)[][] = [];
    const records: Record<string, string | number>[] = [];
    let unexpected = 0;
    let done = 0;
    const total = CASES.length * opts.kernels.length;
    for (const kernel of opts.kernels) {
      for (const c of CASES) {
        const { w, ctx } = setup(kernel, opts.seed, c.rule ?? 'v2', opts.profileOverrides);
        c.run(w, ctx);
        w.checkNow();
        const vs = w.violations.list;
        const misuse = count(vs, 'use-change-pte');
        const damage = count(vs, 'coherence') + count(vs, 'stale-write') + count(vs, 'data');
        if (c.expectSafe && damage > 0) unexpected += damage;
        const record = {
          kernel,
          site: c.site,
          what: c.what,
          rule: c.rule ?? 'v2',
          misuse_reports: misuse,
          coherence: count(vs, 'coherence'),
          stale_writes: count(vs, 'stale-write'),
          data: count(vs, 'data'),
          accounting: count(vs, 'accounting'),
        };
        records.push(record);
        rows.push([
          opts.kernels.length > 1 ? `${kernel} ${c.site}` : c.site,
          misuse,
          record.coherence,
          record.stale_writes,
          record.data,
          damage === 0 ? 'safe' : 'UNSAFE',
        ]);
        opts.progress?.(++done, total);
      }
    }
    return {
      name: 'flag-misuse',
      title: 'flag-misuse: USE_CHANGE_PTE set where the RFC does not set it',
      summary:
        'A guest holds writable sptes on 8 pages; KVM trusts the flag (rfc-2019: no zap, no count, no sequence bump for flagged ranges). Each row sets the flag on one kernel path. "misuse" counts the validator\'s reports (invariant 5); the next three columns count violations of invariants 1, 2 and 3.',
      columns: [
        { header: 'flag set on' },
        { header: 'misuse\nreports', align: 'right' },
        { header: 'coherence\n(inv. 1)', align: 'right' },
        { header: 'stale writes\n(inv. 2)', align: 'right' },
        { header: 'data\n(inv. 3)', align: 'right' },
        { header: 'verdict' },
      ],
      rows,
      records,
      notes: [
        'The RFC call sites are safe: each flagged range changes one pte through set_pte_at_notify in an allowed way, and change_pte updates the spte before the primary pte is set.',
        'Under the strict RFC v1 text, replace_page (RO->RO with a new pfn) is reported as a misuse although nothing breaks: the contradiction the RFC v2 rule resolved.',
      ],
      chart: {
        title: 'flag-misuse: reports and violations per site',
        categories: rows.map((r) => String(r[0])),
        series: [
          { name: 'misuse reports', values: rows.map((r) => Number(r[1])) },
          { name: 'coherence', values: rows.map((r) => Number(r[2])) },
          { name: 'stale writes', values: rows.map((r) => Number(r[3])) },
          { name: 'data', values: rows.map((r) => Number(r[4])) },
        ],
      },
      violations: unexpected,
    };
  },
};
