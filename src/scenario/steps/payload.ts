/**
 * What a store writes (`data`, `bytes`, `fill` or `pattern`), shared by the steps that store: a CPU
 * write and a guest write. Reading it, its length, and the StoreSource the model's access paths take.
 */
import { PAGE_SIZE } from '../../hw/page.js';
import type { StoreSource } from '../../mm/access.js';
import type { Pattern, Payload } from '../ast.js';
import {
  asMap,
  byteList,
  Fields,
  integer,
  isScalar,
  pageCount,
  type ReadContext,
  type Slot,
  size,
  text,
} from '../nodes.js';
import type { World } from '../world.js';

export const PAYLOAD_KEYS = ['data', 'bytes', 'fill', 'pattern'] as const;

/** A pattern as written; pages stays undefined when not given, since write and guest default it differently. */
interface PatternFields {
  seed: number;
  pages?: number;
}

const readPattern = (cx: ReadContext, slot: Slot): PatternFields | undefined => {
  // `pattern: 7` is short for `pattern: {seed: 7}`.
  if (isScalar(slot.node)) {
    const seed = integer(0, 2 ** 32 - 1, 'a pattern {seed, [pages]} or a seed (0..2^32-1)')(cx, slot);
    return seed === undefined ? undefined : { seed };
  }
  const map = asMap('a pattern {seed, [pages]}')(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'pattern', ['seed', 'pages'], slot.pos);
  const seed = f.required('seed', integer(0, 2 ** 32 - 1, 'a seed from 0 to 2^32-1'));
  const pages = f.optional('pages', pageCount(1));
  return seed === undefined ? undefined : { seed, ...(pages === undefined ? {} : { pages }) };
};

/** A payload as written: like Payload, but a pattern's pages may still be unknown. */
export type WrittenPayload =
  | Exclude<Payload, { pattern: Pattern }>
  | { pattern: PatternFields; data?: undefined; bytes?: undefined; fill?: undefined };

export type PayloadResult = { ok: true; payload?: WrittenPayload } | { ok: false };

/** The payload of a write: exactly one of data, bytes, fill, pattern (or none, when not `required`). */
export function readPayload(f: Fields, required: boolean): PayloadResult {
  const present = f.present(PAYLOAD_KEYS);
  if (present.length > 1) {
    f.errorAt(
      present[1],
      `${f.owner} takes one of data, bytes, fill or pattern, but has both '${present[0]}' and '${present[1]}'`,
    );
    return { ok: false };
  }
  if (present.length === 0) {
    if (!required) return { ok: true };
    f.errorAt(undefined, `${f.owner} needs one of 'data', 'bytes', 'fill' or 'pattern'`);
    return { ok: false };
  }
  switch (present[0]) {
    case 'data': {
      const data = f.optional('data', text);
      if (data === '') f.errorAt('data', `${f.owner}.data: the string is empty`);
      return data ? { ok: true, payload: { data } } : { ok: false };
    }
    case 'bytes': {
      const bytes = f.optional('bytes', byteList);
      return bytes === undefined ? { ok: false } : { ok: true, payload: { bytes } };
    }
    case 'fill': {
      const fill = f.optional('fill', integer(0, 255, 'a byte (0..255)'));
      return fill === undefined ? { ok: false } : { ok: true, payload: { fill } };
    }
    default: {
      const pattern = f.optional('pattern', readPattern);
      return pattern === undefined ? { ok: false } : { ok: true, payload: { pattern } };
    }
  }
}

/** Bytes one store writes: the length of data/bytes, `size` for fill (default a page), pages for pattern. */
export function payloadSize(f: Fields, payload: PayloadResult): number | undefined {
  if (!payload.ok) return undefined;
  const p = payload.payload;
  if (f.has('size') && p?.fill === undefined) {
    return f.errorAt(
      'size',
      `${f.owner}.size goes with 'fill' only; data, bytes and pattern have their own length`,
    );
  }
  if (p === undefined) return undefined;
  if (p.data !== undefined) return new TextEncoder().encode(p.data).length;
  if (p.bytes !== undefined) return p.bytes.length;
  if (p.fill !== undefined) return f.optional('size', size(1)) ?? PAGE_SIZE;
  return (p.pattern.pages ?? 1) * PAGE_SIZE;
}

/** What a CPU write of `size` bytes at `addr` stores. Whole aligned pages of fill/pattern are content ids. */
export function storeSource(world: World, payload: Payload, addr: number, size: number): StoreSource {
  const c = world.kernel.contents;
  const aligned = addr % PAGE_SIZE === 0 && size % PAGE_SIZE === 0;
  if (payload.fill !== undefined) {
    if (aligned) return { pages: () => c.fill(payload.fill) };
    return { bytes: new Uint8Array(size).fill(payload.fill) };
  }
  if (payload.pattern !== undefined) {
    const seed = payload.pattern.seed;
    if (aligned) return { pages: (i) => c.pattern(seed, i) };
    const bytes = new Uint8Array(size);
    for (let i = 0; i * PAGE_SIZE < size; i++) {
      const page = c.materialize(c.pattern(seed, i));
      bytes.set(page.subarray(0, Math.min(PAGE_SIZE, size - i * PAGE_SIZE)), i * PAGE_SIZE);
    }
    return { bytes };
  }
  if (payload.bytes !== undefined) return { bytes: Uint8Array.from(payload.bytes) };
  return { bytes: new TextEncoder().encode(payload.data ?? '') };
}
