/**
 * What the secondary MMUs share: the outcome of a guest or device access, and the access itself once a
 * translation is known — the bytes move in the frame and every observer (the invariant checker's data
 * and stale-write checks) sees the access, translated `via` the secondary MMU that did it.
 */

import type { ContentId } from '../hw/content.js';
import { ZERO_PFN } from '../hw/frames.js';
import { PAGE_SIZE } from '../hw/page.js';
import type { StoreSource } from '../mm/access.js';
import type { Errno, Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import type { SecondaryTranslation, TranslationVisitor } from '../notifier/secondary-view.js';
import type { CounterGroup, Counters } from '../sim/counters.js';
import { type Agent, ModelBug } from '../sim/exec.js';
import { type DetailFormat, newEvent } from '../sim/log.js';

/**
 * Why a guest or device access failed: EFAULT (no mapping the host would fault in: the address is outside
 * every vma or memslot, or the access is not allowed), ENOMEM, EIO (the device gave up on a transaction
 * it could not complete), EOPNOTSUPP (the binding does not exist on this kernel).
 */
export type SecondaryAccessError = 'EFAULT' | 'ENOMEM' | 'EIO' | 'EOPNOTSUPP';

/** The result of a guest, device or DMA access (the secondary counterpart of AccessOutcome). */
export type SecondaryAccessOutcome =
  | { ok: true; data?: Uint8Array }
  | { ok: false; error: SecondaryAccessError };

/**
 * Setting a secondary MMU up failed the way the kernel's ioctl or bind call fails: an errno (and what
 * was wrong), returned as a value. Every secondary's setup (KvmGuest.create, IommuSva.bindDevice, a setup
 * step's `create`) answers with this; nothing throws for a request the kernel would refuse.
 */
export interface SetupError {
  readonly errno: Errno;
  readonly detail: string;
}

export function setupError(errno: Errno, detail: string): SetupError {
  return { errno, detail };
}

export function isSetupError(x: unknown): x is SetupError {
  return typeof x === 'object' && x !== null && 'errno' in x && 'detail' in x && !('name' in x);
}

/** The secondary itself, for callers whose setup request is known to be valid (experiments, tests). */
export function expectSetup<T>(x: T | SetupError): T {
  if (isSetupError(x)) throw new ModelBug(`setup refused: ${x.errno}: ${x.detail}`);
  return x;
}

/** A store that writes whole pages, each given by content id. */
export function pageSource(content: (pageIndex: number) => ContentId): StoreSource {
  return { pages: content };
}

/** Bytes, a string (UTF-8) or a StoreSource, as a StoreSource; and the length it writes. */
export function toSource(data: StoreSource | Uint8Array | string): { source: StoreSource; len: number } {
  if (typeof data === 'string') {
    const bytes = new TextEncoder().encode(data);
    return { source: { bytes }, len: bytes.length };
  }
  if (data instanceof Uint8Array) return { source: { bytes: data }, len: data.length };
  return { source: data, len: 'bytes' in data ? data.bytes.length : PAGE_SIZE };
}

/**
 * One access of `len` bytes (within one page) at host virtual `address` of `mm`, through frame `pfn` that
 * a secondary MMU translated it to. `srcOffset` is where in a bytes source this chunk starts, `pageIndex`
 * which page of a pages source it is; loads copy into `out` at `outOffset`.
 * A store into a free frame (only a broken secondary can make one: it kept a translation the primary
 * dropped) lands there as it would in hardware; its content reference is deliberately leaked so the
 * content store stays consistent.
 */
export function accessFrame(
  k: Kernel,
  agent: Agent,
  mm: Mm,
  address: number,
  pfn: number,
  source: StoreSource | undefined,
  srcOffset: number,
  len: number,
  pageIndex: number,
  out: Uint8Array | undefined,
  outOffset: number,
  via: string,
): void {
  const f = k.frames;
  const contents = k.contents;
  const off = address % PAGE_SIZE;
  const before = f.contentOf(pfn);
  let after = before;
  if (source !== undefined) {
    after =
      'bytes' in source
        ? contents.write(before, off, source.bytes.subarray(srcOffset, srcOffset + len))
        : source.pages(pageIndex);
    if (pfn === ZERO_PFN) throw new ModelBug(`${agent.name} (${via}) stores into the zero page`);
    if (f.isFree(pfn)) {
      contents.ref(after);
      f.setContent(pfn, after);
      f.touchContent(pfn);
    } else k.setContent(pfn, after);
  } else if (out !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = contents.read(before, off, len);
    } catch {
      bytes = new Uint8Array(len); // a free frame whose old content is gone
    }
    out.set(bytes, outOffset);
  }
  k.accessed(agent, mm, address, source !== undefined, pfn, before, after, via);
}

