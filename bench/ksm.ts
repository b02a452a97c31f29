/**
 * KSM benchmark: a fleet of 16 processes of 1 GiB each (4M pages in all), half of every process's pages
 * duplicated across the fleet, the other half unique. ksmd runs full scans (in batches of pages_to_scan,
 * the kernel's default 100) until pages_sharing stops growing. Reports the time to that stable merged
 * state (wall and CPU), pages merged per second, and the process's peak memory (max RSS). Setting the
 * fleet up — faulting in all 4M pages — is timed apart.
 *
 * Run: npx tsx bench/ksm.ts [--procs 16] [--mib 1024] [--kernel v5.0] [--pages-to-scan 100] [--json]
 */
import { isKernelName, type KernelName, profile as profileOf } from '../src/kernel/profiles.js';
import { Ksm } from '../src/mm/ksm/index.js';
import { MmSystem } from '../src/mm/system.js';

const args = process.argv.slice(2);
function opt(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const procs = Number(opt('procs', '16'));
const mib = Number(opt('mib', '1024'));
const kernelArg = opt('kernel', 'v5.0');
if (!isKernelName(kernelArg)) throw new Error(`unknown kernel ${kernelArg}`);
const kernel: KernelName = kernelArg;
const json = args.includes('--json');
const pagesToScan = Number(opt('pages-to-scan', '100'));

const pagesPerProc = (mib * 1024 * 1024) / 4096;
const dupPerProc = pagesPerProc / 2;
const totalPages = procs * pagesPerProc;

const t0 = performance.now();
const sys = new MmSystem({
  kernel,
  ramBytes: (totalPages + 65536) * 4096,
  cpus: 2,
  recording: false,
});
const k = sys.kernel;
const ksm = new Ksm(k, { pagesToScan });
sys.ksm = ksm.hooks;
const c = k.contents;
for (let p = 0; p < procs; p++) {
  const name = `guest${p}`;
  sys.spawn(name);
  const addr = sys.mmap(name, pagesPerProc * 4096, 'rw');
  if (typeof addr === 'string') throw new Error(`mmap: ${addr}`);
  // even pages: the shared image (same in every guest); odd pages: this guest's own data
  const r = sys.store(name, addr, pagesPerProc * 4096, {
    pages: (i) => (i % 2 === 0 ? c.pattern(1, i >> 1) : c.pattern(1000 + p, i >> 1)),
  });
  if (!r.ok) throw new Error(`store: ${r.error}`);
  const e = sys.madvise(name, addr, pagesPerProc * 4096, 'mergeable');
  if (e !== null) throw new Error(`madvise: ${e}`);
}
const setupMs = performance.now() - t0;

// runUntilStable, one full scan at a time so each can be timed
const t1 = performance.now();
const cpu1 = process.cpuUsage();
const scanSeconds: number[] = [];
let prevSharing = -1;
while (scanSeconds.length < 16) {
  const ts = performance.now();
  ksm.runFullScans(1);
  scanSeconds.push(+((performance.now() - ts) / 1000).toFixed(2));
  const now = k.counters.get('ksm.pages_sharing');
  if (scanSeconds.length >= 2 && now <= prevSharing) break;
  prevSharing = now;
}
const fullScans = scanSeconds.length;
const mergeMs = performance.now() - t1;
const cpu = process.cpuUsage(cpu1);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;

const sharing = k.counters.get('ksm.pages_sharing');
const shared = k.counters.get('ksm.pages_shared');
const expectShared = dupPerProc;
const expectSharing = dupPerProc * (procs - 1);
const problems = ksm.problems();
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const result = {
  kernel: profileOf(kernel).name,
  procs,
  pagesPerProc,
  pagesToScan,
  totalPages,
  setupSeconds: +(setupMs / 1000).toFixed(2),
  fullScans,
  scanSeconds,
  secondsToStable: +(mergeMs / 1000).toFixed(2),
  cpuSecondsToStable: +cpuSeconds.toFixed(2),
  pagesShared: shared,
  pagesSharing: sharing,
  pagesUnshared: k.counters.get('ksm.pages_unshared'),
  pagesScanned: k.counters.get('ksm.pages_scanned'),
  pagesMergedPerSecond: Math.round((shared + sharing) / (mergeMs / 1000)),
  framesInUse: k.frames.used,
  peakRssMiB: Math.round(peakRssMiB),
  expected: { pagesShared: expectShared, pagesSharing: expectSharing },
  ok: shared === expectShared && sharing === expectSharing && problems.length === 0,
  problems: problems.slice(0, 5),
};
if (json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(
    `ksm bench (${result.kernel}): ${procs} processes x ${mib} MiB = ${totalPages} pages, half duplicated`,
  );
  console.log(`  setup (faulting every page in): ${result.setupSeconds} s`);
  console.log(
    `  stable merged state after ${fullScans} full scans in ${result.secondsToStable} s (cpu ${result.cpuSecondsToStable} s)`,
  );
  console.log(`  seconds per full scan: ${scanSeconds.join(', ')}`);
  console.log(
    `  pages_shared ${shared} (expect ${expectShared}), pages_sharing ${sharing} (expect ${expectSharing})`,
  );
  console.log(`  pages merged per second: ${result.pagesMergedPerSecond}`);
  console.log(`  frames in use after merging: ${result.framesInUse}`);
  console.log(`  peak memory (max RSS): ${result.peakRssMiB} MiB`);
  console.log(`  consistency: ${problems.length === 0 ? 'ok' : problems.slice(0, 5).join('; ')}`);
}
if (!result.ok) process.exitCode = 1;
