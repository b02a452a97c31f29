/**
 * The pages (mm id, vpn) whose facts may have changed since the invariant checker last looked: per mm a
 * bitmap in chunks of 512 pages (a PTE page's span), two bits a page: whether anything about it changed
 * (a translation of it: a secondary's, a TLB's, a range that hid it closing), and whether its pte or
 * expected data did (then its data fact is checked too). A page is noted several times a step: after the
 * first, a note is one bit test. The pages come back per mm in address order, as runs of consecutive
 * pages, so a check visits each once whatever order the changes came in (ksmd alternates between mms).
 * No JS collection per page (those stop at 2^24 entries): 128 bytes per chunk touched.
 */

const CHUNK = 512;
const WORDS = CHUNK / 32;
/** Where a chunk's second bitmap (pte or data changed) starts. */
const DATA = WORDS;

class MmPages {
  /** Chunk number -> its bits. */
  private readonly chunks = new Map<number, Int32Array>();
  private lastKey = -1;
  private lastChunk: Int32Array | undefined;

  /** Note page `vpn` (`data`: its pte or data changed); false if it was noted already. */
  add(vpn: number, data: boolean): boolean {
    const key = Math.floor(vpn / CHUNK);
    let c = key === this.lastKey ? this.lastChunk : this.chunks.get(key);
    if (c === undefined) this.chunks.set(key, (c = new Int32Array(2 * WORDS)));
    this.lastKey = key;
    this.lastChunk = c;
    const i = vpn - key * CHUNK;
    const bit = 1 << (i & 31);
    const w = i >>> 5;
    if (data) c[DATA + w] |= bit;
    if ((c[w] & bit) !== 0) return false;
    c[w] |= bit;
    return true;
  }

  /** The runs [lo, hi) of consecutive noted pages (`data`: whose pte or data changed), ascending. */
  forEachRun(data: boolean, visit: (lo: number, hi: number) => void): void {
    const keys = [...this.chunks.keys()].sort((a, b) => a - b);
    const from = data ? DATA : 0;
    let lo = -1;
    let hi = -1;
    for (const key of keys) {
      const c = this.chunks.get(key)!;
      const base = key * CHUNK;
      for (let w = 0; w < WORDS; w++) {
        let x = c[from + w];
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
    this.mms.clear();
    this.lastId = -1;
    this.last = undefined;
    this.size = 0;
  }
}
