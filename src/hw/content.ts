import { type Digest, hashBytes } from '../sim/hash.js';
import { PAGE_SIZE } from './page.js';

/** A hash-consed page content: equal ids iff equal bytes. */
export type ContentId = number;

/** The all-zero page content (also the content of the shared zero page). */
export const ZERO_CONTENT: ContentId = 0;

/** Ids 0..255 are pages filled with that byte; pattern pages live above PATTERN_BASE. */
const FILL_LIMIT = 256;
const PATTERN_BASE = 0x8000_0000;
const PATTERN_BLOCK = 4096;
/** Short writes are memoised: (old content, offset, bytes) -> new content. */
const MEMO_MAX_BYTES = 64;
// bounded so the contents only the memo keeps alive stay small (at most 4096 pages, 16 MiB)
const MEMO_MAX_ENTRIES = 1 << 12;

/**
 * Page contents, stored once per distinct content. Three canonical forms keep memory proportional to
 * the number of distinct contents, and most of those cost nothing:
 * - a fill page (every byte b): id b;
 * - a pattern page (the scenario `pattern: {seed}` writes): bytes 0..3 hold the seed, 4..7 the page
 *   index, the rest a xorshift stream of both — so an explicit page equal to a pattern page is recognised;
 * - any other page: its 4096 bytes, found again by hash then compared.
 * Explicit contents are reference-counted by the frames holding them and freed at zero; ids are never
 * reused, so an id names one content for the whole run.
 */
export class ContentStore {
  private nextExplicit = FILL_LIMIT;
  private readonly explicit = new Map<ContentId, Uint8Array>();
  private readonly refs = new Map<ContentId, number>();
  private readonly byHash = new Map<number, ContentId[]>();
  private readonly patternBlocks: { seed: number; block: number }[] = [];
  private readonly patternBlockIndex = new Map<number, number>();
  private readonly memo = new Map<string, ContentId>();
  /** The memo for writes of 1–4 bytes, keyed by content then by a number (offset, length, bytes). */
  private readonly memoTiny = new Map<ContentId, Map<number, ContentId>>();
  private memoTinySize = 0;

  /** The page with every byte equal to `byte`. */
  fill(byte: number): ContentId {
    return byte & 0xff;
  }

  /** Page `index` of the pattern with this seed (both uint32). */
  pattern(seed: number, index: number): ContentId {
    seed >>>= 0;
    index >>>= 0;
    const blockNo = Math.floor(index / PATTERN_BLOCK);
    const key = seed * 0x10_0000 + blockNo; // exact below 2^53 for blockNo < 2^20
    let b = this.patternBlockIndex.get(key);
    if (b === undefined) {
      b = this.patternBlocks.length;
      this.patternBlocks.push({ seed, block: blockNo });
      this.patternBlockIndex.set(key, b);
    }
    return PATTERN_BASE + b * PATTERN_BLOCK + (index % PATTERN_BLOCK);
  }

  /** Number of distinct explicit contents held (fill and pattern pages cost no storage). */
  get explicitCount(): number {
    return this.explicit.size;
  }

  /** Bytes held by explicit contents. */
  get explicitBytes(): number {
    return this.explicit.size * PAGE_SIZE;
  }

  /** A frame starts (or stops) holding this content. */
  ref(id: ContentId): void {
    if (id >= FILL_LIMIT && id < PATTERN_BASE) this.refs.set(id, (this.refs.get(id) ?? 0) + 1);
  }

  unref(id: ContentId): void {
    if (id < FILL_LIMIT || id >= PATTERN_BASE) return;
    const n = (this.refs.get(id) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(id, n);
      return;
    }
    this.refs.delete(id);
    const bytes = this.explicit.get(id);
    if (bytes === undefined) return;
    this.explicit.delete(id);
    const h = hashBytes(bytes);
    const list = this.byHash.get(h);
    if (list) {
      const i = list.indexOf(id);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byHash.delete(h);
    }
  }

  /**
   * Add what the page holds to `d`, the same for the same bytes in any run (ids differ from run to run;
   * the canonical form does not): a fill's byte, a pattern's seed and index, else a hash of the bytes.
   */
  digest(id: ContentId, d: Digest): void {
    if (id < FILL_LIMIT) {
      d.word(0);
      d.word(id);
    } else if (id >= PATTERN_BASE) {
      const rel = id - PATTERN_BASE;
      const blk = this.patternBlocks[Math.floor(rel / PATTERN_BLOCK)];
      d.word(1);
      d.word(blk.seed);
      d.word(blk.block * PATTERN_BLOCK + (rel % PATTERN_BLOCK));
    } else {
      const bytes = this.explicit.get(id);
      if (bytes === undefined) throw new Error(`content ${id} was freed while still in use`);
      d.word(2);
      d.word(hashBytes(bytes));
    }
  }

  /** A fresh copy of the whole page. */
  materialize(id: ContentId): Uint8Array {
    const out = new Uint8Array(PAGE_SIZE);
    if (id < FILL_LIMIT) {
      if (id !== 0) out.fill(id);
    } else if (id >= PATTERN_BASE) {
      const rel = id - PATTERN_BASE;
      const blk = this.patternBlocks[Math.floor(rel / PATTERN_BLOCK)];
      writePatternPage(out, blk.seed, blk.block * PATTERN_BLOCK + (rel % PATTERN_BLOCK));
    } else {
      const bytes = this.explicit.get(id);
      if (bytes === undefined) throw new Error(`content ${id} was freed while still in use`);
      out.set(bytes);
    }
    return out;
  }

