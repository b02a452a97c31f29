/**
 * A sparse per-page table of 32-bit values keyed by page number (a vpn, or a page index in an object):
 * 512-entry typed-array chunks under a Map of chunk numbers, so it holds any number of pages (a JS Map
 * or Set keyed per page stops at 2^24 entries) at 4 bytes a page where pages are set. Absent reads as 0.
 */
import { PTRS_PER_PTE } from './page.js';

export class PageMap {
  private readonly chunks = new Map<number, Uint32Array>();
  /** The chunk last looked up, and its number (-1: none): pages are mostly visited in order. */
  private lastKey = -1;
  private lastChunk: Uint32Array | undefined;

  private chunk(key: number): Uint32Array | undefined {
    if (key === this.lastKey) return this.lastChunk;
    const c = this.chunks.get(key);
    if (c !== undefined) {
      this.lastKey = key;
      this.lastChunk = c;
    }
    return c;
  }

  get(page: number): number {
    const key = Math.floor(page / PTRS_PER_PTE);
    const c = this.chunk(key);
    return c === undefined ? 0 : c[page - key * PTRS_PER_PTE]; // not page % 512: a page number above 2^31 is a double, and % on it a real fmod
  }

  /** Store `value`; 0 clears the entry. */
  set(page: number, value: number): void {
    const key = Math.floor(page / PTRS_PER_PTE);
    let c = this.chunk(key);
    if (c === undefined) {
      if (value === 0) return;
      this.chunks.set(key, (c = new Uint32Array(PTRS_PER_PTE)));
    }
    c[page - key * PTRS_PER_PTE] = value;
  }

  /** Every non-zero entry in [from, to), in no particular order of chunks. */
  forEach(visit: (page: number, value: number) => void, from = 0, to = Number.POSITIVE_INFINITY): void {
    for (const [key, c] of this.chunks) {
      const base = key * PTRS_PER_PTE;
      if (base >= to || base + PTRS_PER_PTE <= from) continue;
      for (let i = 0; i < PTRS_PER_PTE; i++)
        if (c[i] !== 0 && base + i >= from && base + i < to) visit(base + i, c[i]);
    }
  }
}
