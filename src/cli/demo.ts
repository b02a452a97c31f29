/**
 * A small tour of the primary MMU: zero page on read, allocation on write, fork and copy-on-write in
 * both directions, printed as a table of what each process maps after each step.
 */

import { ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE } from '../hw/page.js';
import { ptePfn, pteSpecial, pteWrite } from '../hw/pte.js';
import { MmSystem } from '../mm/system.js';

export function runDemo(out: (line: string) => void = console.log): void {
  const sys = new MmSystem({ kernel: 'v5.0', ramBytes: 64 * 1024 * 1024 });
  sys.spawn('parent');
  const buf = sys.mmap('parent', 2 * PAGE_SIZE, 'rw');
  if (typeof buf === 'string') throw new Error(buf);
  const k = sys.kernel;
  const describe = (proc: string, page: number): string => {
    const t = k.tasks.get(proc);
    if (t === undefined || !t.alive) return '-';
    const pte = t.mm.pt.get(buf / PAGE_SIZE + page);
    if (pte === 0) return 'not mapped';
    const pfn = pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
    const what = pfn === ZERO_PFN ? 'zero page' : `pfn ${pfn}`;
    const data = sys.read(proc, buf + page * PAGE_SIZE, 5);
    const text = data.ok && data.data ? new TextDecoder().decode(data.data).replace(/\0/g, '.') : '?';
    return `${what} ${pteWrite(pte) ? 'RW' : 'RO'} "${text}"`;
  };
  const rows: string[][] = [];
  const snap = (step: string): void => {
    rows.push([step, describe('parent', 0), describe('child', 0)]);
  };
  sys.read('parent', buf, 1);
  snap('parent reads buf');
  sys.write('parent', buf, 'hello');
  snap('parent writes "hello"');
  sys.fork('parent', 'child');
  snap('fork');
  sys.write('child', buf, 'child');
  snap('child writes (COW copy)');
  sys.write('parent', buf, 'paren');
  snap('parent writes (reuse)');
  const widths = [26, 26, 26];
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join(' ');
  out('mmsim: fork + copy-on-write + zero page on kernel v5.0 (buf page 0)');
  out(line(['step', 'parent', 'child']));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out(line(r));
  out('');
  const c = k.counters.snapshot();
  out(
    `faults: read-zero ${c['faults.anon_read_zero'] ?? 0}, anon-write ${c['faults.anon_write'] ?? 0}, ` +
      `cow-copy ${c['faults.cow_copy'] ?? 0}, cow-reuse ${c['faults.cow_reuse'] ?? 0}; ` +
      `TLB flushes ${c['tlb.flush_local'] ?? 0} local, ${c['tlb.flush_remote'] ?? 0} remote`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) runDemo();
