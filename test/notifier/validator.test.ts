/**
 * The seed's rule enforced (docs/INVARIANTS.md item 5): the RFC's three call sites pass; the flag on
 * mprotect, on a multi-page range, or on an RW->RO change of pfn is caught with the path, the address
 * and the old/new pte. The strict RFC v1 text flags the RFC's own replace_page.
 */
import { describe, expect, it } from 'vitest';
import { replaceWritablePage } from '../../src/experiments/misuse-paths.js';
import { mkPte, PTE_ACCESSED, PTE_PRESENT, PTE_RW, PTE_USER } from '../../src/hw/pte.js';
import { transitionVerdict } from '../../src/notifier/validator.js';
import { World } from '../../src/scenario/world.js';
import { runToCompletion } from '../../src/sim/exec.js';

const P = PTE_PRESENT | PTE_USER | PTE_ACCESSED;
const rw = (pfn: number) => mkPte(pfn, P | PTE_RW);
const ro = (pfn: number) => mkPte(pfn, P);

describe('transitionVerdict', () => {
  it('v2 rule: RW->RO same, RO->RW same or new, RO->RO new (and same) are allowed; RW->RO new and RW->RW are not', () => {
    expect(transitionVerdict(rw(5), ro(5), 'v2')).toBeNull();
    expect(transitionVerdict(ro(5), rw(6), 'v2')).toBeNull();
    expect(transitionVerdict(ro(5), rw(5), 'v2')).toBeNull();
    expect(transitionVerdict(ro(5), ro(6), 'v2')).toBeNull();
    expect(transitionVerdict(ro(5), ro(5), 'v2')).toBeNull();
    expect(transitionVerdict(rw(5), ro(6), 'v2')).toMatch(
      /RW->RO with a new pfn is not allowed by the RFC v2 rule/,
    );
    expect(transitionVerdict(rw(5), rw(6), 'v2')).toMatch(/RW->RW/);
    expect(transitionVerdict(rw(5), 0, 'v2')).toMatch(/not present/);
  });

  it('strict RFC v1 text: only RW->RO same and RO->RW new', () => {
    expect(transitionVerdict(rw(5), ro(5), 'strict')).toBeNull();
    expect(transitionVerdict(ro(5), rw(6), 'strict')).toBeNull();
    expect(transitionVerdict(ro(5), ro(6), 'strict')).toMatch(/RO->RO with a new pfn/);
    expect(transitionVerdict(ro(5), rw(5), 'strict')).not.toBeNull();
  });
});

function guestWorld(kernel: 'rfc-2019' | 'v5.0' = 'rfc-2019', rule: 'v2' | 'strict' = 'v2') {
  const w = new World({ kernel, ramBytes: 8 * 1024 * 1024, changePteRule: rule });
  w.sys.spawn('p');
  const addr = w.sys.mmap('p', 4 * 4096, 'rw') as number;
  w.sys.madvise('p', addr, 4 * 4096, 'mergeable');
  const id = w.kernel.contents.fill(9);
  for (let i = 0; i < 4; i++) w.sys.store('p', addr + i * 4096, 4096, { pages: () => id });
  return { w, addr };
}

describe('the validator on real paths', () => {
  it("passes the RFC's three call sites: write_protect_page, replace_page, wp_page_copy", () => {
    const { w, addr } = guestWorld();
    w.ksm.runFullScans(3);
    w.sys.write('p', addr, 'cow');
    expect(w.counters.get('notifier.use_change_pte')).toBeGreaterThanOrEqual(8);
    expect(w.validator.checked).toBe(w.counters.get('notifier.use_change_pte'));
    expect(w.validator.misuses).toBe(0);
    expect(w.violations.list).toEqual([]);
  });

  it('catches the flag on mprotect: many pages, not through set_pte_at_notify', () => {
    const { w, addr } = guestWorld();
    w.kernel.forceUseChangePteAt.add('change_protection');
    w.sys.mprotect('p', addr, 4 * 4096, 'r');
    const v = w.violations.list.filter((x) => x.invariant === 'use-change-pte');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/change_protection \(PROTECTION_VMA\) carries USE_CHANGE_PTE/);
    expect(v[0].message).toMatch(/covers 4 pages, not one/);
    expect(v[0].message).toMatch(/4 ptes changed, not one/);
    expect(v[0].message).toMatch(/last written by change_pte_range, not set_pte_at_notify/);
  });

  it('catches the flag on a multi-page zap (pte cleared, not replaced)', () => {
    const { w, addr } = guestWorld();
    w.kernel.forceUseChangePteAt.add('zap_page_range');
    w.sys.madvise('p', addr, 2 * 4096, 'dontneed');
    const v = w.violations.list.filter((x) => x.invariant === 'use-change-pte');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/covers 2 pages/);
    expect(v[0].message).toMatch(/not present/);
  });

  it('catches RW->RO with a new pfn, naming the path, the address and the old/new pte', () => {
    const { w, addr } = guestWorld();
    const vma = w.task('p').mm.findVma(addr)!;
    runToCompletion(replaceWritablePage(w.kernel, w.ksm.agent, vma, addr));
    const v = w.violations.list.filter((x) => x.invariant === 'use-change-pte');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/replace_writable_page \(CLEAR\)/);
    expect(v[0].message).toMatch(/RW->RO with a new pfn is not allowed/);
    expect(v[0].message).toMatch(/pfn 0x[0-9a-f]+ P RW .* -> pfn 0x[0-9a-f]+ P RO/);
    expect(v[0].addresses[0]).toBe(`mm${w.task('p').mm.id}:0x${addr.toString(16)}`);
    expect(v[0].agents).toEqual(['ksmd']);
  });

  it("under the strict RFC text, the RFC's own replace_page is a misuse", () => {
    const { w } = guestWorld('rfc-2019', 'strict');
    w.ksm.runFullScans(3);
    const v = w.violations.list.filter((x) => x.invariant === 'use-change-pte');
    expect(v.length).toBeGreaterThan(0);
    expect(v.every((x) => /replace_page .*RO->RO with a new pfn/.test(x.message))).toBe(true);
  });

  it('v5.0 never sets the flag, so nothing is checked', () => {
    const { w } = guestWorld('v5.0');
    w.ksm.runFullScans(3);
    expect(w.validator.checked).toBe(0);
    expect(w.counters.get('notifier.use_change_pte')).toBe(0);
  });
});
