/**
 * A watchdog on the host memory mmsim itself uses. A simulated machine can be far larger than the host
 * that models it (`ram: 1 TiB`); where the host runs out first, the run stops with a clear error naming
 * the limit and the option that raises it, instead of Node dying of an out-of-memory abort. It looks each
 * time the run has used another 16 MiB of simulated RAM for the first time (FrameTable.onFreshFrames).
 */
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { UsageError } from './usage-error.js';

const MIB = 1024 * 1024;

/** The share of the host's RAM a run may use unless --max-memory says otherwise. */
const DEFAULT_SHARE = 0.8;
/** The share of V8's own heap limit past which the next allocation may abort the process. */
const HEAP_SHARE = 0.9;

/** The run used more host memory than it may. */
export class HostMemoryExhausted extends Error {
  override name = 'HostMemoryExhausted';
}

/** `--max-memory MIB`: the resident size the run may reach, in bytes (default: 80% of the host's RAM). */
export function maxMemoryOption(v: string | undefined): number {
  if (v === undefined) return Math.floor(totalmem() * DEFAULT_SHARE);
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v) * MIB))
    throw new UsageError(`--max-memory: expected a positive number of MiB, got '${v}'`);
  return Number(v) * MIB;
}

/** A check to call as the run grows: throws HostMemoryExhausted past `limitBytes` or near V8's heap limit. */
export function hostMemoryGuard(limitBytes: number): () => void {
  const heapLimit = getHeapStatistics().heap_size_limit * HEAP_SHARE;
  return () => {
    const rss = process.memoryUsage.rss();
    if (rss > limitBytes)
      throw new HostMemoryExhausted(
        `mmsim itself uses ${mib(rss)} MiB of host memory, over the limit of ${mib(limitBytes)} MiB (--max-memory MIB raises it; the default is 80% of this host's ${mib(totalmem())} MiB)`,
      );
    const heap = process.memoryUsage().heapUsed;
    if (heap > heapLimit)
      throw new HostMemoryExhausted(
        `mmsim's JavaScript heap holds ${mib(heap)} MiB, near Node's limit of ${mib(heapLimit / HEAP_SHARE)} MiB (node --max-old-space-size=MIB raises it)`,
      );
  };
}

/** The error for a run the watchdog stopped. */
export function hostMemoryError(file: string, e: HostMemoryExhausted): UsageError {
  return new UsageError(
    `${file}: error: the run stopped: ${e.message}; the simulated machine is larger than this host can model (try a smaller machine: { ram: ... } or fewer pages)`,
  );
}

function mib(bytes: number): number {
  return Math.round(bytes / MIB);
}
