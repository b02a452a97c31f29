/**
 * The pages (mm id, vpn) whose facts may have changed since the invariant checker last looked: per mm a
 * bitmap in chunks of 512 pages (a PTE page's span), two bits a page: whether anything about it changed
 * (a translation of it: a secondary's, a TLB's, a range that hid it closing), and whether its pte or
 * expected data did (then its data fact is checked too). A page is noted several times a step: after the
 * first, a note is one bit test. The pages come back per mm in address order, as runs of consecutive
 * pages, so a check visits each once whatever order the changes came in (ksmd alternates between mms).
 * No JS collection per page (those stop at 2^24 entries): 128 bytes per chunk touched, in one buffer per mm.
 */

const CHUNK = 512;
const WORDS = CHUNK / 32;
/** Where a chunk's second bitmap (pte or data changed) starts, and a chunk's size in Int32s. */
const DATA = WORDS;
const CHUNK_INTS = 2 * WORDS;

class MmPages {
  /** Chunk number -> where its bits start in `bits`. */
  private readonly chunks = new Map<number, number>();
  /** Every chunk's bits, one after another (one buffer, kept from check to check: no allocation per chunk). */
  private bits = new Int32Array(8 * CHUNK_INTS);
  private used = 0;
  private lastKey = -1;
  private lastAt = 0;

  /** Note page `vpn` (`data`: its pte or data changed); false if it was noted already. */
  add(vpn: number, data: boolean): boolean {
    const key = Math.floor(vpn / CHUNK);
    let at = this.lastAt;
    if (key !== this.lastKey) {
      const found = this.chunks.get(key);
      at = found === undefined ? this.newChunk(key) : found;
      this.lastKey = key;
      this.lastAt = at;
    }
    const i = vpn - key * CHUNK;
    const bit = 1 << (i & 31);
    const w = at + (i >>> 5);
    const c = this.bits;
    if (data) c[DATA + w] |= bit;
    if ((c[w] & bit) !== 0) return false;
    c[w] |= bit;
    return true;
  }

  private newChunk(key: number): number {
    if (this.used === this.bits.length) {
      const bigger = new Int32Array(this.bits.length * 2);
      bigger.set(this.bits);
      this.bits = bigger;
    }
    const at = this.used;
    this.used += CHUNK_INTS;
    this.chunks.set(key, at);
    return at;
  }

  /** Forget every page noted (the buffer stays, zeroed, unless it grew large). */
  reset(): void {
    if (this.bits.length > 64 * CHUNK_INTS) this.bits = new Int32Array(8 * CHUNK_INTS);
    else this.bits.fill(0, 0, this.used);
    this.used = 0;
    this.chunks.clear();
    this.lastKey = -1;
  }

  /** The runs [lo, hi) of consecutive noted pages (`data`: whose pte or data changed), ascending. */
  forEachRun(data: boolean, visit: (lo: number, hi: number) => void): void {
    const keys = [...this.chunks.keys()].sort((a, b) => a - b);
    const from = data ? DATA : 0;
    let lo = -1;
    let hi = -1;
    const c = this.bits;
    for (const key of keys) {
      const at = this.chunks.get(key)! + from;
      const base = key * CHUNK;
      for (let w = 0; w < WORDS; w++) {
        let x = c[at + w];
        while (x !== 0) {
          const vpn = base + w * 32 + (31 - Math.clz32(x & -x));
          x &= x - 1;
          if (vpn === hi) hi++;
          else {
            if (lo >= 0) visit(lo, hi);
            lo = vpn;
            hi = vpn + 1;
          }
        }
      }
    }
    if (lo >= 0) visit(lo, hi);
  }
}

export class ChangedPages {
  private readonly mms = new Map<number, MmPages>();
  private lastId = -1;
  private last: MmPages | undefined;
  /** Pages noted (each counted once). */
  size = 0;

  /** Note page `vpn` of mm `mm`: a translation of it changed, or (`data`) its pte or expected data. */
  add(mm: number, vpn: number, data: boolean): void {
    let m = mm === this.lastId ? this.last : this.mms.get(mm);
    if (m === undefined) this.mms.set(mm, (m = new MmPages()));
    this.lastId = mm;
    this.last = m;
    if (m.add(vpn, data)) this.size++;
  }

  /** The runs of mm `id`'s noted pages (`data`: those whose pte or data changed), ascending. */
  forEachRun(id: number, data: boolean, visit: (lo: number, hi: number) => void): void {
    this.mms.get(id)?.forEachRun(data, visit);
  }

  clear(): void {
    // the mms' buffers are kept for the next check, unless many mms came and went
    if (this.mms.size > 64) this.mms.clear();
    else for (const m of this.mms.values()) m.reset();
    this.lastId = -1;
    this.last = undefined;
    this.size = 0;
  }
}