  /** `len` bytes from `offset` (within one page). */
  read(id: ContentId, offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(id, offset, len, out, 0);
    return out;
  }

  /** Copy `len` bytes from `offset` of the page into `out` at `at` (no whole-page copy on the way). */
  readInto(id: ContentId, offset: number, len: number, out: Uint8Array, at: number): void {
    if (id < FILL_LIMIT) {
      if (len > 16) out.fill(id, at, at + len);
      else for (let i = at; i < at + len; i++) out[i] = id; // TypedArray fill is a call into C++: slow for a few bytes
      return;
    }
    const bytes = id < PATTERN_BASE ? this.explicit.get(id) : undefined;
    const page = bytes ?? this.materialize(id);
    out.set(page.subarray(offset, offset + len), at);
  }

  /** One byte. */
  byteAt(id: ContentId, offset: number): number {
    if (id < FILL_LIMIT) return id;
    return (id < PATTERN_BASE ? this.explicit.get(id) : undefined)?.[offset] ?? this.materialize(id)[offset];
  }

  /** The content that results from storing `bytes` at `offset` into a page holding `id`. */
  write(id: ContentId, offset: number, bytes: Uint8Array): ContentId {
    if (offset === 0 && bytes.length === PAGE_SIZE) return this.intern(bytes.slice());
    if (bytes.length <= 4) return this.writeTiny(id, offset, bytes);
    const small = bytes.length <= MEMO_MAX_BYTES;
    let key = '';
    if (small) {
      key = `${id}:${offset}:${bytes.join(',')}`;
      const hit = this.memo.get(key);
      if (hit !== undefined) return hit;
    }
    const page = this.materialize(id);
    page.set(bytes, offset);
    const result = this.intern(page);
    if (small) {
      if (this.memo.size >= MEMO_MAX_ENTRIES) this.clearMemo();
      this.memo.set(key, result);
      this.ref(result); // the memo keeps its result alive
    }
    return result;
  }

  /** `write` for 1–4 bytes: the memo key is two numbers, not a string. */
  private writeTiny(id: ContentId, offset: number, bytes: Uint8Array): ContentId {
    let packed = 0;
    for (let i = bytes.length - 1; i >= 0; i--) packed = packed * 256 + bytes[i];
    const key = (offset * 8 + bytes.length) * 0x1_0000_0000 + packed; // < 2^47
    let inner = this.memoTiny.get(id);
    const hit = inner?.get(key);
    if (hit !== undefined) return hit;
    const page = this.materialize(id);
    page.set(bytes, offset);
    const result = this.intern(page);
    if (this.memoTinySize >= MEMO_MAX_ENTRIES) {
      this.clearMemo();
      inner = undefined;
    }
    if (inner === undefined) this.memoTiny.set(id, (inner = new Map()));
    inner.set(key, result);
    this.memoTinySize++;
    this.ref(result); // the memo keeps its result alive
    return result;
  }

  /** Drop the write memo (and the contents only it kept alive). */
  clearMemo(): void {
    for (const id of this.memo.values()) this.unref(id);
    this.memo.clear();
    for (const inner of this.memoTiny.values()) for (const id of inner.values()) this.unref(id);
    this.memoTiny.clear();
    this.memoTinySize = 0;
  }

  /** The canonical id of a whole page of bytes (takes ownership of `page`). */
  intern(page: Uint8Array): ContentId {
    const first = page[0];
    let uniform = true;
    for (let i = 1; i < PAGE_SIZE; i++) {
      if (page[i] !== first) {
        uniform = false;
        break;
      }
    }
    if (uniform) return first;
    const asPattern = this.recognisePattern(page);
    if (asPattern !== undefined) return asPattern;
    const h = hashBytes(page);
    const list = this.byHash.get(h);
    if (list) {
      for (const candidate of list) {
        if (equalBytes(this.explicit.get(candidate)!, page)) return candidate;
      }
    }
    const id = this.nextExplicit++;
    if (id >= PATTERN_BASE) throw new Error('content id space exhausted');
    this.explicit.set(id, page);
    if (list) list.push(id);
    else this.byHash.set(h, [id]);
    return id;
  }

  private recognisePattern(page: Uint8Array): ContentId | undefined {
    const seed = (page[0] | (page[1] << 8) | (page[2] << 16) | (page[3] << 24)) >>> 0;
    const index = (page[4] | (page[5] << 8) | (page[6] << 16) | (page[7] << 24)) >>> 0;
    const probe = new Uint8Array(PAGE_SIZE);
    writePatternPage(probe, seed, index);
    return equalBytes(probe, page) ? this.pattern(seed, index) : undefined;
  }
}

/** The bytes of pattern page (seed, index): a fixed function of both, never uniform. */
export function writePatternPage(out: Uint8Array, seed: number, index: number): void {
  const words = new Uint32Array(out.buffer, out.byteOffset, PAGE_SIZE >> 2);
  words[0] = seed >>> 0;
  words[1] = index >>> 0;
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0 || 1;
  for (let i = 2; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const wa = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
  const wb = new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
  return true;
}