/** Log a secondary-MMU event (kind 'secondary') when the kernel records. */
export function logSecondary(
  k: Kernel,
  agent: Agent,
  what: string,
  mm: Mm,
  start?: number,
  end?: number,
  detail?: string,
): void {
  if (!k.recording) return;
  const e = newEvent(agent.name, agent.cpu, 'secondary', what, mm.id, start, end);
  e.detail = detail;
  k.log(e);
}

/**
 * Log a frequent secondary-MMU event over [start, end) whose detail `format` makes from x, y, z and s
 * when it is shown (when the kernel records).
 */
export function logSecondaryAs(
  k: Kernel,
  agent: Agent,
  what: string,
  mm: Mm,
  start: number | undefined,
  end: number | undefined,
  format: DetailFormat,
  x: number,
  y = 0,
  z = 0,
  s?: string,
): void {
  if (!k.recording) return;
  const e = newEvent(agent.name, agent.cpu, 'secondary', what, mm.id, start, end);
  e.detail = s;
  e.format = format;
  e.x = x;
  e.y = y;
  e.z = z;
  k.log(e);
}

/** Hexadecimal, for messages. */
export const hex = (x: number): string => `0x${x.toString(16)}`;

/**
 * What every secondary MMU shares: the counters its kind declares (`kvm.vm1.faults`, ...), resolved to
 * slots once so the access paths bump them without a string lookup.
 */
export abstract class CountedSecondary<C extends string> {
  private readonly counterSlots: Record<C, number>;
  /** The counter prefix: `kvm.NAME`, `dev.NAME`, `iommu.NAME`. */
  readonly counters: string;

  constructor(
    private readonly allCounters: Counters,
    /** The counters this kind of secondary declares. */
    readonly counterGroup: CounterGroup<C>,
    /** This secondary's name among its kind (`vm1`). */
    readonly instance: string,
  ) {
    this.counters = `${counterGroup.group}.${instance}`;
    this.counterSlots = Object.fromEntries(
      counterGroup.counters.map((n) => [n, allCounters.slot(counterGroup.name(n, instance))]),
    ) as Record<C, number>;
  }

  protected bump(c: C, n = 1): void {
    this.allCounters.values[this.counterSlots[c]] += n;
  }

  /** The value of one of this secondary's counters. */
  stat(c: C): number {
    return this.allCounters.values[this.counterSlots[c]];
  }

  /** Every counter of this secondary, by short name. */
  stats(): Record<C, number> {
    return Object.fromEntries(this.counterGroup.counters.map((n) => [n, this.stat(n)])) as Record<C, number>;
  }

  /** The full names of this secondary's counters, for a run's result. */
  counterNames(): string[] {
    return this.counterGroup.counters.map((n) => this.counterGroup.name(n, this.instance));
  }
}

/**
 * A device-side page table as a Map of vpn -> pfn * 2 + writable (dmirror's xarray, an IOTLB): no page
 * references, just what the device would use.
 */
export function decodeEntry(e: number | undefined): { pfn: number; writable: boolean } | undefined {
  return e === undefined ? undefined : { pfn: Math.floor(e / 2), writable: (e & 1) === 1 };
}

export function* entriesAsTranslations(
  entries: ReadonlyMap<number, number>,
  pageSize: number,
): Iterable<SecondaryTranslation> {
  for (const [vpn, e] of entries)
    yield { address: vpn * pageSize, pfn: Math.floor(e / 2), writable: (e & 1) === 1 };
}

/** Visit the entries of [start, end) (bytes) as translations: a walk of the range or of the entries, whichever is shorter. */
export function entriesAsTranslationsIn(
  entries: ReadonlyMap<number, number>,
  pageSize: number,
  start: number,
  end: number,
  visit: TranslationVisitor,
): void {
  const from = Math.floor(start / pageSize);
  const to = Math.ceil(end / pageSize);
  if (to - from <= entries.size) {
    for (let vpn = from; vpn < to; vpn++) {
      const e = entries.get(vpn);
      if (e !== undefined) visit(vpn * pageSize, Math.floor(e / 2), (e & 1) === 1);
    }
    return;
  }
  for (const [vpn, e] of entries)
    if (vpn >= from && vpn < to) visit(vpn * pageSize, Math.floor(e / 2), (e & 1) === 1);
}

/**
 * A device or vCPU access request made concrete: the store (a store without a source writes 0xff pages)
 * and its length (`len`, else the bytes' length, else one page).
 */
export function accessRequest(
  kernel: Kernel,
  write: boolean,
  source: StoreSource | undefined,
  len: number | undefined,
): { store: StoreSource | undefined; n: number } {
  const store = write ? (source ?? { pages: () => kernel.contents.fill(0xff) }) : undefined;
  return { store, n: len ?? (store !== undefined && 'bytes' in store ? store.bytes.length : PAGE_SIZE) };
}
