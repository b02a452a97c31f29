/**
 * bench/memory: bytes of mmsim heap per mapped 4 KiB page at 1M mapped pages — everything the model
 * allocates for them: the frame table (struct page state) and the page tables. RAM is 4 GiB (1M frames
 * plus the zero page); one process maps 4 GiB and writes one byte to every page, so each page has its own
 * frame but all share one content (contents cost nothing here). Measured as heapUsed + arrayBuffers after
 * a full GC, before the machine is built (after a small warm-up run, so compiled code and other one-time
 * costs are not charged to the pages) and after the last write. Target: <= 24 bytes per page
 * (the kernel spends 64 B of struct page + 8 B of pte). Environment: MMSIM_BENCH_MEM_PAGES (default 2^20).
 */
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MmSystem } from '../src/mm/system.js';

const PAGE = 4096;

/** A full garbage collection: global.gc under --expose-gc, else the flag turned on at run time. */
function collector(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Map `pages` pages in one process and write one byte (the same byte) to each. */
function fill(
  pages: number,
  sys = new MmSystem({ kernel: 'v5.0', ramBytes: (pages + 1) * PAGE, recording: false }),
): MmSystem {
  sys.spawn('p');
  const base = sys.mmap('p', pages * PAGE, 'rw');
  if (typeof base !== 'number') throw new Error(`mmap: ${base}`);
  const one = new Uint8Array([1]);
  for (let i = 0; i < pages; i++) {
    const r = sys.write('p', base + i * PAGE, one);
    if (!r.ok) throw new Error(`write ${i}: ${r.error}`);
  }
  return sys;
}

export function measure(pages: number): { perPage: number; framesPerPage: number; ptePerPage: number } {
  const gc = collector();
  const heap = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  // warm up first, so code compilation and other one-time costs are not charged to the pages
  fill(Math.min(pages, 1 << 14));
  const before = heap();
  const sys = new MmSystem({ kernel: 'v5.0', ramBytes: (pages + 1) * PAGE, cpus: 2, recording: false });
  const afterBoot = heap();
  fill(pages, sys);
  const after = heap();
  const k = sys.kernel;
  if (k.frames.used !== pages) throw new Error(`expected ${pages} frames in use, found ${k.frames.used}`);
  if (k.contents.explicitCount > 1)
    throw new Error(`expected one content, found ${k.contents.explicitCount}`);
  return {
    perPage: (after - before) / pages,
    framesPerPage: (afterBoot - before) / pages,
    ptePerPage: (after - afterBoot) / pages,
  };
}

export async function run(): Promise<void> {
  const pages = Number(process.env.MMSIM_BENCH_MEM_PAGES ?? 1 << 20);
  console.log(
    `\n== bench/memory: heap per mapped 4 KiB page at ${pages.toLocaleString('en-US')} mapped pages ==`,
  );
  const m = measure(pages);
  console.table([
    {
      'bytes/page': m.perPage.toFixed(2),
      'machine (frames)': m.framesPerPage.toFixed(2),
      'mapping (page tables, ...)': m.ptePerPage.toFixed(2),
      'target <= 24': m.perPage <= 24 ? 'met' : 'MISSED',
    },
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
